"""Service tasks and starts of the efficiency processes: 效能核验 (efficiency_verification), 辅助提升
(efficiency_improvement) and the dispute of a non-compliance record (efficiency_dispute)."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import services as audit
from app.efficiency.indicators import METRICS
from app.efficiency.models import EffImprovement, EffIndicator, EffRule, EffScore, EffViolation
from app.engine import runtime
from app.engine.services import service
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models_base import utcnow

ENTRY = "efficiency_page"


def _get(model, data: dict, key: str):
    row = db.session.get(model, int(data.get(key) or 0))
    if row is None:
        raise NotFound("流程关联的效能记录不存在")
    return row


def describe(score: EffScore) -> str:
    """One line per indicator: value, threshold and whether it was met (the forms show this)."""
    inds = {
        str(i.id): i for i in db.session.scalars(select(EffIndicator).where(EffIndicator.model_id == score.model_id))
    }
    lines = []
    for key, v in (score.values or {}).items():
        ind = inds.get(key)
        if ind is None:
            continue
        unit = METRICS[ind.metric].unit if ind.metric in METRICS else ""
        value = "无数据" if v.get("value") is None else f"{v['value']:g}{unit}"
        mark = "—" if v.get("passed") is None else ("达标" if v["passed"] else "未达标")
        cmp = "≥" if ind.higher_better else "≤"
        lines.append(f"{ind.name}：{value}（达标值 {cmp}{ind.threshold:g}{unit}，{mark}）")
    return "\n".join(lines)


def weak_points(score: EffScore) -> str:
    return "\n".join(line for line in describe(score).splitlines() if line.endswith("未达标）")) or "综合得分未达标"


def _base(score: EffScore) -> dict:
    return {
        "score_id": score.id,
        "org_name": score.org.name,
        "period": score.period,
        "total_label": f"{score.final_total:g} 分（达标线 {score.model.pass_score:g} 分，排名第 {score.rank or '-'}）",
        "detail": describe(score),
    }


def start_verification(score: EffScore, *, actor):
    if score.status != "computed":
        raise Conflict(f"{score.org.name} {score.period} 的效能结果已{score.status_label}")
    data = {**_base(score), "subject": f"效能核验：{score.org.name} {score.period}"}
    inst = runtime.start(
        "efficiency_verification", actor=actor, org=score.org, data=data, business_key=f"eff:{score.id}", entry=ENTRY
    )
    score.instance_id, score.status = inst.id, "verifying"
    return inst


def start_improvement(score: EffScore, *, actor) -> EffImprovement:
    if score.passed:
        raise ValidationFailed(f"{score.org.name} 已达标，无需整改")
    existing = db.session.scalar(select(EffImprovement).where(EffImprovement.score_id == score.id))
    if existing is not None:
        return existing
    imp = EffImprovement(score_id=score.id, org_id=score.org_id, weak_points=weak_points(score))
    db.session.add(imp)
    db.session.flush()
    data = {
        **_base(score),
        "improvement_id": imp.id,
        "weak_points": imp.weak_points,
        "return_reason": "",
        "subject": f"效能提升整改：{score.org.name} {score.period}",
    }
    inst = runtime.start(
        "efficiency_improvement", actor=actor, org=score.org, data=data, business_key=f"effimp:{imp.id}", entry=ENTRY
    )
    imp.instance_id = inst.id
    return imp


def start_dispute(v: EffViolation, *, actor, reason: str):
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed("请填写申诉理由（至少 4 个字）", errors={"reason": "请填写申诉理由（至少 4 个字）"})
    if v.status != "open":
        raise Conflict(f"该记录{v.status_label}，不能再申诉")
    rule = db.session.scalar(select(EffRule).where(EffRule.code == v.rule_code).order_by(EffRule.version.desc()))
    evidence = f"流程 {v.evidence.get('instance_number') or '-'}，环节：{v.step_name or '-'}"
    data = {
        "violation_id": v.id,
        "rule_name": rule.name if rule else v.rule_code,
        "summary": v.summary,
        "evidence_text": evidence,
        "dispute_reason": reason,
        "subject": f"不规范行为申诉：{v.org.name} {v.summary}"[:200],
    }
    inst = runtime.start(
        "efficiency_dispute", actor=actor, org=v.org, data=data, business_key=f"effv:{v.id}", entry=ENTRY
    )
    v.status, v.dispute_reason, v.dispute_instance_id = "disputed", reason, inst.id
    return inst


def rerank(model_id: int, period: str, level: str) -> None:
    rows = db.session.scalars(
        select(EffScore).where(EffScore.model_id == model_id, EffScore.period == period, EffScore.level == level)
    )
    for i, s in enumerate(sorted(rows, key=lambda s: -s.final_total), 1):
        s.rank = i


@service("efficiency.verified")
def verified(data: dict) -> str:
    score = _get(EffScore, data, "score_id")
    if data.get("decision") == "dispute":
        if not (data.get("reason") or "").strip():
            raise ValidationFailed("有异议时请填写异议理由", errors={"reason": "请填写异议理由"})
        score.status, score.dispute_reason = "disputed", data.get("reason")
    else:
        score.status = "confirmed"
    audit.record("efficiency.verify", object_type="eff_score", object_id=score.id, detail={"status": score.status})
    return score.status


@service("efficiency.decided")
def decided(data: dict) -> str:
    score = _get(EffScore, data, "score_id")
    score.decision = data.get("decision_note")
    if data.get("ruling") == "accept" and data.get("adjusted_total") is not None:
        score.adjusted_total = round(float(data["adjusted_total"]), 1)
        score.passed = score.adjusted_total >= score.model.pass_score
    score.status = "decided"
    db.session.flush()
    rerank(score.model_id, score.period, score.level)
    audit.record(
        "efficiency.decide",
        object_type="eff_score",
        object_id=score.id,
        detail={"ruling": data.get("ruling"), "adjusted_total": score.adjusted_total},
    )
    return data.get("ruling") or ""


@service("efficiency.improvement_step")
def improvement_step(data: dict, status: str) -> str:
    imp = _get(EffImprovement, data, "improvement_id")
    imp.status = status
    if status == "accepting":
        imp.measures = data.get("measures")
        return ""
    return data.get("last_comment") or ""


@service("efficiency.improvement_closed")
def improvement_closed(data: dict) -> bool:
    imp = _get(EffImprovement, data, "improvement_id")
    imp.status, imp.closed_at = "closed", utcnow()
    audit.record("efficiency.improved", object_type="eff_improvement", object_id=imp.id)
    return True


@service("efficiency.violation_decided")
def violation_decided(data: dict) -> str:
    v = _get(EffViolation, data, "violation_id")
    v.status = "revoked" if data.get("ruling") == "revoke" else "upheld"
    v.decision = data.get("decision_note")
    audit.record(
        "efficiency.violation_decide", object_type="eff_violation", object_id=v.id, detail={"status": v.status}
    )
    return v.status
