"""Reference data of the efficiency module: the first model version and the 效能识别 rules.

Administrators edit both afterwards (new versions); `ensure_defaults` only fills an empty installation.
"""

from __future__ import annotations

from sqlalchemy import select

from app.efficiency.models import EffIndicator, EffModel, EffRule
from app.extensions import db
from app.models_base import utcnow

# metric, name, dimension, weight, threshold, higher_better
INDICATORS = [
    ("inspections_per_100", "每百家监管企业检查次数", "quantity", 20, 8, True),
    ("coverage", "监管企业检查覆盖率", "quantity", 15, 5, True),
    ("clues_closed", "办结线索数", "quantity", 10, 5, True),
    ("on_time_rate", "任务按期办结率", "standard", 20, 90, True),
    ("violations_per_100", "每百件任务不规范行为数", "standard", 15, 5, False),
    ("response_hours", "派单平均响应时长（小时）", "dispatch", 10, 24, False),
    ("closure_days", "触发式监管平均办结天数", "dispatch", 10, 7, False),
]

# code, name, detector, category, params
RULES = [
    ("deadline_overrun", "超期办理", "deadline_overrun", "case", {"grace_hours": 0}),
    (
        "clue_steps",
        "线索核查环节缺失或颠倒",
        "step_order",
        "case",
        {"process_id": "clue_verification", "sequence": ["judge", "handle", "close"]},
    ),
    (
        "clue_report_missing",
        "线索办结缺少调查报告",
        "missing_documents",
        "case",
        {"process_id": "clue_verification", "kind": "investigation_report"},
    ),
    ("self_approval", "自办自批", "self_approval", "enforcement", {}),
    ("inspection_outside_plan", "计划外检查", "inspection_outside_plan", "enforcement", {}),
    ("dispatch_unanswered", "派单超时未响应", "dispatch_unanswered", "dispatch", {"hours": 24}),
]


def ensure_defaults() -> EffModel:
    """The published default model (created with its rules on first use)."""
    model = db.session.scalar(select(EffModel).where(EffModel.code == "default").order_by(EffModel.version.desc()))
    if model is None:
        model = EffModel(code="default", version=1, name="区级执法效能评估模型", pass_score=80, status="published")
        model.published_at = utcnow()
        model.indicators = [
            EffIndicator(metric=m, name=n, dimension=d, weight=w, threshold=t, higher_better=h, sort=i)
            for i, (m, n, d, w, t, h) in enumerate(INDICATORS)
        ]
        db.session.add(model)
    if db.session.scalar(select(EffRule.id).limit(1)) is None:
        for code, name, detector, category, params in RULES:
            db.session.add(EffRule(code=code, name=name, detector=detector, category=category, params=params))
    db.session.flush()
    return model
