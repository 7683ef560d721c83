"""Demo data of 效能督查 and 监督统计分析: the default model and rules, the non-compliance found in the demo
processes, three months of efficiency results, the summary tables and two 专题 pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.efficiency.defaults import ensure_defaults
from app.efficiency.models import Topic
from app.efficiency.scoring import compute_month
from app.efficiency.services import detect
from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.stats.summary import rebuild

TOPICS = [
    ("clues", "线索核查专题", "clue", ["today", "trend", "sources", "overdue"]),
    ("efficiency", "执法效能专题", "efficiency", ["ranking", "violations", "overdue", "trend"]),
]


def seed_efficiency() -> dict[str, int]:
    model = ensure_defaults()
    found = detect(days=400)
    now = datetime.now(SHANGHAI)
    scores = 0
    for back in (3, 2, 1):
        index = now.year * 12 + now.month - 1 - back
        scores += len(compute_month(model, index // 12, index % 12 + 1))
    for code, title, subject, panels in TOPICS:
        if db.session.scalar(select(Topic.id).where(Topic.code == code)) is None:
            db.session.add(Topic(code=code, title=title, subject=subject, panels=panels))
    rows = rebuild()
    db.session.flush()
    return {"efficiency_violations": found, "efficiency_scores": scores, "stats_summary_rows": rows}
