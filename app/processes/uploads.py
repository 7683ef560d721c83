"""Uploading a BPMN file as a new process, or as a new version of the process it names.

A file whose process id already exists (deployed, or with drafts) is never laid over that process
silently: ``upload_new`` raises ``ProcessExists`` and the person chooses between a new version of
that process (``mode="version"``: the file becomes the workspace's draft of its main diagram) and a
new process (``mode="new"``: the process gets the new id, the references to it in the file —
``processRef``, the diagram plane — follow, and the other files of the existing process — forms,
decision tables — are copied as drafts of the new one). Services flush; the route commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from app.audit import services as audit
from app.engine import deploy
from app.errors import Conflict, ValidationFailed
from app.processes import workspace

_PROCESS_ID = re.compile(r"^[A-Za-z_][\w\-.]{0,99}$")
_RENAMED_REFS = ("processRef", "bpmnElement", "calledElement")


@dataclass
class Clash:
    """What the choice page shows: the process the file names and what exists under that id."""

    process_id: str
    name: str
    file_name: str
    text: str
    current_version: int | None
    drafts: int
    suggestion: str


class ProcessExists(Conflict):
    """The uploaded file names a process that exists: ask whether it is a new version or a new process."""

    def __init__(self, clash: Clash) -> None:
        what = f"已部署到第 {clash.current_version} 版" if clash.current_version else "已有草稿"
        super().__init__(f"文件中的流程 id「{clash.process_id}」已存在（{what}）：请选择作为它的新版本，还是作为新流程")
        self.clash = clash


def _exists(pid: str) -> tuple[int | None, int]:
    model = workspace.get_model(pid)
    version = model.current_version.version if model is not None and model.current_version else None
    return version, len(workspace.draft_rows(pid))


def suggest_id(pid: str) -> str:
    """A free process id derived from ``pid`` (``pid_2``, ``pid_3``, ...)."""
    base = re.sub(r"_\d+$", "", pid)
    n = 2
    while any(_exists(f"{base}_{n}")):
        n += 1
    return f"{base}_{n}"


def rename_process(text: str, old: str, new: str, name: str | None = None) -> str:
    """The BPMN text with process ``old`` renamed to ``new`` (and its references), optionally a new name."""
    root = workspace.parse_xml("upload.bpmn", text)
    process = next((p for p in root.iter(f"{{{deploy.BPMN_NS}}}process") if p.get("id") == old), None)
    if process is None:
        raise ValidationFailed(f"文件中没有流程「{old}」")
    process.set("id", new)
    if name:
        process.set("name", name)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in _RENAMED_REFS:
            value = el.get(attr)
            if value and (value == old or value.endswith(f":{old}")):
                el.set(attr, value[: -len(old)] + new)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _copy_companions(old: str, new: str, actor) -> None:
    """The decision tables, forms and other diagrams of the process the file came from, as drafts of the new one."""
    if not any(_exists(old)):
        return
    source = workspace.load(old)
    for f in source.files.values():
        if f.name != source.main:
            workspace.upsert_draft(new, f.name, f.kind, f.text, actor)


def upload_new(
    filename: str,
    data: bytes,
    actor,
    *,
    mode: str | None = None,
    new_id: str | None = None,
    new_name: str | None = None,
) -> tuple[str, str | None]:
    """Start a workspace from an uploaded BPMN file; returns its process id and a layout note.

    ``mode`` None refuses a file whose process exists (``ProcessExists``); ``"version"`` lays it over that
    process's workspace as a draft; ``"new"`` stores it as the new process ``new_id``.
    """
    filename, kind, text, note = workspace.prepare_upload(filename, data)
    if kind != "bpmn":
        raise ValidationFailed("新建流程请上传 .bpmn 流程图文件；决策表和表单请在流程的编辑页上传")
    pid = workspace.bpmn_process_id(filename, text)
    if mode == "new":
        new_id = (new_id or "").strip()
        if not _PROCESS_ID.match(new_id):
            raise ValidationFailed(
                f"新流程 id「{new_id}」无效：需以字母或下划线开头，只含字母、数字、下划线、点和横线",
                errors={"new_id": "流程 id 无效"},
            )
        if any(_exists(new_id)):
            raise Conflict(f"流程 id「{new_id}」已被使用，请换一个", errors={"new_id": "已被使用"})
        text = rename_process(text, pid, new_id, (new_name or "").strip() or None)
        _copy_companions(pid, new_id, actor)
        pid = new_id
    else:
        version, drafts = _exists(pid)
        if (version or drafts) and mode != "version":
            meta = deploy.process_metadata(text)
            original = workspace.decode_upload(filename, data)
            clash = Clash(pid, meta.get("name") or pid, filename, original, version, drafts, suggest_id(pid))
            raise ProcessExists(clash)
        if version or drafts:
            filename = workspace.load(pid).main or filename
    workspace.upsert_draft(pid, filename, "bpmn", text, actor)
    audit.record(
        "process.upload",
        actor=actor,
        object_type="process",
        object_id=pid,
        detail={"file": filename, "mode": mode or "new_process"},
    )
    return pid, note
