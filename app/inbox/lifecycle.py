"""What people see when an instance is accepted or ends: its status, its business object, the initiator.

- ``ended(instance, actor)``: after an act that may have finished the instance: the business object's
  status (a clue, a plan, an account application follow their process: a terminated clue is 已终止)
  and a notification to the initiator (the runtime writes the history line);
- ``decided(instance, row, outcome, actor)``: the first approval of an instance tells the initiator
  it was accepted;
- ``may_terminate(instance, user)``: 终止 is for the initiator before the first approval, for leaders
  (in scope) after it, and for process administrators at any time.

Business modules register what their object does when its process ends: ``@on_end("clue")`` for
instances whose business key is ``clue:<id>``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import exists, select

from app.engine.inbox import instance_org
from app.engine.models import ProcessInstance
from app.inbox import notify
from app.inbox.models import HumanTask
from app.security.scope import scope_for

_ENDERS: dict[str, Callable[..., None]] = {}
TITLES = {"completed": "已办结", "rejected": "已被拒绝", "terminated": "已被终止"}


def on_end(prefix: str):
    """Register ``fn(object_id, status, reason, actor)`` for instances whose business key is ``prefix:<id>``."""

    def decorator(fn: Callable[..., None]) -> Callable[..., None]:
        _ENDERS[prefix] = fn
        return fn

    return decorator


def _business(instance: ProcessInstance) -> tuple[Callable[..., None] | None, int | None]:
    prefix, _, raw = (instance.business_key or "").partition(":")
    fn = _ENDERS.get(prefix)
    return (fn, int(raw)) if fn is not None and raw.isdigit() else (None, None)


def ended(instance: ProcessInstance, actor) -> None:
    """Propagate and announce the end of an instance (no-op while it runs); the runtime writes the history line."""
    if instance.status not in TITLES:
        return
    fn, object_id = _business(instance)
    if fn is not None:
        fn(object_id, instance.status, instance.end_reason, actor)
    reason = f"：{instance.end_reason}" if instance.end_reason and instance.status != "completed" else ""
    _tell_initiator(instance, actor, f"您发起的「{instance.title}」{TITLES[instance.status]}{reason}", kind="done")


def decided(instance: ProcessInstance, row: HumanTask, outcome: str, actor) -> None:
    """After an approval: the first one accepts the instance, which the initiator is told."""
    if row.kind != "approval" or outcome != "approve" or instance.status != "running":
        return
    earlier = select(HumanTask.id).where(
        HumanTask.instance_id == instance.id,
        HumanTask.kind == "approval",
        HumanTask.outcome == "approve",
        HumanTask.id != row.id,
    )
    if db_exists(earlier):
        return
    title = f"您发起的「{instance.title}」已受理（{row.step_name}：{getattr(actor, 'name', None) or '系统'} 同意）"
    _tell_initiator(instance, actor, title, kind="accepted")


def db_exists(stmt) -> bool:
    from app.extensions import db

    return bool(db.session.scalar(select(exists(stmt))))


def _tell_initiator(instance: ProcessInstance, actor, title: str, *, kind: str) -> None:
    initiator = instance.initiator_id
    if not initiator or initiator == getattr(actor, "id", None):
        return
    # A module may have told them already (线索已受理, 不予受理 says why): once is enough.
    if notify.already_told(initiator, instance.id, kind):
        return
    notify.notify([initiator], kind=kind, title=title, url=f"/inbox/instances/{instance.id}", instance_id=instance.id)


def first_approval_done(instance: ProcessInstance) -> bool:
    stmt = select(HumanTask.id).where(
        HumanTask.instance_id == instance.id,
        HumanTask.kind == "approval",
        HumanTask.status == "completed",
        HumanTask.outcome == "approve",
    )
    return db_exists(stmt)


def may_terminate(instance: ProcessInstance, user) -> bool:
    """终止: the initiator before the first approval; after it, leaders whose scope holds the instance; process
    administrators always."""
    if instance.status not in ("running", "suspended", "error") or user is None:
        return False
    if user.can("process.admin"):
        return True
    if not first_approval_done(instance):
        return instance.initiator_id == user.id
    return bool(getattr(user, "is_leader", False)) and scope_for(user).contains(instance_org(instance))


def terminate_refusal(instance: ProcessInstance, user) -> str | None:
    """Why ``user`` may not terminate ``instance`` (Chinese), or None."""
    if may_terminate(instance, user):
        return None
    if instance.status not in ("running", "suspended", "error"):
        return "流程已结束，不能终止"
    if instance.initiator_id == user.id:
        return "流程已经过首个审批，发起人不能再终止；请联系领导或流程管理员"
    if not first_approval_done(instance):
        return "首个审批之前只有发起人或流程管理员可以终止流程"
    return "只有本单位领导或流程管理员可以终止已审批的流程"
