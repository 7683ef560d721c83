"""Scheduler-round jobs: 效能识别 every hour, 效能生成 of last month once it is over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.engine.cli import round_job


@round_job("efficiency.detect", every=3600.0)
def detect_job(now: datetime) -> int:
    """Run the non-compliance rules over the last 35 days (findings are unique per rule: no repeats)."""
    from app.engine.cli import heavy

    return heavy("efficiency.detect", detect_work, now.isoformat()) or 0


def detect_work(at: str) -> int:
    from app.efficiency.services import detect

    return detect(datetime.fromisoformat(at))


@round_job("efficiency.monthly", every=3600.0)
def monthly_job(now: datetime) -> int:
    """From the 2nd of a month: compute last month with the published model if not done yet."""
    from app.efficiency.models import EffScore
    from app.efficiency.scoring import period_of, published_model
    from app.engine.runtime import SHANGHAI
    from app.extensions import db

    local = now.astimezone(SHANGHAI)
    if local.day < 2:
        return 0
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    model = published_model()
    if model is None:
        return 0
    done = db.session.scalar(
        select(EffScore.id).where(EffScore.model_id == model.id, EffScore.period == period_of(year, month)).limit(1)
    )
    if done is not None:
        return 0
    from app.engine.cli import heavy

    return heavy("efficiency.monthly", monthly_work, model.id, year, month) or 0


def monthly_work(model_id: int, year: int, month: int) -> int:
    from app.efficiency.models import EffModel
    from app.efficiency.scoring import compute_month
    from app.extensions import db

    return len(compute_month(db.session.get(EffModel, model_id), year, month))
