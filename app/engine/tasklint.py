"""Who receives each task and what decides it, checked at validation.

Lanes and `assignee` are checked against the roles and users in the database.

A lane's name is a role code (the runtime offers the lane's tasks to that role); `assignee` is one of
the forms in `app/engine/nodes.py`. A name that is no role, no user and no expression would deploy a
task nobody can receive: that is a validation error naming the element, the unknown code and the valid
role names. A database without any role yet (a first deploy before seeding) is not checked.

An approval node (kind=approval) decides `approved` by its 通过/拒绝 buttons; a form field `approved` on
it would be overwritten, so the model is refused with the fix (see docs/architecture.md, "approved").
"""

from __future__ import annotations

import ast
import json

from lxml import etree
from sqlalchemy import select

from app.engine.errors import SpecProblem
from app.engine.speclint import BPMN_NS, NS, executable_processes
from app.extensions import db

MAX_LISTED = 30
STATIC_FORMS = {"initiator", "leader"}


def _roles() -> dict[str, str]:
    from app.auth.models import Role

    return dict(db.session.execute(select(Role.code, Role.name).order_by(Role.code)).all())


def _known_logins(logins: set[str]) -> set[str]:
    from app.auth.models import User

    if not logins:
        return set()
    return set(db.session.scalars(select(User.login).where(User.login.in_(sorted(logins)))))


def _role_list(roles: dict[str, str]) -> str:
    listed = [f"{code}（{name}）" for code, name in list(roles.items())[:MAX_LISTED]]
    more = "等" if len(roles) > MAX_LISTED else ""
    return "、".join(listed) + more


def _assignee_problem(rule: str, roles: dict[str, str], logins: set[str]) -> str | None:
    kind, sep, arg = rule.partition(":")
    kind, arg = kind.strip(), arg.strip()
    if rule in STATIC_FORMS:
        return None
    if kind == "role" and sep:
        if arg.startswith("{") and arg.endswith("}"):
            return None  # the role code comes from task data (派单)
        if arg not in roles:
            return f"办理人 assignee「{rule}」中的角色「{arg}」不存在；可用的角色：{_role_list(roles)}"
        return None
    if kind == "leader_up" and sep:
        return None if arg.isdigit() else f"办理人 assignee「{rule}」的层级必须是数字，如 leader_up:2"
    if kind == "users" and sep:
        missing = [x.strip() for x in arg.split(",") if x.strip() and x.strip() not in logins]
        return f"办理人 assignee「{rule}」中的用户「{'、'.join(missing)}」不存在" if missing else None
    if kind == "field" and sep and arg:
        return None
    if kind == "expr" and sep and arg:
        try:
            ast.parse(arg, mode="eval")
        except SyntaxError as exc:
            return f"办理人表达式「{arg}」有语法错误：{exc.msg}"
        return None
    return (
        f"办理人 assignee「{rule}」无法识别：应为 role:<角色代码>、users:<登录名>、initiator、leader、"
        f"leader_up:<层级>、field:<字段>或 expr:<表达式>；可用的角色：{_role_list(roles)}"
    )


def _deadline_problem(name: str, value: str) -> str | None:
    """dueDays / dueWorkingDays: a number of days, or an expression over the task data (e.g. a DMN output)."""
    if not value or value.isdigit():
        return None
    from app.engine.scripting import lint_script

    problems = lint_script(value, "eval")
    if problems:
        return f"期限 {name}「{value}」应为天数或表达式（如 deadline_workdays）：{problems[0][1]}"
    return None


def _property(task: etree._Element, name: str) -> str:
    for prop in task.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        if prop.get("name") == name:
            return (prop.get("value") or "").strip()
    return ""


def _assignee_of(task: etree._Element) -> str:
    return _property(task, "assignee")


def check_people(file: str, bpmn: str) -> list[SpecProblem]:
    """Lanes and assignees of the executable processes that name no existing role or user."""
    root = _parse(bpmn)
    if root is None:
        return []  # the XML problems are reported by the parser checks
    roles = _roles()
    if not roles:
        return []
    problems: list[SpecProblem] = []
    rules: list[tuple[etree._Element, str]] = []
    for process in executable_processes(root):
        people = {
            el.get("id"): el
            for el in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask", f"{{{BPMN_NS}}}task")
            if not _assignee_of(el)
        }
        for lane in process.iter(f"{{{BPMN_NS}}}lane"):
            name = (lane.get("name") or "").strip()
            # Only a lane that offers a task (one without its own assignee) must name a role.
            offers = any((ref.text or "").strip() in people for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"))
            role = _property(lane, "role")  # a lane with a Chinese name says its role in a property
            if not name or not offers or (role or name) in roles:
                continue
            if role:
                message = f"泳道「{name}」的角色属性 role「{role}」不是已有的角色代码，泳道中的任务将无人接收"
            else:
                message = (
                    f"泳道「{name}」不是已有的角色代码，泳道中的任务将无人接收；请把泳道名改为角色代码，"
                    "或给泳道设置角色属性 role，或在任务上设置 assignee"
                )
            problems.append(
                SpecProblem(file, lane.get("id"), lane.sourceline, f"{message}。可用的角色：{_role_list(roles)}")
            )
        for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask", f"{{{BPMN_NS}}}task"):
            if rule := _assignee_of(task):
                rules.append((task, rule))
    wanted = {x.strip() for _t, rule in rules if rule.startswith("users:") for x in rule[6:].split(",") if x.strip()}
    logins = _known_logins(wanted)
    for task, rule in rules:
        message = _assignee_problem(rule, roles, logins)
        if not message:
            continue
        fallback = _property(task, "onNoApprover")
        if fallback and rule.startswith("users:"):
            # The node says what happens when nobody is found (people leave): a warning, not a refusal.
            problems.append(
                SpecProblem(
                    file,
                    task.get("id"),
                    task.sourceline,
                    f"{message}；将按节点设置 onNoApprover={fallback} 处理",
                    "warning",
                )
            )
        else:
            problems.append(SpecProblem(file, task.get("id"), task.sourceline, message))
    return problems


def _parse(bpmn: str):
    try:
        return etree.fromstring(bpmn.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def check_approved_field(file: str, bpmn: str, forms: dict[str, str]) -> list[SpecProblem]:
    """Approval nodes whose form has its own `approved` field (the buttons would overwrite it)."""
    root = _parse(bpmn)
    if root is None:
        return []
    problems = []
    for process in executable_processes(root):
        for task in process.iter(f"{{{BPMN_NS}}}userTask"):
            props = {
                p.get("name"): (p.get("value") or "").strip()
                for p in task.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
            }
            kind = props.get("kind") or ("approval" if props.get("method") else "task")
            form = props.get("formJsonSchemaFilename") or ""
            if kind != "approval" or not form:
                continue
            try:
                schema = json.loads(forms.get(form) or forms.get(form.rsplit("/", 1)[-1]) or "{}")
            except ValueError:
                continue
            if isinstance(schema, dict) and "approved" in (schema.get("properties") or {}):
                problems.append(
                    SpecProblem(
                        file,
                        task.get("id"),
                        task.sourceline,
                        f"审批节点「{task.get('name') or task.get('id')}」的表单「{form}」含字段 approved，"
                        "但审批节点的 approved 由“通过/拒绝”按钮决定，表单中填写的值会被覆盖。"
                        "请删去表单中的 approved 字段（网关按按钮结果流转），"
                        "或把节点属性 kind 改为 task（按表单中填写的 approved 流转）",
                    )
                )
    return problems


def check_deadlines(file: str, bpmn: str) -> list[SpecProblem]:
    """Deadline settings that are neither a number of days nor a valid expression."""
    root = _parse(bpmn)
    problems = []
    for process in executable_processes(root) if root is not None else []:
        for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask", f"{{{BPMN_NS}}}task"):
            for name in ("dueDays", "dueWorkingDays"):
                if message := _deadline_problem(name, _property(task, name)):
                    problems.append(SpecProblem(file, task.get("id"), task.sourceline, message))
    return problems
