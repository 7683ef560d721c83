"""Deployments: versioned process models from files or from the admin pages, and their cached specs.

A version stores its sources (BPMN, the DMN it calls, its forms), so a running instance always
finds the spec it started with, however the files change later.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from lxml import etree
from sqlalchemy import func, select

from app.engine import specs
from app.engine.errors import SpecInvalid, SpecProblem
from app.engine.models import ProcessModel, ProcessVersion
from app.extensions import db

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_CACHE = specs.SpecCache(maxsize=256)

# Process-level spiffworkflow:properties that configure the model (not the engine).
MODEL_PROPERTIES = {
    "category": "category",
    "numberRule": "number_rule",
    "titleRule": "title_rule",
    "startForm": "start_form",
}


@dataclass
class Sources:
    bpmn_filename: str
    bpmn: str
    dmn: dict[str, str]
    forms: dict[str, str]
    extra_bpmn: dict[str, str]

    def bundle(self) -> specs.ProcessBundle:
        bpmn = {self.bpmn_filename: self.bpmn.encode("utf-8")}
        bpmn.update({k: v.encode("utf-8") for k, v in self.extra_bpmn.items()})
        return specs.ProcessBundle(
            bpmn=bpmn, dmn={k: v.encode("utf-8") for k, v in self.dmn.items()}, forms=set(self.forms)
        )

    def content_hash(self) -> str:
        payload = json.dumps(
            [self.bpmn_filename, self.bpmn, self.dmn, self.forms, self.extra_bpmn], sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _config_dir(key: str) -> Path:
    return Path(current_app.config[key])


def _hardened() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def process_metadata(bpmn_text: str) -> dict:
    """Name, id and model settings of the first executable process of a BPMN text."""
    root = etree.fromstring(bpmn_text.encode("utf-8"), _hardened())
    processes = root.findall(f"{{{BPMN_NS}}}process")
    process = next((p for p in processes if p.get("isExecutable") == "true"), processes[0] if processes else None)
    if process is None:
        raise SpecInvalid([SpecProblem("", None, None, "文件中没有流程（bpmn:process）")])
    meta = {"process_id": process.get("id"), "name": process.get("name") or process.get("id")}
    for prop in process.findall(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"):
        name = prop.get("name")
        if name in MODEL_PROPERTIES:
            meta[MODEL_PROPERTIES[name]] = prop.get("value")
        elif name == "startRoles":
            meta["start_roles"] = [r.strip() for r in (prop.get("value") or "").split(",") if r.strip()]
        elif name == "summaryFields":
            meta["summary_fields"] = [r.strip() for r in (prop.get("value") or "").split(",") if r.strip()]
    return meta


def _referenced(bpmn_text: str) -> tuple[set[str], set[str], set[str]]:
    """Form files, decision ids and called process ids a BPMN text refers to."""
    forms = set(re.findall(r'name="form(?:JsonSchema|UiSchema)Filename"\s+value="([^"]+)"', bpmn_text))
    forms |= set(re.findall(r'name="startForm"\s+value="([^"]+)"', bpmn_text))
    ui = {f.replace(".schema.json", ".uischema.json") for f in forms if f.endswith(".schema.json")}
    decisions = set(re.findall(r"calledDecisionId>\s*([^<\s]+)\s*<", bpmn_text))
    called = set(re.findall(r'calledElement="([^"]+)"', bpmn_text))
    return forms | ui, decisions, called


def sources_from_files(bpmn_path: Path) -> Sources:
    """Collect a BPMN file with the DMN files, forms and called processes it refers to."""
    text = bpmn_path.read_text(encoding="utf-8")
    forms_dir, rules_dir, wf_dir = (_config_dir(k) for k in ("FORMS_DIR", "RULES_DIR", "WORKFLOWS_DIR"))
    forms: dict[str, str] = {}
    dmn: dict[str, str] = {}
    extra: dict[str, str] = {}
    pending = [text]
    while pending:
        current = pending.pop()
        form_names, decisions, called = _referenced(current)
        for name in form_names:
            path = forms_dir / name
            if path.exists():
                forms[name] = path.read_text(encoding="utf-8")
        for decision in decisions:
            path = rules_dir / f"{decision}.dmn"
            if path.exists():
                dmn[path.name] = path.read_text(encoding="utf-8")
        for pid in called:
            path = wf_dir / f"{pid}.bpmn"
            if path.exists() and path.name not in extra and path != bpmn_path:
                extra[path.name] = path.read_text(encoding="utf-8")
                pending.append(extra[path.name])
    return Sources(bpmn_filename=bpmn_path.name, bpmn=text, dmn=dmn, forms=forms, extra_bpmn=extra)


def validate_sources(src: Sources) -> list[SpecProblem]:
    from app.engine.tasklint import check_approved_field, check_deadlines, check_people

    problems = specs.validate(src.bundle())
    for name, text in [(src.bpmn_filename, src.bpmn), *src.extra_bpmn.items()]:
        problems += check_people(name, text) + check_approved_field(name, text, src.forms)
        problems += check_deadlines(name, text)
    for name, text in src.forms.items():
        try:
            json.loads(text)
        except ValueError as exc:
            problems.append(
                SpecProblem(
                    name, None, exc.lineno if hasattr(exc, "lineno") else None, f"表单文件不是有效的 JSON：{exc}"
                )
            )
    return problems


def deploy(src: Sources, *, actor=None, comment: str | None = None, force: bool = False) -> ProcessVersion:
    """Validate and store a new version (unless identical to the newest, when `force` is False)."""
    problems = [p for p in validate_sources(src) if p.severity == "error"]
    if problems:
        raise SpecInvalid(problems)
    meta = process_metadata(src.bpmn)
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == meta["process_id"]))
    if model is None:
        model = ProcessModel(process_id=meta["process_id"], name=meta["name"])
        db.session.add(model)
        db.session.flush()
    content_hash = src.content_hash()
    newest = model.current_version
    if newest is not None and newest.content_hash == content_hash and not force:
        return newest
    for key in ("name", "category", "number_rule", "title_rule", "start_form"):
        if meta.get(key):
            setattr(model, key, meta[key])
    model.start_roles = meta.get("start_roles", model.start_roles or [])
    model.summary_fields = meta.get("summary_fields", model.summary_fields or [])
    number = (
        db.session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.model_id == model.id)) or 0
    ) + 1
    version = ProcessVersion(
        model_id=model.id,
        version=number,
        bpmn=src.bpmn,
        bpmn_filename=src.bpmn_filename,
        dmn=src.dmn,
        forms=src.forms,
        extra_bpmn=src.extra_bpmn,
        content_hash=content_hash,
        comment=comment,
        deployed_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.flush()
    model.current_version = version
    db.session.flush()
    return version


def deploy_directory(*, actor=None) -> list[tuple[str, int, bool]]:
    """Deploy every BPMN file in workflows/ whose sources changed. Returns (process id, version, new?)."""
    results = []
    for path in sorted(_config_dir("WORKFLOWS_DIR").glob("*.bpmn")):
        src = sources_from_files(path)
        before = db.session.scalar(select(func.count(ProcessVersion.id)))
        version = deploy(src, actor=actor, comment=f"从文件 {path.name} 部署")
        after = db.session.scalar(select(func.count(ProcessVersion.id)))
        results.append((version.model.process_id, version.version, after > before))
    return results


@dataclass(frozen=True)
class VersionInfo:
    """An immutable, cached view of a deployed version: what the runtime needs on every act."""

    id: int
    process_id: str
    name: str
    version: int
    content_hash: str
    bpmn_filename: str
    bpmn: str
    dmn: dict
    forms: dict
    extra_bpmn: dict
    title_rule: str | None
    summary_fields: tuple
    start_form: str | None = None


# Keyed by (database URL, version id): one process may serve several apps (tests, benchmarks).
_VERSIONS: dict[tuple[str, int], VersionInfo] = {}
_VERSIONS_LOCK = threading.Lock()


def version_info(version_id: int) -> VersionInfo:
    """The version by id, read from the database once per process (versions never change)."""
    key = (db.engine.url.render_as_string(hide_password=True), version_id)
    info = _VERSIONS.get(key)
    if info is not None:
        return info
    row = db.session.get(ProcessVersion, version_id)
    if row is None:
        from app.errors import NotFound

        raise NotFound("流程版本不存在")
    meta = process_metadata(row.bpmn)
    info = VersionInfo(
        id=row.id,
        process_id=row.model.process_id,
        name=meta.get("name") or row.model.name,
        version=row.version,
        content_hash=row.content_hash,
        bpmn_filename=row.bpmn_filename,
        bpmn=row.bpmn,
        dmn=dict(row.dmn or {}),
        forms=dict(row.forms or {}),
        extra_bpmn=dict(row.extra_bpmn or {}),
        title_rule=meta.get("title_rule"),
        summary_fields=tuple(meta.get("summary_fields") or ()),
        start_form=meta.get("start_form"),
    )
    with _VERSIONS_LOCK:
        _VERSIONS[key] = info
    return info


def forget_versions() -> None:
    """Drop cached versions (tests that empty the database and reuse ids)."""
    with _VERSIONS_LOCK:
        _VERSIONS.clear()
    _INFO.clear()


def version_sources(version: ProcessVersion | VersionInfo) -> Sources:
    return Sources(
        version.bpmn_filename, version.bpmn, version.dmn or {}, version.forms or {}, version.extra_bpmn or {}
    )


def specs_for(version: ProcessVersion | VersionInfo) -> specs.Specs:
    """Parsed specs of a version, cached by content hash."""
    process_id = version.process_id
    return _CACHE.get_or_build(
        process_id, version.content_hash, lambda: specs.build(version_sources(version).bundle(), process_id)
    )


def task_info(version: ProcessVersion | VersionInfo) -> dict:
    spec, subs = specs_for(version)
    key = ("info", version.content_hash)
    cached = _INFO.get(key)
    if cached is None:
        cached = _INFO[key] = specs.user_task_info(spec, subs)
    return cached


_INFO: dict = {}


def current_version(process_id: str, *, model: ProcessModel | None = None) -> ProcessVersion:
    """The version new instances of the process start on; `model`: the process's row when the caller has
    read it already (the start page), not read again."""
    from app.errors import NotFound

    if model is None or model.process_id != process_id:
        model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id))
    if model is None or model.current_version is None:
        raise NotFound(f"流程“{process_id}”未部署")
    if not model.enabled:
        from app.errors import Conflict

        raise Conflict(f"流程“{model.name}”已停用")
    return model.current_version
