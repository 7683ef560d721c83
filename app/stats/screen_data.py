"""The big screen's figures (业务调度可视化, 督查业务统计大屏), each inside the viewer's data scope."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.clues.models import Clue
from app.efficiency.models import EffScore, EffViolation
from app.efficiency.rules import CATEGORIES
from app.efficiency.scoring import published_model
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection
from app.security.scope import DataScope
from app.stats import query
from app.stats.summary import SHANGHAI, _bounds, _Orgs
from app.triggers.models import TriggerHit

PANELS = {
    "today": "今日概况",
    "overdue": "各区超期待办",
    "trend": "近 30 日趋势",
    "ranking": "执法效能排名",
    "sources": "线索来源构成",
    "violations": "不规范行为分类",
}
TOPIC_SUBJECTS = {"clue": "线索核查", "trigger": "触发式监管", "efficiency": "执法效能", "dispatch": "指挥调度"}


def _count(scope: DataScope, stmt, column) -> int:
    return db.session.scalar(scope.filter_org(stmt, column)) or 0


def today(scope: DataScope, now: datetime) -> dict:
    day = now.astimezone(SHANGHAI).date()
    t0, t1 = _bounds(day, day)
    return {
        "clues": _count(
            scope,
            select(func.count(Clue.id)).where(Clue.registered_at >= t0, Clue.registered_at < t1),
            Clue.district_org_id,
        ),
        "inspections": _count(
            scope, select(func.count(Inspection.id)).where(Inspection.inspected_on == day), Inspection.org_id
        ),
        "triggers": _count(
            scope,
            select(func.count(TriggerHit.id)).where(TriggerHit.first_at >= t0, TriggerHit.first_at < t1),
            TriggerHit.org_id,
        ),
        "dispatches": _count(
            scope,
            select(func.count(HumanTask.id)).where(
                HumanTask.created_at >= t0, HumanTask.created_at < t1, HumanTask.step == "handle"
            ),
            HumanTask.org_id,
        ),
        "overdue": _count(
            scope,
            select(func.count(HumanTask.id)).where(HumanTask.status == "open", HumanTask.due_at < now),
            HumanTask.org_id,
        ),
    }


def overdue_by_district(scope: DataScope, now: datetime) -> dict:
    rows = db.session.execute(
        scope.filter_org(
            select(HumanTask.org_id, func.count())
            .where(HumanTask.status == "open", HumanTask.due_at < now)
            .group_by(HumanTask.org_id),
            HumanTask.org_id,
        )
    ).all()
    orgs = _Orgs()
    totals: dict[int, int] = {}
    for org_id, n in rows:
        did = orgs.district.get(org_id)
        if did:
            totals[did] = totals.get(did, 0) + n
    info = {
        oid: (short or name, code)
        for oid, name, short, code in db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.short_name, Organisation.district_code).where(
                Organisation.kind == "district"
            )
        )
    }
    ranked = sorted(((info.get(k, ("?", None)), v) for k, v in totals.items()), key=lambda kv: -kv[1])
    return {
        "names": [n for (n, _), _ in ranked],
        "codes": [c for (_, c), _ in ranked],  # the map's features are keyed by district code (310101)
        "values": [v for _, v in ranked],
    }


def trend(scope: DataScope, now: datetime, days: int = 30) -> dict:
    end = now.astimezone(SHANGHAI).date()
    start = end - timedelta(days=days - 1)
    out = {"days": [(start + timedelta(days=i)).strftime("%m-%d") for i in range(days)]}
    for subject in ("clue", "trigger", "inspection"):
        q = query.Query(subject=subject, period="day", start=start, end=end, measures=["n"])
        out[subject] = [e["n"] for e in query.run(scope, q)["series"]]
    return out


def ranking(scope: DataScope) -> dict:
    model = published_model()
    if model is None:
        return {"period": None, "names": [], "values": []}
    period = db.session.scalar(select(func.max(EffScore.period)).where(EffScore.model_id == model.id))
    rows = db.session.scalars(
        scope.filter_org(
            select(EffScore).where(
                EffScore.model_id == model.id, EffScore.period == period, EffScore.level == "district"
            ),
            EffScore.org_id,
        )
    ).all()
    rows = sorted(rows, key=lambda s: -s.final_total)
    return {
        "period": period,
        "names": [s.org.short_name or s.org.name for s in rows],
        "values": [s.final_total for s in rows],
    }


def sources(scope: DataScope, now: datetime) -> list[dict]:
    end = now.astimezone(SHANGHAI).date()
    q = query.Query(
        subject="clue", period="year", start=end - timedelta(days=365), end=end, groups=["source"], measures=["n"]
    )
    acc: dict[str, int] = {}
    for r in query.run(scope, q)["rows"]:
        acc[r["groups"][0]] = acc.get(r["groups"][0], 0) + r["n"]
    return [{"name": k, "value": v} for k, v in sorted(acc.items(), key=lambda kv: -kv[1])]


def violations(scope: DataScope) -> list[dict]:
    rows = db.session.execute(
        scope.filter_org(
            select(EffViolation.category, func.count())
            .where(EffViolation.status != "revoked")
            .group_by(EffViolation.category),
            EffViolation.org_id,
        )
    ).all()
    return [{"name": CATEGORIES.get(c, c), "value": n} for c, n in rows]


def everything(scope: DataScope, now: datetime | None = None) -> dict:
    now = now or utcnow()
    return {
        "at": now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "scope": scope.label or "全市",
        "today": today(scope, now),
        "overdue": overdue_by_district(scope, now),
        "trend": trend(scope, now),
        "ranking": ranking(scope),
        "sources": sources(scope, now),
        "violations": violations(scope),
    }
