"""A process's workspace: the current version's files with the drafts laid over them.

Upload, save, delete and discard change drafts only; ``validate`` reports every problem of the
workspace; ``deploy`` turns it into a new version (and drops the drafts); ``rollback`` deploys an
older version's sources as the newest. Services flush; the route commits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from sqlalchemy import delete, select

from app.audit import services as audit
from app.auth.models import User
from app.engine import deploy
from app.engine.errors import SpecInvalid, SpecProblem
from app.engine.models import ProcessModel, ProcessVersion
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.processes import layout
from app.processes.models import ProcessDraft

KIND_BY_EXT = {"bpmn": "bpmn", "dmn": "dmn", "json": "form"}
MAX_FILE_BYTES = 2 * 1024 * 1024
_NAME = re.compile(r"^[\w\-.() ]{1,200}$")  # \w is Unicode: Chinese file names are fine
_PROCESS_ID = re.compile(r"^[A-Za-z_][\w\-.]{0,99}$")


@dataclass
class WorkspaceFile:
    name: str
    kind: str
    text: str
    draft: bool = False
    updated_by: str | None = None
    updated_at: datetime | None = None


@dataclass
class Workspace:
    process_id: str
    model: ProcessModel | None
    version: ProcessVersion | None
    files: dict[str, WorkspaceFile] = field(default_factory=dict)
    main: str | None = None
    removed: list[str] = field(default_factory=list)

    @property
    def hasdraft_rows(self) -> bool:
        return bool(self.removed) or any(f.draft for f in self.files.values())

    def by_kind(self, kind: str) -> list[WorkspaceFile]:
        return sorted((f for f in self.files.values() if f.kind == kind), key=lambda f: (f.name != self.main, f.name))

    def get(self, name: str) -> WorkspaceFile:
        found = self.files.get(name)
        if found is None:
            raise NotFound(f"工作区中没有文件「{name}」")
        return found

    def sources(self) -> deploy.Sources:
        if self.main is None:
            raise ValidationFailed("工作区中没有流程图（.bpmn）文件")
        return deploy.Sources(
            bpmn_filename=self.main,
            bpmn=self.files[self.main].text,
            dmn={f.name: f.text for f in self.by_kind("dmn")},
            forms={f.name: f.text for f in self.by_kind("form")},
            extra_bpmn={f.name: f.text for f in self.by_kind("bpmn") if f.name != self.main},
        )

    def decision_ids(self) -> list[str]:
        ids = []
        for f in self.by_kind("dmn"):
            root = _parse_or_none(f.text)
            if root is not None:
                ids += [d.get("id") for d in root if etree.QName(d).localname == "decision" and d.get("id")]
        return ids


# ---------------------------------------------------------------------------------------------
# names, kinds, parsing


def kind_of(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = KIND_BY_EXT.get(ext)
    if kind is None:
        raise ValidationFailed(f"不支持的文件类型「{filename}」：只能上传 .bpmn、.dmn 或 .json 文件")
    return kind


def check_filename(name: str) -> str:
    name = (name or "").strip()
    if not name or "/" in name or "\\" in name or name.startswith(".") or not _NAME.match(name):
        raise ValidationFailed(f"文件名「{name}」无效：只能包含文字、数字、下划线、点、横线和括号")
    kind_of(name)
    return name


_JSON_ERRORS = {
    "Expecting value": "缺少值",
    "Expecting property name enclosed in double quotes": "属性名必须用双引号括起",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Extra data": "末尾有多余的内容",
    "Unterminated string starting at": "字符串没有结束",
    "Invalid control character at": "含有非法控制字符",
}


def json_error(exc: json.JSONDecodeError) -> str:
    """A JSON syntax error in Chinese, with its line and column."""
    return f"第 {exc.lineno} 行第 {exc.colno} 列{_JSON_ERRORS.get(exc.msg, exc.msg)}"


def _hardened() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _parse_or_none(text: str) -> etree._Element | None:
    try:
        return etree.fromstring(text.encode("utf-8"), _hardened())
    except (etree.XMLSyntaxError, ValueError):
        return None


def parse_xml(filename: str, text: str) -> etree._Element:
    """Parse an uploaded XML file or refuse it with the line of the first error."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _hardened())
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed(f"文件「{filename}」不是有效的 XML（第 {exc.lineno or '?'} 行）：{exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise ValidationFailed(f"文件「{filename}」含有 DOCTYPE 声明，出于安全原因不予接受")
    return root


def decode_upload(filename: str, data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(f"文件「{filename}」超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
    if not data.strip():
        raise ValidationFailed(f"文件「{filename}」是空文件")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"文件「{filename}」不是 UTF-8 编码的文本") from exc


def check_content(filename: str, kind: str, text: str) -> None:
    """Refuse an upload that is not even well-formed (drafts saved from the editors may be)."""
    if kind == "form":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"文件「{filename}」不是有效的 JSON：{json_error(exc)}") from exc
        return
    root = parse_xml(filename, text)
    namespace = etree.QName(root).namespace or ""
    if kind == "bpmn" and namespace != deploy.BPMN_NS:
        raise ValidationFailed(f"文件「{filename}」不是 BPMN 2.0 文件（根元素应为 bpmn:definitions）")
    if kind == "dmn" and "DMN" not in namespace.upper():
        raise ValidationFailed(f"文件「{filename}」不是 DMN 文件")


def bpmn_process_id(filename: str, text: str) -> str:
    try:
        meta = deploy.process_metadata(text)
    except SpecInvalid as exc:
        raise ValidationFailed(f"文件「{filename}」中没有流程（bpmn:process）") from exc
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed(f"文件「{filename}」不是有效的 XML：{exc.msg}") from exc
    pid = meta.get("process_id") or ""
    if not _PROCESS_ID.match(pid):
        raise ValidationFailed(f"流程 id「{pid}」无效：需以字母或下划线开头，只含字母、数字、下划线、点和横线")
    return pid


# ---------------------------------------------------------------------------------------------
# loading


def get_model(process_id: str) -> ProcessModel | None:
    return db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id))


def draft_rows(process_id: str) -> list[ProcessDraft]:
    return list(
        db.session.scalars(select(ProcessDraft).where(ProcessDraft.process_id == process_id).order_by(ProcessDraft.id))
    )


def load(process_id: str) -> Workspace:
    """The workspace of a process; NotFound when there is neither a deployed version nor a draft."""
    model = get_model(process_id)
    version = model.current_version if model is not None else None
    drafts = draft_rows(process_id)
    if version is None and not drafts:
        raise NotFound(f"流程「{process_id}」不存在")
    ws = Workspace(process_id=process_id, model=model, version=version)
    if version is not None:
        src = deploy.version_sources(version)
        ws.files[src.bpmn_filename] = WorkspaceFile(src.bpmn_filename, "bpmn", src.bpmn)
        for kind, files in (("bpmn", src.extra_bpmn), ("dmn", src.dmn), ("form", src.forms)):
            for name, text in files.items():
                ws.files[name] = WorkspaceFile(name, kind, text)
        ws.main = src.bpmn_filename
    names = {d.updated_by_id for d in drafts if d.updated_by_id}
    people = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(names)))} if names else {}
    for d in drafts:
        if d.deleted:
            if d.filename in ws.files:
                ws.removed.append(d.filename)
            ws.files.pop(d.filename, None)
            continue
        ws.files[d.filename] = WorkspaceFile(
            d.filename, d.kind, d.text, draft=True, updated_by=people.get(d.updated_by_id), updated_at=d.updated_at
        )
    if ws.main not in ws.files:
        ws.main = _find_main(ws)
    return ws


def _find_main(ws: Workspace) -> str | None:
    bpmn = sorted(f.name for f in ws.files.values() if f.kind == "bpmn")
    for name in bpmn:
        root = _parse_or_none(ws.files[name].text)
        if root is not None and any(p.get("id") == ws.process_id for p in root.iter(f"{{{deploy.BPMN_NS}}}process")):
            return name
    return bpmn[0] if bpmn else None


# ---------------------------------------------------------------------------------------------
# changing drafts


def upsert_draft(process_id: str, filename: str, kind: str, text: str, actor, *, deleted: bool = False) -> ProcessDraft:
    draft = db.session.scalar(
        select(ProcessDraft).where(ProcessDraft.process_id == process_id, ProcessDraft.filename == filename)
    )
    if draft is None:
        draft = ProcessDraft(process_id=process_id, filename=filename, kind=kind)
        db.session.add(draft)
    draft.kind, draft.text, draft.deleted = kind, text, deleted
    draft.updated_by_id, draft.updated_at = getattr(actor, "id", None), utcnow()
    db.session.flush()
    return draft


def save_file(ws: Workspace, filename: str, text: str, actor, *, allow_loss: bool = False) -> ProcessDraft:
    """Store the editor's text as a draft (even if it does not validate yet).

    A BPMN text that no longer draws elements the stored file draws (bpmn-js drops shapes it cannot
    place) is refused with a Conflict naming them, unless the person confirmed (``allow_loss``).
    """
    filename = check_filename(filename)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ValidationFailed(f"文件「{filename}」超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
    kind = kind_of(filename)
    previous = ws.files.get(filename)
    if kind == "bpmn" and previous is not None and not allow_loss:
        lost = layout.lost_shapes(previous.text, text)
        if lost:
            shown = "、".join(lost[:8]) + ("等" if len(lost) > 8 else "")
            raise Conflict(
                f"编辑器导出的文件丢失了 {len(lost)} 个元素的图形信息（{shown}），已保留原文件未保存。"
                "校验和部署使用原文件；如确认要丢弃这些图形，请再次保存并确认。",
                errors={"lost": shown},
            )
    return upsert_draft(ws.process_id, filename, kind, text, actor)


def new_file(ws: Workspace, filename: str, actor) -> ProcessDraft:
    """A new form or decision table from a skeleton."""
    filename = check_filename(filename)
    if filename in ws.files:
        raise Conflict(f"工作区中已有文件「{filename}」")
    kind = kind_of(filename)
    if kind == "bpmn":
        raise ValidationFailed("新建流程图请上传 .bpmn 文件，或在流程列表页上传")
    return upsert_draft(ws.process_id, filename, kind, skeleton(filename, kind), actor)


def skeleton(filename: str, kind: str) -> str:
    if kind == "form":
        if filename.endswith(".uischema.json"):
            return json.dumps({"ui:order": []}, ensure_ascii=False, indent=2)
        return json.dumps(
            {"title": "新表单", "type": "object", "required": [], "properties": {}}, ensure_ascii=False, indent=2
        )
    decision = re.sub(r"\W", "_", filename.rsplit(".", 1)[0]) or "decision"
    if decision[0].isdigit():
        decision = f"d_{decision}"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_{decision}" name="{decision}" \
namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="{decision}" name="{decision}">
    <decisionTable id="DecisionTable_{decision}" hitPolicy="FIRST">
      <input id="Input_1" label="输入">
        <inputExpression id="InputExpression_1" typeRef="string"><text>value</text></inputExpression>
      </input>
      <output id="Output_1" label="结果" name="result" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="UnaryTests_1"><text>-</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>"ok"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def delete_file(ws: Workspace, filename: str, actor) -> None:
    found = ws.get(filename)
    if found.name == ws.main:
        raise Conflict("不能删除主流程图；如需替换请上传新的流程图")
    in_version = ws.version is not None and filename in _version_files(ws.version)
    if in_version:
        upsert_draft(ws.process_id, filename, found.kind, "", actor, deleted=True)
    else:
        db.session.execute(
            delete(ProcessDraft).where(ProcessDraft.process_id == ws.process_id, ProcessDraft.filename == filename)
        )
        db.session.flush()


def _version_files(version: ProcessVersion) -> set[str]:
    return {version.bpmn_filename, *(version.dmn or {}), *(version.forms or {}), *(version.extra_bpmn or {})}


def discard(ws: Workspace, actor) -> int:
    """Throw the drafts away: the workspace is the current version again (or nothing)."""
    result = db.session.execute(delete(ProcessDraft).where(ProcessDraft.process_id == ws.process_id))
    db.session.flush()
    audit.record("process.draft_discard", actor=actor, object_type="process", object_id=ws.process_id)
    return result.rowcount or 0


def prepare_upload(filename: str, data: bytes) -> tuple[str, str, str, str | None]:
    """Checked name, kind and text of an uploaded file, and a layout note for BPMN without a diagram."""
    filename = check_filename(filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    kind = kind_of(filename)
    text = decode_upload(filename, data)
    check_content(filename, kind, text)
    note = None
    if kind == "bpmn":
        text, note = layout.ensure_layout(text)
    return filename, kind, text, note


def upload_into(ws: Workspace, filename: str, data: bytes, actor) -> tuple[str, str | None]:
    """Add or replace a file of the workspace; a BPMN of this process replaces the main diagram."""
    filename, kind, text, note = prepare_upload(filename, data)
    if kind == "bpmn":
        root = _parse_or_none(text)
        ids = {p.get("id") for p in root.iter(f"{{{deploy.BPMN_NS}}}process")} if root is not None else set()
        if ws.process_id in ids and ws.main:
            filename = ws.main
    upsert_draft(ws.process_id, filename, kind, text, actor)
    audit.record(
        "process.upload", actor=actor, object_type="process", object_id=ws.process_id, detail={"file": filename}
    )
    return filename, note


# ---------------------------------------------------------------------------------------------
# validating and deploying


def problem_dict(p: SpecProblem) -> dict:
    return {"file": p.file, "element_id": p.element_id, "line": p.line, "message": p.message, "severity": p.severity}


def validate(ws: Workspace) -> dict:
    """Every problem of the workspace (XML, XSD, semantics, lint), and diagram-layout notes per BPMN file."""
    problems = [problem_dict(p) for p in deploy.validate_sources(ws.sources())]
    problems += _identity_problems(ws)
    notes = {}
    for f in ws.by_kind("bpmn"):
        note = layout.di_report(f.text)
        if note:
            notes[f.name] = note
    errors = sum(1 for p in problems if p["severity"] == "error")
    return {"ok": errors == 0, "errors": errors, "problems": problems, "layout": notes}


def _identity_problems(ws: Workspace) -> list[dict]:
    main = ws.files[ws.main]
    root = _parse_or_none(main.text)
    if root is None:
        return []
    ids = [p.get("id") for p in root.iter(f"{{{deploy.BPMN_NS}}}process")]
    if ids and ws.process_id not in ids:
        message = f"流程图中的流程 id 为「{ids[0]}」，与本流程「{ws.process_id}」不一致，请改回或作为新流程上传"
        return [problem_dict(SpecProblem(main.name, ids[0], None, message))]
    return []


def deploy_workspace(ws: Workspace, actor, comment: str | None = None) -> ProcessVersion:
    """Validate the workspace and store it as a new version; the drafts are dropped."""
    src = ws.sources()
    problems = [SpecProblem(**p) for p in _identity_problems(ws)]
    if problems:
        raise SpecInvalid(problems)
    previous = ws.model.current_version_id if ws.model is not None else None
    version = deploy.deploy(src, actor=actor, comment=(comment or "").strip()[:300] or "在线编辑部署")
    if version.id == previous:
        raise Conflict(f"工作区内容与当前版本（第 {version.version} 版）相同，无需部署")
    db.session.execute(delete(ProcessDraft).where(ProcessDraft.process_id == ws.process_id))
    audit.record(
        "process.deploy",
        actor=actor,
        object_type="process",
        object_id=ws.process_id,
        detail={"version": version.version, "hash": version.content_hash, "comment": version.comment},
    )
    db.session.flush()
    return version


def get_version(model: ProcessModel, number: int) -> ProcessVersion:
    version = db.session.scalar(
        select(ProcessVersion).where(ProcessVersion.model_id == model.id, ProcessVersion.version == number)
    )
    if version is None:
        raise NotFound(f"流程「{model.name}」没有第 {number} 版")
    return version


def rollback(model: ProcessModel, number: int, actor) -> ProcessVersion:
    """Deploy an older version's sources as the newest version."""
    old = get_version(model, number)
    if model.current_version_id == old.id:
        raise Conflict(f"第 {number} 版已是当前版本，无需回滚")
    version = deploy.deploy(deploy.version_sources(old), actor=actor, comment=f"回滚到第 {number} 版", force=True)
    audit.record(
        "process.rollback",
        actor=actor,
        object_type="process",
        object_id=model.process_id,
        detail={"from_version": number, "version": version.version},
    )
    return version


def set_enabled(model: ProcessModel, enabled: bool, actor) -> None:
    model.enabled = enabled
    audit.record(
        "process.enable" if enabled else "process.disable",
        actor=actor,
        object_type="process",
        object_id=model.process_id,
    )
    db.session.flush()
