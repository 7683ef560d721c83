"""An administrator's acts on running instances: suspend, resume, terminate, retry, move a token, migrate.

Each act: check → change the engine state and the instance row → inbox sync → history event and
audit entry → flush. The route commits once. Refusals are domain errors with Chinese messages.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.audit import services as audit
from app.engine import deploy, runtime, serializer, state
from app.engine.errors import EngineError
from app.engine.models import Incident, ProcessInstance, ProcessVersion
from app.engine.outcome import ENDED
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.inbox import actions
from app.models_base import utcnow
from app.processes.instances import all_steps


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(f"请填写{what}原因", errors={"reason": f"请填写{what}原因"})
    return reason[:300]


def _record(instance: ProcessInstance, kind: str, actor, *, comment=None, step=None, step_name=None, detail=None):
    runtime.add_event(instance, kind, actor=actor, step=step, step_name=step_name, comment=comment, data=detail or {})
    audit.record(
        f"process.{kind}",
        actor=actor,
        object_type="instance",
        object_id=instance.id,
        detail={"process": instance.process_id, "reason": comment, **(detail or {})},
    )


def suspend(instance: ProcessInstance, actor, reason: str | None = None) -> None:
    if instance.status != "running":
        raise Conflict("只有进行中的流程可以挂起")
    instance.status = "suspended"
    instance.updated_at = utcnow()
    _record(instance, "suspend", actor, comment=(reason or "").strip() or "管理员挂起")
    runtime.flush_or_conflict()


def resume(instance: ProcessInstance, actor, reason: str | None = None) -> None:
    if instance.status != "suspended":
        raise Conflict("只有已挂起的流程可以恢复")
    instance.status = "running"
    instance.updated_at = utcnow()
    _record(instance, "resume", actor, comment=(reason or "").strip() or "管理员恢复")
    runtime.flush_or_conflict()


def terminate(instance: ProcessInstance, actor, reason: str | None) -> None:
    if instance.status in ENDED:
        raise Conflict("流程已结束，不能终止")
    actions.terminate(instance, actor, reason=_reason(reason, "终止"))
    for incident in _open_incidents(instance):
        incident.status, incident.resolved_at, incident.resolved_by_id = "resolved", utcnow(), actor.id


def _open_incidents(instance: ProcessInstance, step: str | None = None) -> list[Incident]:
    stmt = select(Incident).where(Incident.instance_id == instance.id, Incident.status == "open")
    if step:
        stmt = stmt.where(Incident.step == step)
    return list(db.session.scalars(stmt))


def retry(instance: ProcessInstance, incident: Incident, actor, changes: dict) -> bool:
    """Retry the failed step with its data changed by ``changes``; True when it now runs through."""
    if incident.instance_id != instance.id:
        raise Conflict("异常事件不属于该流程实例")
    if incident.status != "open":
        raise Conflict("该异常已处理")
    if instance.status != "error":
        raise Conflict("流程当前没有失败的步骤")
    if not isinstance(changes, dict):
        raise ValidationFailed('修改的数据必须是 JSON 对象，如 {"amount": 100}')
    wf = runtime.load(instance)
    failed = wf.get_tasks(state=TaskState.ERROR)
    task = next((t for t in failed if t.task_spec.bpmn_id == incident.step), failed[0] if failed else None)
    if task is None:
        raise Conflict("没有找到失败的步骤，可能已被处理")
    data = copy.deepcopy({**task.data, **changes})
    failures = db.session.info.setdefault(state.INCIDENTS_KEY, {})
    failures.pop(instance.id, None)
    runtime.reset(instance, wf, str(task.id), data=data, strict=None)
    new = failures.pop(instance.id, None)
    ok = instance.status != "error"
    if ok:
        for row in [*_open_incidents(instance, incident.step), incident]:
            row.status, row.resolved_at, row.resolved_by_id = "resolved", utcnow(), actor.id
    elif new is not None and new is not incident:
        # Keep one incident per failure: count the attempt on the one being retried.
        incident.message, incident.detail = new.message, new.detail
        if new in db.session.new:
            db.session.expunge(new)
        else:
            db.session.delete(new)
    if not ok:
        incident.attempts += 1
    _record(
        instance,
        "retry",
        actor,
        step=incident.step,
        step_name=incident.step_name,
        comment="重试成功" if ok else f"重试仍失败：{incident.message}",
        detail={"changed": sorted(changes), "ok": ok},
    )
    return ok


def move(instance: ProcessInstance, actor, target: str, reason: str | None) -> None:
    """Move the token back to a step the instance has completed (later branches are dropped)."""
    reason = _reason(reason, "移动")
    if instance.status not in ("running", "error"):
        raise Conflict("只有进行中或异常的流程可以移动令牌")
    spec, subs = deploy.specs_for(instance.version)
    steps = all_steps(spec, subs)
    if target not in steps:
        raise ValidationFailed(f"流程中没有步骤「{target}」", errors={"target": "目标步骤不存在"})
    wf = runtime.load(instance)
    if any(t.task_spec.bpmn_id == target for t in runtime.ready_user_tasks(wf)):
        raise Conflict(f"令牌已在步骤「{steps[target]}」上")
    done = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == target]
    if not done:
        raise Conflict(
            f"步骤「{steps[target]}」尚未到达，不能把令牌移到还没经过的步骤；只能移回已完成的步骤，"
            "向前推进请在待办中办理"
        )
    latest = max(done, key=lambda t: t.last_state_change)
    before = list(instance.current_steps or [])
    runtime.reset(instance, wf, str(latest.id), strict="移动令牌")
    for incident in _open_incidents(instance):
        incident.status, incident.resolved_at, incident.resolved_by_id = "resolved", utcnow(), actor.id
    _record(
        instance,
        "move",
        actor,
        step=target,
        step_name=steps[target],
        comment=reason,
        detail={"to": target, "from": before},
    )


# ---------------------------------------------------------------------------------------------
# migration to a newer version


@dataclass
class MigrationCheck:
    instance: ProcessInstance
    ok: bool
    reason: str


def _current_tasks(wf) -> list:
    return wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR)


def _migrated(instance: ProcessInstance, target: ProcessVersion):
    """The instance's workflow moved onto the target spec, or a Chinese reason why it cannot be."""
    if target.model_id != instance.version.model_id:
        return None, "目标版本不属于同一流程"
    if instance.status not in ("running", "suspended"):
        return None, "只有进行中或挂起的实例可以迁移"
    if target.version <= instance.version.version:
        return None, f"实例已在第 {instance.version.version} 版，只能迁移到更新的版本"
    new_spec, new_subs = deploy.specs_for(target)
    known = {name for process in [new_spec, *new_subs.values()] for name in process.task_specs}
    wf = runtime.load(instance)
    missing = [
        t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in _current_tasks(wf) if t.task_spec.name not in known
    ]
    if missing:
        return None, f"当前所在步骤「{'、'.join(sorted(set(filter(None, missing))))}」在第 {target.version} 版中不存在"
    try:
        top, subs = diff_workflow(serializer.SERIALIZER.registry, wf, new_spec, new_subs)
        if any(d is None for d in subs.values()):
            return None, "正在运行的子流程在新版本中不存在"
        migrate_workflow(top, wf, new_spec)
        for sp_id, sp_diff in subs.items():
            sub = wf.subprocesses[sp_id]
            migrate_workflow(sp_diff, sub, new_subs[sub.spec.name])
        wf.subprocess_specs = new_subs
        # The state must load against the new spec: completed steps that vanished would break that.
        dumped = serializer.dump(wf)
        wf = serializer.load(dumped, new_spec, new_subs, runtime.script_engine())
    except (EngineError, KeyError, ValueError, TypeError) as exc:
        return None, f"已经过的步骤在新版本中被删除或改变，无法迁移（{getattr(exc, 'message', exc)}）"
    return wf, "可以迁移"


def check_migration(instance: ProcessInstance, target: ProcessVersion) -> MigrationCheck:
    wf, reason = _migrated(instance, target)
    return MigrationCheck(instance, wf is not None, reason)


def migrate(instance: ProcessInstance, target: ProcessVersion, actor) -> None:
    wf, reason = _migrated(instance, target)
    if wf is None:
        raise Conflict(f"实例 {instance.number or instance.id} 不能迁移：{reason}")
    old = instance.version.version
    instance.version = target
    instance.version_id = target.id
    if instance.status == "running":
        runtime.run(instance, wf)
    else:
        # A suspended instance keeps its open inbox rows (the migrated READY tasks keep their ids);
        # syncing now would cancel them, as the inbox offers nothing while an instance is suspended.
        state.save(instance, wf)
        runtime.flush_or_conflict()
    _record(
        instance,
        "migrate",
        actor,
        comment=f"从第 {old} 版迁移到第 {target.version} 版",
        detail={"from_version": old, "to_version": target.version},
    )


def migrate_many(model_id: int, target: ProcessVersion, actor, *, apply: bool) -> list[MigrationCheck]:
    """Check (and with ``apply`` migrate) every running or suspended instance on an older version."""
    stmt = (
        select(ProcessInstance)
        .join(ProcessInstance.version)
        .where(
            ProcessVersion.model_id == model_id,
            ProcessVersion.version < target.version,
            ProcessInstance.status.in_(("running", "suspended")),
        )
        .order_by(ProcessInstance.id)
    )
    results = []
    for instance in db.session.scalars(stmt):
        check = check_migration(instance, target)
        if check.ok and apply:
            migrate(instance, target, actor)
            check.reason = f"已迁移到第 {target.version} 版"
        results.append(check)
    return results
