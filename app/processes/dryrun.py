"""Dry runs of an undeployed workspace, in memory only.

The specs are built from the drafts (``specs.build``), the workflow runs with the restricted script
engine, and no row is written: the state travels with the page as a signed token (tied to the
workspace's content, so a state cannot be replayed against other files). Service tasks are not
called (they may write to the database or reach other systems): the dry run records the call and
returns a placeholder result.

The dry run follows the real run's rules: a decision writes `approved`/`outcome` with the same function
(`actions.decision_data`: the buttons decide on an approval node, the form's `approved` elsewhere), and the
node policies (no approver → auto approve/reject, initiator is approver → skip, ...) decide nodes the same way
(`inbox.apply_policies`, with the administrator as initiator and the people of the database). The clock can be
advanced (快进) so due timers fire and the timeout path shows before deploying.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.auth.models import Role
from app.engine import forms, serializer, specs, state
from app.engine.nodes import node_config
from app.engine.services import DuchaScriptEngine
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.processes.instances import markers
from app.processes.workspace import Workspace, json_error

SALT = "ducha.processes.dryrun"


class DryRunScriptEngine(DuchaScriptEngine):
    """The Ducha script engine, except that service tasks are recorded instead of called."""

    def call_service(self, task, operation_name: str, operation_params: dict, **_kwargs) -> str:
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        return json.dumps({"dry_run": True, "operation": operation_name, "params": params}, ensure_ascii=False)


_ENGINE = DryRunScriptEngine()


@dataclass
class ReadyTask:
    id: str
    step: str
    name: str
    kind: str
    lane: str | None
    lane_label: str | None
    form: str | None
    fields: list = field(default_factory=list)
    sample: str = "{}"
    properties: dict = field(default_factory=dict)


@dataclass
class DryRun:
    token: str
    ready: list[ReadyTask]
    path: list[dict]
    waiting: list[dict]
    completed: bool
    error: str | None
    data: dict
    marks: dict
    auto: list[str] = field(default_factory=list)
    clock_hours: float = 0


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _content_key(ws: Workspace) -> str:
    return ws.sources().content_hash()


def _specs(ws: Workspace):
    return specs.build(ws.sources().bundle(), ws.process_id)


def _sample(schema: dict, kind: str) -> str:
    sample: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if "default" in prop:
            sample[name] = prop["default"]
            continue
        options = forms._options(prop)
        kind_of = prop.get("type", "string")
        if kind_of == "array":
            sample[name] = [options[0][0]] if options else []
        elif options:
            sample[name] = options[0][0]
        elif kind_of in ("integer", "number"):
            sample[name] = prop.get("minimum", 0)
        elif kind_of == "boolean":
            sample[name] = False
        elif prop.get("format") == "date":
            sample[name] = "2026-01-05"
        else:
            sample[name] = "试运行"
    return json.dumps(sample, ensure_ascii=False, indent=2)


def _ready(ws: Workspace, wf: BpmnWorkflow) -> list[ReadyTask]:
    roles = {r.code: r.name for r in db.session.scalars(select(Role))}
    out = []
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        props = dict((getattr(spec, "extensions", None) or {}).get("properties") or {})
        cfg = node_config(props)
        form_name = props.get("formJsonSchemaFilename")
        schema, ui = {}, {}
        if form_name and form_name in ws.files:
            try:
                schema = forms.parse(ws.files[form_name].text)
                ui_name = props.get("formUiSchemaFilename")
                ui = forms.parse(ws.files[ui_name].text) if ui_name in ws.files else {}
            except ValueError:
                schema, ui = {}, {}
        out.append(
            ReadyTask(
                id=str(task.id),
                step=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name,
                kind=cfg.kind,
                lane=spec.lane,
                lane_label=roles.get(spec.lane or ""),
                form=form_name,
                fields=forms.fields(schema, ui, values=dict(task.data)) if schema else [],
                sample=_sample(schema, cfg.kind),
                properties=props,
            )
        )
    return out


def _result(
    ws: Workspace, wf: BpmnWorkflow, error: str | None, *, auto: list[str] | None = None, clock: float = 0
) -> DryRun:
    path = []
    for task in sorted(wf.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change):
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None):
            path.append({"step": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "type": type(spec).__name__})
    waiting = [
        {
            "step": t.task_spec.bpmn_id,
            "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id,
            "type": type(t.task_spec).__name__,
            "due": state._timer_due(t),
        }
        for t in wf.get_tasks(state=TaskState.WAITING)
        if getattr(t.task_spec, "bpmn_id", None)
    ]
    failed = wf.get_tasks(state=TaskState.ERROR)
    latest = failed or wf.get_tasks(state=TaskState.READY, manual=True) or wf.get_tasks(state=TaskState.COMPLETED)
    data = dict(max(latest, key=lambda t: t.last_state_change).data) if latest else dict(wf.data)
    token = _serializer().dumps({"h": _content_key(ws), "s": serializer.dump(wf), "c": clock})
    main = ws.files[ws.main].text if ws.main else None
    return DryRun(
        token=token,
        ready=_ready(ws, wf),
        path=path,
        waiting=waiting,
        completed=wf.completed,
        error=error,
        data=json.loads(json.dumps(data, default=str)),
        marks=markers(wf, main),
        auto=auto or [],
        clock_hours=clock,
    )


def _run(wf: BpmnWorkflow) -> str | None:
    try:
        wf.do_engine_steps()
        return None
    except Exception as exc:  # the failing step is shown, the run stops there
        failed = wf.get_tasks(state=TaskState.ERROR)
        where = failed[0].task_spec.bpmn_name or failed[0].task_spec.bpmn_id if failed else None
        message = getattr(exc, "message", None) or str(exc)
        return f"步骤「{where}」执行失败：{message}" if where else f"执行失败：{message}"


def parse_hours(text: str | None) -> float:
    try:
        return float((text or "").strip())
    except ValueError as exc:
        raise ValidationFailed("快进时长须是小时数，如 24", errors={"hours": "请输入小时数"}) from exc


def parse_data(text: str | None) -> dict:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        message = f"数据不是有效的 JSON：{json_error(exc)}"
        raise ValidationFailed(message, errors={"data": "请输入 JSON 对象"}) from exc
    if not isinstance(data, dict):
        raise ValidationFailed('数据必须是 JSON 对象，如 {"amount": 100}', errors={"data": "请输入 JSON 对象"})
    return data


def _policies(wf: BpmnWorkflow, actor) -> tuple[list[str], str | None]:
    """Decide the READY nodes the real run would decide by itself (node policies); returns what was decided."""
    from app.engine import assign, inbox

    decided: list[str] = []
    org = getattr(actor, "org", None)
    for _ in range(inbox.MAX_AUTO_STEPS):
        for task in wf.get_tasks(state=TaskState.READY, manual=True):
            props = dict((getattr(task.task_spec, "extensions", None) or {}).get("properties") or {})
            cfg = node_config(props)
            where = assign.task_org(cfg, task.data, org) if org is not None else None
            slots = (
                assign.resolve(
                    cfg,
                    lane=task.task_spec.lane,
                    data=task.data,
                    org=where,
                    initiator_id=getattr(actor, "id", None),
                    evaluate=lambda expression, t=task: t.workflow.script_engine.evaluate(t, expression),
                )
                if where is not None
                else []
            )
            result = inbox.apply_policies(cfg, slots, initiator_id=getattr(actor, "id", None), instance_id=None)
            if isinstance(result, inbox.Decision):
                name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
                decided.append(f"「{name}」{result.reason}")
                task.set_data(**inbox.decision_data(result))
                task.run()
                error = _run(wf)
                if error:
                    return decided, error
                break
        else:
            return decided, None
    return decided, None


def _advance(wf: BpmnWorkflow, hours: float) -> list[str]:
    """快进: the timers due within `hours` fire now (their due time is moved to the past)."""
    limit = datetime.now(UTC) + timedelta(hours=hours)
    fired = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        due = state._timer_due(task)
        if due is not None and due <= limit:
            task._set_internal_data(event_value=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())
            fired.append(task.task_spec.bpmn_name or task.task_spec.bpmn_id)
    if fired:
        wf.refresh_timers()
    return fired


def start(ws: Workspace, data: dict, actor) -> DryRun:
    spec, subs = _specs(ws)
    wf = BpmnWorkflow(spec, subs, script_engine=_ENGINE)
    data = dict(data)
    data.setdefault("initiator", getattr(actor, "login", None))
    data.setdefault("initiator_org", getattr(getattr(actor, "org", None), "code", None))
    for task in wf.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return _after(ws, wf, actor, _run(wf), clock=0)


def _after(ws: Workspace, wf: BpmnWorkflow, actor, error: str | None, *, clock: float, auto=None) -> DryRun:
    auto = list(auto or [])
    if error is None:
        decided, error = _policies(wf, actor)
        auto += decided
    return _result(ws, wf, error, auto=auto, clock=clock)


def _load(ws: Workspace, token: str) -> tuple[BpmnWorkflow, float]:
    try:
        payload = _serializer().loads(token or "")
    except BadSignature as exc:
        raise ValidationFailed("试运行状态无效，请重新开始试运行") from exc
    if payload.get("h") != _content_key(ws):
        raise Conflict("草稿在试运行期间被修改，请重新开始试运行")
    spec, subs = _specs(ws)
    return serializer.load(payload["s"], spec, subs, _ENGINE), float(payload.get("c") or 0)


def step(ws: Workspace, token: str, task_id: str, data: dict, action: str | None = None, actor=None) -> DryRun:
    """Complete a READY task as the real run would: an approval node by 通过/拒绝 (`action`, or the sample's
    `approved`), any other node by 提交 with the form's own `approved` honoured."""
    from app.inbox.actions import decision_data

    wf, clock = _load(ws, token)
    task = next((t for t in wf.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == task_id), None)
    if task is None:
        raise Conflict("该步骤已不在待办状态，请刷新试运行")
    props = dict((getattr(task.task_spec, "extensions", None) or {}).get("properties") or {})
    kind = node_config(props).kind
    if kind == "approval":
        if action not in ("approve", "reject"):
            action = "reject" if data.get("approved") is False else "approve"
        data = {k: v for k, v in data.items() if k not in ("approved", "outcome")}
    task.set_data(**decision_data(kind, action if kind == "approval" else "approve", data))
    task.run()
    return _after(ws, wf, actor, _run(wf), clock=clock)


def advance(ws: Workspace, token: str, hours: float, actor=None) -> DryRun:
    """快进 the dry run's clock by `hours`: timers due by then fire and their paths run."""
    if not 0 < hours <= 24 * 366:
        raise ValidationFailed("快进时长须在 0 到 8784 小时之间", errors={"hours": "请输入正确的小时数"})
    wf, clock = _load(ws, token)
    fired = _advance(wf, hours)
    error = _run(wf)
    note = [
        f"时钟快进 {hours:g} 小时：" + ("、".join(f"「{f}」到期触发" for f in fired) if fired else "没有定时器到期")
    ]
    return _after(ws, wf, actor, error, clock=clock + hours, auto=note)
