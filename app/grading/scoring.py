"""Score inputs with a model version's DMN tables (SpiffWorkflow's DMN engine, no process).

The tables are pure functions of the inputs, so results are memoised per distinct input tuple: a
recompute over 100,000 enterprises evaluates each distinct combination once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from app.engine.specs import evaluate_decision
from app.errors import ValidationFailed
from app.grading.indicators import DEFAULTS, INDICATORS, NAMES

POINTS_DECISION = "enterprise_points"
GRADE_DECISION = "enterprise_grade"


def default_sources() -> tuple[str, str]:
    folder = Path(current_app.config["RULES_DIR"])
    return (
        (folder / f"{POINTS_DECISION}.dmn").read_text(encoding="utf-8"),
        (folder / f"{GRADE_DECISION}.dmn").read_text(encoding="utf-8"),
    )


def sources_hash(points_dmn: str, grade_dmn: str) -> str:
    return hashlib.sha256((points_dmn + "\0" + grade_dmn).encode()).hexdigest()[:16]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class Scorer:
    points_dmn: str
    grade_dmn: str
    model_id: int | None = None
    version: int | None = None
    _memo: dict = field(default_factory=dict)

    def score(self, inputs: dict[str, int]) -> tuple[int, str, list[dict], str]:
        """(total, grade, entries, grade reason); each entry names its rule, the data and the points."""
        values = {**DEFAULTS, **{k: int(inputs.get(k) or 0) for k in NAMES}}
        key = tuple(values[k] for k in NAMES)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._evaluate(values)
            self._memo[key] = hit
        return hit

    def _evaluate(self, values: dict[str, int]):
        out = evaluate_decision(self.points_dmn.encode(), POINTS_DECISION, values)
        codes, indicators = _as_list(out.get("code")), _as_list(out.get("indicator"))
        points, reasons = _as_list(out.get("points")), _as_list(out.get("reason"))
        entries = []
        for code, ind, pts, reason in zip(codes, indicators, points, reasons, strict=False):
            entries.append(
                {
                    "rule": f"{POINTS_DECISION}#Rule_{code}",
                    "code": code,
                    "indicator": ind,
                    "indicator_label": INDICATORS.get(ind, (ind, ""))[0],
                    "data": INDICATORS.get(ind, ("", ""))[1],
                    "value": values.get(ind),
                    "points": int(pts or 0),
                    "reason": reason,
                }
            )
        entries.sort(key=lambda e: (-e["points"], e["code"]))
        total = sum(e["points"] for e in entries)
        g = evaluate_decision(self.grade_dmn.encode(), GRADE_DECISION, {"total": total})
        grade = str(g.get("grade") or "")
        if grade not in ("A", "B", "C", "D"):
            raise ValidationFailed(f"等级评定表对积分 {total} 没有给出 A–D 等级")
        return total, grade, tuple(entries), str(g.get("grade_reason") or "")


def check_sources(points_dmn: str, grade_dmn: str) -> list[str]:
    """Validate a draft: both tables parse and lint, and score a few sample enterprises."""
    from lxml import etree

    from app.engine import dmnlint
    from app.engine.specs import _parse_xml

    problems = []
    for name, text in (("积分规则表", points_dmn), ("等级评定表", grade_dmn)):
        root, errs = _parse_xml(f"{name}.dmn", text.encode())
        if root is None:
            problems += [f"{name}：{e.message}" for e in errs]
            continue
        if not isinstance(root, etree._Element):
            continue
        problems += [f"{name}：{p.message}" for p in dmnlint.lint_dmn(f"{name}.dmn", root) if p.severity == "error"]
    if problems:
        return problems
    scorer = Scorer(points_dmn, grade_dmn)
    samples = [DEFAULTS, {**DEFAULTS, "accidents_3y": 2, "major_hazard": 1}, {n: 5 for n in NAMES}]
    for sample in samples:
        try:
            scorer.score(sample)
        except Exception as exc:  # an engine failure on sample data is a validation problem, shown in Chinese
            problems.append(f"样例数据计算失败：{getattr(exc, 'message', None) or exc}")
            break
    return problems
