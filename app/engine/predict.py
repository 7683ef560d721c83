"""流程预测: every step from the current ones to an end event, with who will act.

The prediction walks the process diagram forward from the instance's READY (and waiting) tasks with a
copy of its data, as far as the data allows:

- a user task is a step, with the units (organisation · role) or people who will receive it, resolved
  exactly as the inbox will resolve them; what it asks people to enter (its form's fields, and the
  approval decision) becomes *not yet entered* from there on;
- a service task with a registered preview (``@service(name, preview=...)``, e.g. the unit a clue is
  dispatched to) computes its result and runs its post-script on the copy; 抄送 (``inbox.cc``) is a
  step; other service tasks change nothing known;
- at a gateway whose conditions can be evaluated on known data, the walk follows the branch taken;
  where a condition needs data not yet entered, each branch is shown with its condition in words
  ("若 风险等级 = 高", using the forms' field titles) and walked on;
- an end event ends a path; a step met again says so (回到「…」) instead of looping.

Nothing is saved and no service is called.
"""

from __future__ import annotations

import ast
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.auth.models import Role, User, user_roles
from app.engine import assign, deploy, serializer
from app.engine.describe import condition_words, field_catalog
from app.engine.inbox import instance_org
from app.engine.models import ProcessInstance
from app.engine.nodes import node_config
from app.engine.services import DuchaScriptEngine, preview_of
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import CITY_KINDS

MAX_STEPS = 80
MAX_DEPTH = 6
DECISIONS = ("approved", "outcome")


class _DryEngine(DuchaScriptEngine):
    def call_service(self, task, operation_name: str, operation_params: dict, **_kwargs) -> str:
        return "null"


_DRY = _DryEngine()


@dataclass
class Branch:
    condition: str
    steps: list[PredictedStep] = field(default_factory=list)


@dataclass
class PredictedStep:
    step: str
    name: str
    people: list[str] = field(default_factory=list)
    current: bool = False
    kind: str = "task"  # task · cc · wait · end · branch · back
    branches: list[Branch] = field(default_factory=list)


class _Walk:
    def __init__(self, instance: ProcessInstance, spec) -> None:
        self.instance, self.spec = instance, spec
        self.info = deploy.task_info(instance.spec_info)
        self.catalog = field_catalog(instance.spec_info)
        self.forms = {name: _form_fields(instance.spec_info, i.get("form")) for name, i in self.info.items()}
        self.count = 0
        self.roles = {r.code: r.name for r in db.session.scalars(select(Role))}

    # -- who acts -----------------------------------------------------------------------------
    def people(self, ts, data: dict) -> list[str]:
        cfg = node_config((self.info.get(ts.name) or {}).get("properties"))
        org = assign.task_org(cfg, data, instance_org(self.instance))
        try:
            slots = assign.resolve(
                cfg,
                lane=ts.lane,
                data=data,
                org=org,
                initiator_id=self.instance.initiator_id,
                evaluate=lambda expr: _DRY.environment.evaluate(expr, dict(data)),
            )
        except Exception:  # an expression that needs data not entered yet
            return ["（待定：由前面步骤填写的数据决定）"]
        names = []
        for slot in slots:
            if slot.user_id:
                user = db.session.get(User, slot.user_id)
                names.append(user.name if user else "?")
            elif slot.role:
                names.append(self.units(slot.role, org))
        if not names and (cfg.assignee or "").startswith("role:{"):
            return ["（待定：由前面步骤确定承办单位）"]
        return names or ["（无审批人，按节点设置处理）"]

    def units(self, role: str, org: Organisation) -> str:
        """The organisations whose holders of ``role`` will see a task of ``org`` (as the inbox routes it)."""
        rows = db.session.scalars(
            select(Organisation)
            .join(User, User.org_id == Organisation.id)
            .join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(Role.code == role, User.status != "disabled")
            .distinct()
        ).all()
        acting = [o for o in rows if o.id == org.id or org.path.startswith(o.path) or o.kind in CITY_KINDS]
        own = [o for o in acting if org.path.startswith(o.path)]  # the task's own unit (or above) first
        chosen = own[-1:] or sorted(acting, key=lambda o: o.path)
        role_name = self.roles.get(role, role)
        if not chosen:
            return f"{org.short_name or org.name}·{role_name}（暂无人员）"
        shown = "、".join(o.short_name or o.name for o in chosen[:3]) + ("等" if len(chosen) > 3 else "")
        return f"{shown}·{role_name}"

    # -- walking ------------------------------------------------------------------------------
    def walk(self, ts, data: dict, pending: set[str], seen: set[str], depth: int = 0) -> list[PredictedStep]:
        steps: list[PredictedStep] = []
        while ts is not None and self.count < MAX_STEPS:
            if ts.bpmn_id:
                if ts.name in seen:  # a loop back to a step, or branches merging again
                    if _kind(ts) in ("user", "call"):
                        steps.append(PredictedStep(ts.bpmn_id, f"回到「{_label(ts)}」", kind="back"))
                    return steps
                seen.add(ts.name)
            self.count += 1
            kind = _kind(ts)
            if kind == "user":
                steps.append(PredictedStep(ts.bpmn_id or ts.name, _label(ts), self.people(ts, data)))
                self.entered(ts, data, pending)
            elif kind == "service":
                step = self.service(ts, data)
                if step is not None:
                    steps.append(step)
            elif kind == "script":
                _run_script(ts.script, data)
            elif kind == "end":
                steps.append(PredictedStep(ts.bpmn_id, f"结束：{_label(ts)}", kind="end"))
                return steps
            elif kind == "call":
                steps.append(PredictedStep(ts.bpmn_id, f"子流程：{_label(ts)}", kind="task"))
            nexts = _outputs(ts)
            if kind == "gateway" and len(nexts) > 1:
                return steps + self.split(ts, nexts, data, pending, seen, depth)
            ts = nexts[0] if nexts else None
        return steps

    def entered(self, ts, data: dict, pending: set[str]) -> None:
        """What a user task asks for is unknown after it (its form's fields and the decision)."""
        names = set(self.forms.get(ts.name) or ()) | set(DECISIONS)
        pending |= names
        for name in names:
            data.pop(name, None)

    def service(self, ts, data: dict) -> PredictedStep | None:
        operation = getattr(ts, "operation_name", None)
        params = {k: (v or {}).get("value") for k, v in (getattr(ts, "operation_params", None) or {}).items()}
        if operation == "inbox.cc":
            users = _literal_list(params.get("users"))
            people = [u.name for u in db.session.scalars(select(User).where(User.login.in_(users)))] if users else []
            return PredictedStep(ts.bpmn_id, f"抄送：{_label(ts)}", people or ["（无抄送人）"], kind="cc")
        preview = preview_of(operation or "")
        variable = getattr(ts, "result_variable", None)
        if preview is not None and variable:
            try:
                data[variable] = preview(dict(data), **{k: _literal(v) for k, v in params.items()})
            except Exception:  # a preview that cannot tell yet: the result stays unknown
                data.pop(variable, None)
                return None
            _run_script(getattr(ts, "postscript", None), data)
        return None

    def split(self, ts, nexts, data: dict, pending: set[str], seen: set[str], depth: int) -> list[PredictedStep]:
        options = _options(ts, nexts)
        chosen = _decide(options, data, pending)
        if chosen is not None:
            return self.walk(chosen, data, pending, seen, depth)
        if depth >= MAX_DEPTH:
            return [PredictedStep(ts.bpmn_id or ts.name, f"{_label(ts)}（分支较多，未继续展开）", kind="branch")]
        branches = []
        for condition, target in options:
            words = "同时进行" if condition is False else condition_words(condition, self.catalog)
            walked = self.walk(target, dict(data), set(pending), set(seen), depth + 1)
            branches.append(Branch(words, walked))
        return [PredictedStep(ts.bpmn_id or ts.name, _label(ts), kind="branch", branches=branches)]


def _label(ts) -> str:
    return ts.bpmn_name or ts.bpmn_id or ts.name


def _kind(ts) -> str:
    names = {cls.__name__ for cls in type(ts).__mro__}
    if getattr(ts, "manual", False) or "UserTask" in names or "ManualTask" in names:
        return "user"
    if "ServiceTask" in names:
        return "service"
    if "ScriptTask" in names:
        return "script"
    if "EndEvent" in names:
        return "end"
    if "CallActivity" in names or "SubWorkflowTask" in names:
        return "call"
    if "Gateway" in " ".join(names):
        return "gateway"
    return "other"


def _outputs(ts) -> list:
    """The next flow nodes, through the engine's internal specs; boundary events are not the main path."""
    found = []
    for out in ts.outputs:
        if "BoundaryEvent" in type(out).__name__:
            continue
        if not out.bpmn_id and out.outputs and "EndJoin" not in out.name:
            found += [o for o in _outputs(out) if o not in found]
        elif out.bpmn_id:
            found.append(out)
    return found


def _options(ts, nexts) -> list[tuple[Any, Any]]:
    """(condition, target) per outgoing branch: a condition string, None for the default, False for parallel."""
    by_name = {n.name: n for n in nexts}
    conds = getattr(ts, "cond_task_specs", None)
    if not conds:
        return [(False, n) for n in nexts]
    options = []
    for cond, target in conds:
        spec = by_name.get(target) or ts._wf_spec.task_specs.get(target)
        options.append((cond.args[0] if cond is not None else None, spec))
    return sorted(options, key=lambda o: o[0] is None)  # the default ("其他情况") last


def _decide(options, data: dict, pending: set[str]):
    """The branch the data takes, or None when a condition needs data not yet entered."""
    if any(cond is False for cond, _ in options):
        return None
    default = None
    for cond, target in options:
        if cond is None:
            default = target
            continue
        names = _names(cond)
        if names & pending or not names <= set(data) | _GLOBALS:
            return None
        try:
            if _DRY.environment.evaluate(cond, dict(data)):
                return target
        except Exception:
            return None
    return default


_GLOBALS = {"True", "False", "None", "len", "str", "int", "float", "now", "today", "any", "all"}


def _names(expr: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(expr.strip(), mode="eval")) if isinstance(n, ast.Name)}
    except SyntaxError:
        return {"\0unreadable"}


def _run_script(script: str | None, data: dict) -> None:
    if not script:
        return
    with contextlib.suppress(Exception):  # a script needing data not known yet: its results stay unknown
        _DRY.environment.execute(script, data)


def _literal(value):
    try:
        return ast.literal_eval(value) if isinstance(value, str) else value
    except (ValueError, SyntaxError):
        return value


def _literal_list(value) -> list[str]:
    value = _literal(value)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _form_fields(version, form: str | None) -> list[str]:
    text = (version.forms or {}).get(form or "") or (version.forms or {}).get((form or "").rsplit("/", 1)[-1])
    try:
        return list(json.loads(text).get("properties") or {}) if text else []
    except (ValueError, AttributeError):
        return []


def predict(instance: ProcessInstance) -> list[PredictedStep]:
    """The steps ahead of a running instance (current ones first), to the end events."""
    if instance.status != "running":
        return []
    spec, subs = deploy.specs_for(instance.spec_info)
    wf = serializer.load(instance.state, spec, subs, _DRY)
    walk = _Walk(instance, spec)
    steps: list[PredictedStep] = []
    seen: set[str] = set()
    pending: set[str] = set()
    current = wf.get_tasks(state=TaskState.READY, manual=True)
    waiting = [t for t in wf.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id and not t.task_spec.manual]
    data = dict(current[0].data if current else (waiting[0].data if waiting else wf.data))
    for task in current:
        ts = task.task_spec
        seen.add(ts.name)
        steps.append(PredictedStep(ts.bpmn_id or ts.name, _label(ts), walk.people(ts, task.data), current=True))
        walk.entered(ts, data, pending)
    for task in waiting:
        if "BoundaryEvent" in type(task.task_spec).__name__:
            continue
        seen.add(task.task_spec.name)
        label = f"等待：{_label(task.task_spec)}"
        steps.append(PredictedStep(task.task_spec.bpmn_id, label, current=True, kind="wait"))
    for task in current + [t for t in waiting if "BoundaryEvent" not in type(t.task_spec).__name__]:
        nexts = _outputs(task.task_spec)
        if len(nexts) > 1 and _kind(task.task_spec) == "gateway":
            steps += walk.split(task.task_spec, nexts, data, pending, seen, 0)
        elif nexts:
            steps += walk.walk(nexts[0], data, pending, seen)
    return steps
