"""效能生成: a model version applied to one month's data, per district and street, as a background job."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.efficiency.indicators import METRICS, combine, roll_up, score_indicator, weighted_total
from app.efficiency.models import EffModel, EffScore
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.ops.replica import replica_reads
from app.orgs.models import Organisation
from app.stats.services import month_bounds

LEVELS = ("district", "street")


def period_of(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


def published_model(code: str = "default") -> EffModel | None:
    return db.session.scalar(
        select(EffModel)
        .where(EffModel.code == code, EffModel.status == "published")
        .order_by(EffModel.version.desc())
        .limit(1)
    )


def evaluate(model: EffModel, year: int, month: int) -> dict[int, dict]:
    """{unit org id: {"level", "values", "total", "passed"}} for every active district and street."""
    d0 = date(year, month, 1)
    d1 = date(year + (month == 12), month % 12 + 1, 1)
    t0, t1 = month_bounds(year, month)
    orgs = list(db.session.execute(select(Organisation.id, Organisation.path, Organisation.kind, Organisation.active)))
    paths = {o.id: o.path for o in orgs}
    units = {o.id: o.path for o in orgs if o.kind in LEVELS and o.active}
    kinds = {o.id: o.kind for o in orgs}
    cache: dict[str, dict] = {}
    result = {uid: {"level": kinds[uid], "values": {}} for uid in units}
    for ind in model.indicators:
        metric = METRICS.get(ind.metric)
        if metric is None:
            raise ValidationFailed(f"指标“{ind.name}”的计算口径不存在")
        if ind.metric not in cache:
            cache[ind.metric] = roll_up(metric.fetch(d0, d1, t0, t1), units, paths)
        totals = cache[ind.metric]
        for uid in units:
            num, den = totals.get(uid, (0.0, 0.0))
            value = combine(metric, num, den)
            score, ok = score_indicator(value, ind.threshold, ind.higher_better)
            result[uid]["values"][str(ind.id)] = {"value": value, "score": score, "passed": ok}
    for r in result.values():
        r["total"] = weighted_total([(r["values"][str(i.id)]["score"], i.weight) for i in model.indicators])
        r["passed"] = r["total"] >= model.pass_score
    return result


def compute_month(model: EffModel, year: int, month: int) -> list[EffScore]:
    """Store the month's scores and ranks; results already under verification are left as they are."""
    if model.status != "published":
        raise ValidationFailed("只能按已发布的效能模型生成")
    period = period_of(year, month)
    existing = {
        s.org_id: s
        for s in db.session.scalars(select(EffScore).where(EffScore.model_id == model.id, EffScore.period == period))
    }
    scores = []
    list(model.indicators)  # loaded on the primary: a model published a moment ago may not be on the replica yet
    with replica_reads():  # the indicator figures are pure reads (app/ops/replica.py)
        values = evaluate(model, year, month)
    for uid, r in values.items():
        score = existing.get(uid)
        if score is None:
            score = EffScore(model_id=model.id, period=period, org_id=uid, level=r["level"])
            db.session.add(score)
        elif score.status != "computed":
            scores.append(score)
            continue
        score.values, score.total, score.passed, score.computed_at = r["values"], r["total"], r["passed"], utcnow()
        scores.append(score)
    for level in LEVELS:
        ranked = sorted((s for s in scores if s.level == level), key=lambda s: -s.final_total)
        for i, s in enumerate(ranked, 1):
            s.rank = i
    db.session.flush()
    return scores


def compute_job(report, model_id: int, year: int, month: int) -> dict:
    """Job function (app/reports/jobs.py): compute one month and say how many units are below threshold."""
    model = db.session.get(EffModel, model_id)
    if model is None:
        raise NotFound("效能模型不存在")
    report(10, f"正在计算 {period_of(year, month)} 效能")
    scores = compute_month(model, year, month)
    below = sum(1 for s in scores if not s.passed)
    return {
        "message": f"已生成 {len(scores)} 个单位的效能结果，未达标 {below} 个",
        "url": f"/efficiency/scores?period={period_of(year, month)}",
    }
