"""Task deadlines (the scheduler runs this): reminders before and at the due time, then the node's
timeout action (自动通过 / 自动拒绝 / 升级给领导). Each row is handled in its own transaction.

A row remembers how often it was reminded; a row created again after a 退回 starts afresh, so the
reminders survive a return and re-entry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from app.engine import assign, deploy, runtime
from app.engine.nodes import NodeConfig, node_config
from app.extensions import db
from app.inbox import actions, notify
from app.inbox.models import HumanTask
from app.models_base import utcnow

log = logging.getLogger(__name__)
PRE_DUE = timedelta(days=1)
REMIND_GAP = timedelta(hours=4)
BATCH = 200
MAX_REMINDERS = 10


def _cfg(row: HumanTask) -> NodeConfig:
    info = deploy.task_info(row.instance.spec_info)
    for meta in info.values():
        if meta.get("bpmn_id") == row.step:
            return node_config(meta.get("properties"))
    return NodeConfig()


def process_due(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(HumanTask.id)
            .where(
                HumanTask.status == "open",
                HumanTask.paused_at.is_(None),
                HumanTask.due_at.is_not(None),
                HumanTask.due_at <= now + PRE_DUE,
                # Rows reminded a moment ago, or nagged to the end, are not read again every round.
                or_(HumanTask.reminded_at.is_(None), HumanTask.reminded_at < now - REMIND_GAP),
                HumanTask.remind_count < MAX_REMINDERS,
            )
            .order_by(HumanTask.due_at)
            .limit(BATCH)
        )
    )
    counts = {"reminded": 0, "escalated": 0, "decided": 0}
    for task_id in ids:
        try:
            result = handle(db.session.get(HumanTask, task_id), now)
            db.session.commit()
            if result:
                counts[result] += 1
        except Exception:
            db.session.rollback()
            log.exception("deadline of task %s failed", task_id)
    return counts


def due_soon(row: HumanTask, now: datetime) -> bool:
    """Whether the configured share (REMIND_AT_PERCENT, default 75 %) of the task's time has passed."""
    from flask import current_app

    share = current_app.config.get("REMIND_AT_PERCENT", 75) / 100
    start = row.created_at or now
    return now >= start + (row.due_at - start) * share


def handle(row: HumanTask, now: datetime) -> str | None:
    if row is None or row.status != "open" or row.instance.status != "running":
        return None
    if row.reminded_at and now - row.reminded_at < REMIND_GAP:
        return None
    cfg = _cfg(row)
    overdue = row.due_at <= now
    if not overdue and not due_soon(row, now):
        return None  # just arrived: not 即将到期 until the configured share of its time has passed
    if row.remind_count < cfg.remind_times or (overdue and cfg.timeout_action == "none"):
        if row.remind_count >= min(cfg.remind_times + 3, MAX_REMINDERS - 1):
            row.remind_count = MAX_REMINDERS  # stop nagging; the alert centre still lists it as overdue
            return None
        row.remind_count += 1
        row.reminded_at = now
        title = ("已超期" if overdue else "即将到期") + f"：{row.instance.title} - {row.step_name}"
        notify.notify(
            notify.recipients(row),
            kind="remind",
            title=title,
            url=f"/inbox/tasks/{row.id}",
            instance_id=row.instance_id,
        )
        runtime.add_event(row.instance, "remind", step=row.step, step_name=row.step_name, comment=title)
        return "reminded"
    if not overdue:
        return None
    if cfg.timeout_action in ("auto_approve", "auto_reject"):
        approve = cfg.timeout_action == "auto_approve"
        actions.decide_as_system(
            row, approve=approve, reason="超时未处理，按节点设置" + ("自动通过" if approve else "自动拒绝")
        )
        return "decided"
    if cfg.timeout_action == "escalate":
        from app.auth.models import User
        from app.orgs.models import Organisation

        holder = db.session.get(User, row.assignee_id) if row.assignee_id else None
        org = holder.org if holder is not None else db.session.get(Organisation, row.org_id)
        leaders = assign.leaders_of(org) or assign.leaders_of(org, 1)
        leader = next((u for u in leaders if u.id != row.assignee_id), None)
        row.reminded_at = now
        if leader is None:
            return None
        row.assignee_id, row.candidate_role = leader.id, None
        notify.notify(
            [leader],
            kind="escalate",
            title=f"超时升级：{row.instance.title} - {row.step_name}",
            url=f"/inbox/tasks/{row.id}",
            instance_id=row.instance_id,
        )
        runtime.add_event(
            row.instance,
            "escalate",
            step=row.step,
            step_name=row.step_name,
            comment=f"超时未处理，升级给{leader.name}",
            data={"to": leader.login},
        )
        row.instance.updated_at = now
        return "escalated"
    return None
