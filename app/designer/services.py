"""What the designer pages do: open a process as a tree, check it, save it as a draft, deploy it.

Drafts live in the process workspace (``app.processes.workspace``): the designer saves the compiled
BPMN as the workspace's main file, so the BPMN modeler and the designer edit one draft, and opening a
process in the designer reads whatever the workspace holds (a draft, or the deployed version). Forms
come from the workspace, else from forms/; a sub-process brings the sources of its deployed version.
Services flush; the route commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select

from app.audit import services as audit
from app.auth.models import Role, User
from app.designer import compile as compiler
from app.designer import parse
from app.designer import tree as tree_mod
from app.engine import deploy
from app.engine.errors import SpecInvalid, SpecProblem
from app.engine.models import ProcessModel, ProcessVersion
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.processes import workspace
from app.processes.models import ProcessDraft


class DesignInvalid(ValidationFailed):
    """The tree has errors; ``problems`` are dicts for the page (node id, message, severity)."""

    def __init__(self, problems: list[dict]) -> None:
        errors = [p for p in problems if p["severity"] == "error"]
        super().__init__(f"流程设计有 {len(errors)} 个错误，请按提示修改")
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# what the page offers: forms, roles, users, processes


def _form_fields(text: str) -> list[dict]:
    try:
        schema = json.loads(text)
    except ValueError:
        return []
    required = set(schema.get("required") or [])
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        source = prop.get("items", prop) if prop.get("type") == "array" else prop
        options = [[o.get("const"), o.get("title", str(o.get("const")))] for o in source.get("oneOf") or []]
        options += [[v, str(v)] for v in source.get("enum") or []]
        fields.append(
            {
                "name": name,
                "title": prop.get("title") or name,
                "type": prop.get("type") or "string",
                "required": name in required,
                "options": options,
            }
        )
    return fields


def _workspace_or_none(process_id: str) -> workspace.Workspace | None:
    if not process_id:
        return None
    try:
        return workspace.load(process_id)
    except NotFound:
        return None


def available_forms(process_id: str = "") -> dict[str, str]:
    """Form texts by file name: forms/ with the process's own (workspace) forms over them."""
    forms: dict[str, str] = {}
    for path in sorted(Path(current_app.config["FORMS_DIR"]).glob("*.json")):
        forms[path.name] = path.read_text(encoding="utf-8")
    ws = _workspace_or_none(process_id)
    if ws is not None:
        forms.update({f.name: f.text for f in ws.by_kind("form")})
    return forms


def page_config(process_id: str = "") -> dict:
    """Pickers of the designer page: forms (with fields), roles, users, deployed processes, services."""
    forms = available_forms(process_id)
    schemas = {
        name: {
            "title": (json.loads(text).get("title") if _is_json(text) else None) or name,
            "fields": _form_fields(text),
        }
        for name, text in forms.items()
        if name.endswith(".schema.json")
    }
    roles = [{"code": r.code, "name": r.name} for r in db.session.scalars(select(Role).order_by(Role.id))]
    users = [
        {"login": u.login, "name": u.name}
        for u in db.session.scalars(select(User).where(User.status != "disabled").order_by(User.login).limit(2000))
    ]
    processes = [
        {"id": m.process_id, "name": m.name}
        for m in db.session.scalars(
            select(ProcessModel).where(ProcessModel.current_version_id.is_not(None)).order_by(ProcessModel.name)
        )
        if m.process_id != process_id
    ]
    ui_forms = sorted(n for n in forms if n.endswith(".uischema.json"))
    return {"forms": schemas, "uiForms": ui_forms, "roles": roles, "users": users, "processes": processes}


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# opening


@dataclass
class Opened:
    tree: dict
    process_id: str
    exists: bool  # deployed or drafted: saving does not create a new process
    draft: bool  # the tree comes from an undeployed draft
    version: int | None


def open_process(process_id: str) -> Opened:
    """The process's workspace (draft or deployed version) as a tree; ``OutsideSubset`` if it does not fit."""
    ws = _workspace_or_none(process_id)
    if ws is None or ws.main is None:
        raise NotFound(f"流程「{process_id}」不存在")
    main = ws.files[ws.main]
    tree = parse.parse_bpmn(main.text)
    version = ws.version.version if ws.version is not None else None
    return Opened(tree, process_id, True, main.draft, version)


def import_bpmn(filename: str, data: bytes) -> Opened:
    """An uploaded BPMN file as a tree (not saved yet); refused with the element that does not fit."""
    text = workspace.decode_upload(filename or "upload.bpmn", data)
    tree = parse.parse_bpmn(text)
    pid = tree["process"]["id"]
    exists = _workspace_or_none(pid) is not None
    return Opened(tree, pid, exists, True, None)


def fits(text: str) -> str | None:
    """None when a BPMN text opens in the designer, else the reason (Chinese, naming the element by its name)."""
    try:
        parse.parse_bpmn(text)
    except parse.OutsideSubset as exc:
        name = _element_name(text, exc.element_id)
        return f"「{name}」：{exc.reason}" if name else exc.reason
    except ValidationFailed as exc:
        return exc.message
    return None


def _element_name(text: str, element_id: str | None) -> str | None:
    if not element_id:
        return None
    from lxml import etree

    try:
        root = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return (found[0].get("name") or None) if found else None


def catalogue() -> list[dict]:
    """Deployed and drafted processes, with whether each opens in the designer."""
    rows: dict[str, dict] = {}
    for model in db.session.scalars(select(ProcessModel).order_by(ProcessModel.name)):
        rows[model.process_id] = {"id": model.process_id, "name": model.name, "model": model, "drafts": 0}
    for pid, count in db.session.execute(
        select(ProcessDraft.process_id, db.func.count()).group_by(ProcessDraft.process_id)
    ):
        rows.setdefault(pid, {"id": pid, "name": pid, "model": None, "drafts": 0})["drafts"] = count
    for row in rows.values():
        ws = _workspace_or_none(row["id"])
        text = ws.files[ws.main].text if ws is not None and ws.main else None
        row["refusal"] = fits(text) if text else "工作区中没有流程图"
        row["version"] = ws.version.version if ws is not None and ws.version is not None else None
    return list(rows.values())


# ---------------------------------------------------------------------------------------------
# checking


def _problem(node_id: str | None, message: str, severity: str = "error", element_id: str | None = None) -> dict:
    return {"node_id": node_id, "element_id": element_id or node_id, "message": message, "severity": severity}


def _user_logins(logins: set[str]) -> set[str]:
    if not logins:
        return set()
    stmt = select(User.login).where(User.login.in_(sorted(logins)), User.status != "disabled")
    return set(db.session.scalars(stmt))


def reference_problems(tree: dict, forms: dict[str, str]) -> list[dict]:
    """Checks that need the database or the form files: roles, people, forms, called processes."""
    problems: list[dict] = []
    roles = set(db.session.scalars(select(Role.code)))
    start = tree["start"]
    for role in start["roles"]:
        if role not in roles:
            problems.append(_problem(start["id"], f"可发起的角色「{role}」不存在"))
    start_fields: dict[str, dict] = {}
    if start["form"]:
        if start["form"] not in forms:
            problems.append(_problem(start["id"], f"发起表单「{start['form']}」不存在"))
        else:
            start_fields = {f["name"]: f for f in _form_fields(forms[start["form"]])}
    logins: dict[str, set[str]] = {}
    for node in tree_mod.walk(tree["nodes"]):
        nid = node["id"]
        if node["type"] in ("approval", "task"):
            props = node["props"]
            rule = props.get("assignee", "")
            kind, _, arg = rule.partition(":")
            if kind == "role" and not arg.startswith("{") and arg not in roles:
                problems.append(_problem(nid, f"「{node['name']}」的角色「{arg}」不存在"))
            if kind == "users":
                logins.setdefault(nid, set()).update(x.strip() for x in arg.replace("，", ",").split(",") if x.strip())
            policy = props.get("onNoApprover", "")
            if policy.startswith("user:"):
                logins.setdefault(nid, set()).add(policy[5:].strip())
            for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                if props.get(key) and props[key] not in forms:
                    problems.append(_problem(nid, f"「{node['name']}」的表单文件「{props[key]}」不存在"))
        elif node["type"] == "cc":
            logins.setdefault(nid, set()).update(node["users"])
        elif node["type"] == "subprocess" and node["process"]:
            if node["process"] == tree["process"]["id"]:
                problems.append(_problem(nid, f"「{node['name']}」不能调用流程自身"))
            elif _deployed(node["process"]) is None:
                problems.append(_problem(nid, f"「{node['name']}」调用的流程「{node['process']}」尚未部署"))
        for branch in node.get("branches") or []:
            condition = branch["condition"]
            if not condition or "rules" not in condition or not start_fields:
                continue
            for rule in condition["rules"]:
                field = start_fields.get(rule["field"])
                if field is None:
                    message = (
                        f"分支「{branch['name']}」的条件字段「{rule['field']}」不在发起表单中，请确认前面的节点会填写它"
                    )
                    problems.append(_problem(branch["id"], message, "warning"))
                elif not field["required"] and rule["op"] not in ("empty", "not_empty"):
                    message = f"分支「{branch['name']}」的条件字段“{field['title']}”不是必填项，未填写时条件无法计算"
                    problems.append(_problem(branch["id"], message, "warning"))
    known = _user_logins(set().union(*logins.values()) if logins else set())
    for nid, names in logins.items():
        missing = sorted(names - known)
        if missing:
            problems.append(_problem(nid, f"人员「{'、'.join(missing)}」不存在或已停用"))
    return problems


def _deployed(process_id: str) -> ProcessVersion | None:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id))
    return model.current_version if model is not None else None


def _main_filename(process_id: str) -> str:
    ws = _workspace_or_none(process_id)
    return ws.main if ws is not None and ws.main else f"{process_id}.bpmn"


def sources(tree: dict, compiled: compiler.Compiled, forms: dict[str, str]) -> deploy.Sources:
    """The deployment sources of a tree: its BPMN, the forms it names, and its called processes."""
    names = {tree["start"]["form"]} if tree["start"]["form"] else set()
    called: list[str] = []
    for node in tree_mod.walk(tree["nodes"]):
        props = node.get("props") or {}
        names |= {props[k] for k in ("formJsonSchemaFilename", "formUiSchemaFilename") if props.get(k)}
        if node["type"] == "subprocess" and node["process"]:
            called.append(node["process"])
    names |= {n.replace(".schema.json", ".uischema.json") for n in names if n.endswith(".schema.json")}
    src = deploy.Sources(
        bpmn_filename=_main_filename(tree["process"]["id"]),
        bpmn=compiled.xml,
        dmn={},
        forms={n: forms[n] for n in sorted(names) if n in forms},
        extra_bpmn={},
    )
    for pid in called:
        version = _deployed(pid)
        if version is None or pid == tree["process"]["id"]:
            continue
        called_src = deploy.version_sources(version)
        src.extra_bpmn.setdefault(called_src.bpmn_filename, called_src.bpmn)
        for target, extra in ((src.extra_bpmn, called_src.extra_bpmn), (src.dmn, called_src.dmn)):
            for name, text in extra.items():
                target.setdefault(name, text)
        for name, text in called_src.forms.items():
            src.forms.setdefault(name, text)
    return src


def _engine_problem(p: SpecProblem, owners: dict[str, str]) -> dict:
    node_id = owners.get(p.element_id or "")
    return _problem(node_id, p.message, p.severity, element_id=p.element_id)


@dataclass
class Checked:
    tree: dict
    compiled: compiler.Compiled
    sources: deploy.Sources
    problems: list[dict]

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p["severity"] == "error")


def check(tree: dict) -> Checked:
    """Every problem of a tree: its structure, its references, and the engine's validation of the BPMN."""
    compiled = compiler.compile_tree(tree)
    tree = compiled.tree
    problems = [_problem(p.node_id, p.message, p.severity) for p in tree_mod.check(tree)]
    forms = available_forms(tree["process"]["id"])
    problems += reference_problems(tree, forms)
    src = sources(tree, compiled, forms)
    if not any(p["severity"] == "error" for p in problems):
        # The engine's messages would repeat the structural ones less clearly: only run it on a sound tree.
        problems += [_engine_problem(p, compiled.owners) for p in deploy.validate_sources(src)]
    return Checked(tree, compiled, src, problems)


# ---------------------------------------------------------------------------------------------
# saving and deploying


def _check_identity(tree: dict, *, new: bool) -> str:
    pid = tree["process"]["id"]
    if not tree_mod.PROCESS_ID.match(pid):
        raise ValidationFailed("请先填写流程 id：以字母开头，只含字母、数字、下划线、连字符和点", errors={"id": pid})
    if new and _workspace_or_none(pid) is not None:
        raise Conflict(f"流程 id「{pid}」已被其他流程使用，请换一个")
    return pid


def save_draft(tree: dict, actor, *, new: bool) -> ProcessDraft:
    """Store the tree (compiled to BPMN) as the workspace's draft of the main file; it may still have errors."""
    compiled = compiler.compile_tree(tree)
    pid = _check_identity(compiled.tree, new=new)
    filename = _main_filename(pid)
    return workspace.save_file(
        workspace.Workspace(process_id=pid, model=None, version=None), filename, compiled.xml, actor
    )


def deploy_tree(tree: dict, actor, *, new: bool, comment: str | None = None) -> ProcessVersion:
    """Check, then deploy as a new version (app.engine.deploy); the process's drafts are dropped."""
    checked = check(tree)
    pid = _check_identity(checked.tree, new=new)
    if checked.errors:
        raise DesignInvalid(checked.problems)
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == pid))
    previous = model.current_version_id if model is not None else None
    try:
        version = deploy.deploy(checked.sources, actor=actor, comment=(comment or "").strip()[:300] or "简易设计器部署")
    except SpecInvalid as exc:
        raise DesignInvalid([_engine_problem(p, checked.compiled.owners) for p in exc.problems]) from exc
    if version.id == previous:
        raise Conflict(f"设计与当前版本（第 {version.version} 版）相同，无需部署")
    db.session.execute(delete(ProcessDraft).where(ProcessDraft.process_id == pid))
    audit.record(
        "process.deploy",
        actor=actor,
        object_type="process",
        object_id=pid,
        detail={"version": version.version, "hash": version.content_hash, "comment": version.comment, "designer": True},
    )
    db.session.flush()
    return version
