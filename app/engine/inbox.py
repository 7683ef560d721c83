"""READY user tasks -> HumanTask rows (lane -> role, org scope, due date, approval groups).

`sync` is called after every act that ran the engine. It creates rows for new READY tasks,
cancels rows whose task is no longer READY (a 退回 reset, a boundary timer, a cancelled branch),
and applies the automatic policies (no approver, initiator is approver, repeated approver,
return-direct), which may complete tasks and run the engine again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import uuid4

from sqlalchemy import select

from app.auth.models import User
from app.engine import assign, deploy, state
from app.engine.calendar import get_calendar
from app.engine.models import ProcessInstance
from app.engine.nodes import NodeConfig, node_config
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow

log = logging.getLogger(__name__)
MAX_AUTO_STEPS = 25
JUMP_KEY = "_ducha_return_to"


@dataclass
class Decision:
    """An automatic decision on a whole node (no rows for people)."""

    outcome: str  # auto_approve / auto_reject / skip
    reason: str


def config_for(instance: ProcessInstance, task) -> tuple[dict, NodeConfig]:
    info = deploy.task_info(instance.spec_info).get(task.task_spec.name) or {}
    return info, node_config(info.get("properties"))


def _days(value, evaluate) -> float | None:
    """A number of days from a node setting: a number, or an expression over the task data (a DMN output
    such as `deadline_workdays`); an expression that fails or gives no positive number means no deadline."""
    if value is None or isinstance(value, int):
        return value
    try:
        result = evaluate(value) if evaluate is not None else None
    except Exception:  # a missing field or a bad expression: the task gets no deadline rather than failing
        log.warning("deadline expression %r could not be evaluated", value)
        return None
    if isinstance(result, bool) or not isinstance(result, int | float) or result <= 0:
        return None
    return result


def due_at(cfg: NodeConfig, evaluate=None):
    now = utcnow()
    working = _days(cfg.due_working_days, evaluate)
    if working:
        return get_calendar().add_working_days(now, round(working))
    days = _days(cfg.due_days, evaluate)
    if days:
        return now + timedelta(days=days)
    return None


def _approved_before(instance_id: int | None, user_id: int, consecutive: bool) -> bool:
    if instance_id is None:  # a dry run: nobody has approved anything yet
        return False
    stmt = (
        select(HumanTask.completed_by_id, HumanTask.outcome)
        .where(HumanTask.instance_id == instance_id, HumanTask.status == "completed", HumanTask.kind == "approval")
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
    )
    rows = db.session.execute(stmt.limit(1) if consecutive else stmt).all()
    return any(by == user_id and outcome in ("approve", "auto_approve") for by, outcome in rows)


def apply_policies(
    cfg: NodeConfig, slots: list[assign.Slot], *, initiator_id: int | None, instance_id: int | None
) -> list[assign.Slot] | Decision:
    """The automatic node policies (the same in the real run and the dry run): who is left, or a decision."""
    if cfg.kind == "approval" and initiator_id and any(s.user_id == initiator_id for s in slots):
        if cfg.on_initiator == "skip":
            slots = [s for s in slots if s.user_id != initiator_id]
            if not slots:
                return Decision("skip", "审批人为发起人，按节点设置跳过")
        elif cfg.on_initiator == "leader":
            initiator = db.session.get(User, initiator_id)
            leaders = [u for u in assign.leaders_of(initiator.org) if u.id != initiator_id] or assign.leaders_of(
                initiator.org, 1
            )
            slots = [s for s in slots if s.user_id != initiator_id] + [assign.Slot(user_id=u.id) for u in leaders]
    if not slots:
        policy = cfg.on_no_approver
        if policy == "auto_approve":
            return Decision("auto_approve", "未找到审批人，按节点设置自动通过")
        if policy == "auto_reject":
            return Decision("auto_reject", "未找到审批人，按节点设置自动拒绝")
        if policy.startswith("user:"):
            users = assign._users_by_login(policy[5:])
            if users:
                return [assign.Slot(user_id=users[0].id)]
        return [assign.Slot(role=assign.PROCESS_ADMIN_ROLE)]
    if cfg.kind == "approval" and cfg.auto_pass in ("always", "consecutive"):
        user_slots = [s for s in slots if s.user_id]
        if (
            user_slots
            and all(_approved_before(instance_id, s.user_id, cfg.auto_pass == "consecutive") for s in user_slots)
            and len(user_slots) == len(slots)
        ):
            return Decision("auto_approve", "审批人已审批过，按节点设置自动通过")
    return slots


def _rows_for(
    instance: ProcessInstance, task, info: dict, cfg: NodeConfig, slots: list[assign.Slot], org, due
) -> list[HumanTask]:
    method = cfg.method if len(slots) > 1 or cfg.method == "sequential" else "single"
    if len(slots) > 1 and method == "single":
        method = "any"  # several named people on a single-approver node: the first decides (或签)
    rows = []
    group_id = f"{task.id}:{uuid4().hex[:8]}"
    for i, slot in enumerate(slots):
        rows.append(
            HumanTask(
                instance_id=instance.id,
                spiff_task_id=str(task.id),
                group_id=group_id,
                step=task.task_spec.bpmn_id or task.task_spec.name,
                step_name=info.get("name") or task.task_spec.name,
                process_id=instance.process_id,
                org_id=org.id,
                kind=cfg.kind if cfg.kind in ("approval", "task") else "task",
                method=method,
                seq=i,
                candidate_role=slot.role,
                assignee_id=slot.user_id,
                status="pending" if method == "sequential" and i > 0 else "open",
                priority=cfg.priority,
                due_at=due,
            )
        )
    return rows


def _evaluate(wf_task):
    def evaluate(expression: str):
        return wf_task.workflow.script_engine.evaluate(wf_task, expression)

    return evaluate


def decision_data(decision: Decision) -> dict:
    """What an automatic node decision writes into the task data (real run and dry run alike)."""
    return {"approved": decision.outcome in ("auto_approve", "skip"), "outcome": decision.outcome}


def _decide_node(instance, wf, task, decision: Decision) -> None:
    state.add_event(
        instance,
        decision.outcome,
        step=task.task_spec.bpmn_id,
        step_name=task.task_spec.bpmn_name or task.task_spec.name,
        comment=decision.reason,
    )
    state.complete_spiff_task(instance, wf, str(task.id), decision_data(decision))


def sync(instance: ProcessInstance, wf, *, open_rows: list[HumanTask] | None = None) -> list[HumanTask]:
    """Bring the instance's inbox rows in line with the engine; returns the rows created."""
    created: list[HumanTask] = []
    if open_rows is None:
        open_rows = list(
            db.session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status.in_(("open", "pending")))
            )
        )
    for _ in range(MAX_AUTO_STEPS):
        ready = {str(t.id): t for t in state.ready_user_tasks(wf)} if instance.status == "running" else {}
        live = []
        for row in open_rows:
            if row.spiff_task_id in ready:
                live.append(row)
            elif row.status in ("open", "pending"):
                row.status = "cancelled"
                row.completed_at = utcnow()
        open_rows = live
        known = {r.spiff_task_id for r in open_rows}
        decided = False
        for tid, task in ready.items():
            if tid in known:
                continue
            info, cfg = config_for(instance, task)
            jump = wf.data.get(JUMP_KEY)
            if jump and cfg.kind == "approval":
                if task.task_spec.bpmn_id == jump:
                    wf.data.pop(JUMP_KEY, None)
                else:
                    _decide_node(instance, wf, task, Decision("skip", "退回后重新提交，直接回到退回节点"))
                    decided = True
                    break
            org = assign.task_org(cfg, task.data, instance_org(instance))
            slots = assign.resolve(
                cfg,
                lane=task.task_spec.lane,
                data=task.data,
                org=org,
                initiator_id=instance.initiator_id,
                evaluate=_evaluate(task),
            )
            result = apply_policies(cfg, slots, initiator_id=instance.initiator_id, instance_id=instance.id)
            if isinstance(result, Decision):
                _decide_node(instance, wf, task, result)
                decided = True
                break
            rows = _rows_for(instance, task, info, cfg, result, org, due_at(cfg, _evaluate(task)))
            db.session.add_all(rows)
            created.extend(rows)
            open_rows.extend(rows)
        if not decided:
            break
    return created


def instance_org(instance: ProcessInstance):
    from app.orgs.models import Organisation

    return db.session.get(Organisation, instance.org_id)
