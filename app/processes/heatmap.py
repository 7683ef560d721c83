"""Per-step figures of a process version for the heatmap: passed, average duration, waiting, failed.

Counted in SQL from the side tables (never by loading instance states): an instance passed a step
when it has a completed human task or a history event at that step; the duration is a human task's
created → completed time; waiting is an open or pending human task; failed is an open incident.
"""

from __future__ import annotations

from sqlalchemy import func, literal_column, select, union

from app.engine.models import Incident, InstanceEvent, ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask
from app.security.scope import scope_for


def _seconds(start, end):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * literal_column("86400.0")


def step_stats(user, process_id: str, version_id: int | None = None) -> dict[str, dict]:
    """``{element id: {passed, avg_seconds, waiting, failed}}`` for instances inside the user's scope."""
    scope = scope_for(user)
    instances = select(ProcessInstance.id).where(ProcessInstance.process_id == process_id)
    if version_id:
        instances = instances.where(ProcessInstance.version_id == version_id)
    instances = scope.filter_org(instances, ProcessInstance.org_id)

    passed_rows = union(
        select(HumanTask.instance_id.label("iid"), HumanTask.step.label("step")).where(
            HumanTask.status == "completed", HumanTask.instance_id.in_(instances)
        ),
        select(InstanceEvent.instance_id.label("iid"), InstanceEvent.step.label("step")).where(
            InstanceEvent.step.is_not(None), InstanceEvent.instance_id.in_(instances)
        ),
    ).subquery()
    stats: dict[str, dict] = {}

    def row(step: str) -> dict:
        return stats.setdefault(step, {"passed": 0, "avg_seconds": None, "waiting": 0, "failed": 0})

    for step, count in db.session.execute(select(passed_rows.c.step, func.count()).group_by(passed_rows.c.step)):
        row(step)["passed"] = count
    for step, avg in db.session.execute(
        select(HumanTask.step, func.avg(_seconds(HumanTask.created_at, HumanTask.completed_at)))
        .where(
            HumanTask.status == "completed", HumanTask.completed_at.is_not(None), HumanTask.instance_id.in_(instances)
        )
        .group_by(HumanTask.step)
    ):
        row(step)["avg_seconds"] = round(float(avg), 1) if avg is not None else None
    for step, count in db.session.execute(
        select(HumanTask.step, func.count(func.distinct(HumanTask.instance_id)))
        .where(HumanTask.status.in_(("open", "pending")), HumanTask.instance_id.in_(instances))
        .group_by(HumanTask.step)
    ):
        row(step)["waiting"] = count
    for step, count in db.session.execute(
        select(Incident.step, func.count(func.distinct(Incident.instance_id)))
        .where(Incident.status == "open", Incident.step.is_not(None), Incident.instance_id.in_(instances))
        .group_by(Incident.step)
    ):
        row(step)["failed"] = count
    return stats


def duration_label(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{int(seconds)} 秒"
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分钟"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"
