"""Parse, validate and lint BPMN/DMN bundles; build and cache process specs (no database).

A ``ProcessBundle`` is what a deployment holds: BPMN and DMN sources by file name and the names of
the available form files. ``validate`` returns every problem found (Chinese messages, element ids,
XML lines); ``build`` refuses a bundle with errors (``SpecInvalid``) and returns the top process
spec and the specs of its sub-processes/call activities.

XML is parsed with a hardened lxml parser (no entities, no network, no DTD); XSD validation uses
one ``BpmnValidator`` per thread (SpiffWorkflow's module-level ``VALIDATOR`` is shared state).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser

from app.engine import dmnlint, qnames, speclint
from app.engine.errors import EngineError, SpecInvalid, SpecProblem
from app.engine.scripting import make_script_engine

Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


@dataclass
class ProcessBundle:
    """The sources of one deployment: ``{file name: bytes}`` and the available form file names."""

    bpmn: dict[str, bytes]
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: set[str] = field(default_factory=set)

    def version_hash(self) -> str:
        """SHA-256 over file names and contents (and form names): the cache key of a version."""
        digest = hashlib.sha256()
        for kind, files in (("bpmn", self.bpmn), ("dmn", self.dmn)):
            for name in sorted(files):
                digest.update(f"{kind}\0{name}\0{len(files[name])}\0".encode())
                digest.update(files[name])
        digest.update("\0".join(sorted(self.forms)).encode())
        return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# XML loading

_local = threading.local()


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
    )


def _bpmn_validator() -> BpmnValidator:
    validator = getattr(_local, "bpmn_validator", None)
    if validator is None:
        validator = _local.bpmn_validator = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
    return validator


def _dmn_validator(namespace: str) -> BpmnValidator | None:
    cache = _local.__dict__.setdefault("dmn_validators", {})
    if namespace not in cache:
        path = DMN_SCHEMAS.get(namespace)
        cache[namespace] = BpmnValidator(path) if path else None
    return cache[namespace]


def _parse_xml(file: str, data: bytes) -> tuple[etree._Element | None, list[SpecProblem]]:
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        return None, [SpecProblem(file, None, line, f"XML 格式错误（第 {line or '?'} 行）：{exc.msg}")]
    if root.getroottree().docinfo.doctype:
        return None, [SpecProblem(file, None, 1, "不允许 DOCTYPE 声明（可能引入外部实体）")]
    qnames.resolve_refs(root)  # bpmnElement="bpmn2:_x" means the element "_x"
    return root, []


# ---------------------------------------------------------------------------------------------
# Validation


@dataclass
class _Analysis:
    parser: SpiffBpmnParser
    problems: list[SpecProblem]
    executable: list[tuple[str, etree._Element]]  # (file, process element), in bundle order
    called: set[str]


def _analyse(bundle: ProcessBundle) -> _Analysis:
    parser = SpiffBpmnParser()  # XSD validation is done here, to report every schema error
    problems: list[SpecProblem] = []  # XML, schema and lint findings
    parsed: list[SpecProblem] = []  # SpiffWorkflow parser findings
    bpmn_roots: dict[str, etree._Element] = {}
    dmn_roots: dict[str, etree._Element] = {}
    for files, roots in ((bundle.dmn, dmn_roots), (bundle.bpmn, bpmn_roots)):
        for file, data in files.items():
            root, errs = _parse_xml(file, data)
            problems += errs
            if root is not None:
                roots[file] = root

    decisions: dict[str, str] = {}
    for file, root in dmn_roots.items():
        problems += dmnlint.lint_dmn(file, root)
        for decision_id in dmnlint.decision_ids(root):
            if decision_id in decisions:
                problems.append(
                    SpecProblem(
                        file,
                        decision_id,
                        speclint.line_of(root, decision_id),
                        f"决策 id「{decision_id}」与 {decisions[decision_id]} 重复",
                    )
                )
            decisions[decision_id] = file
        validator = _dmn_validator(etree.QName(root).namespace or "")
        xsd = speclint.xsd_problems(file, root, validator, "DMN") if validator else []
        problems += xsd
        if not xsd:
            _guarded(parsed, file, root, lambda r=root, f=file: _add_dmn(parser, r, f))

    process_ids = {p.get("id") for root in bpmn_roots.values() for p in root.iter(f"{{{speclint.BPMN_NS}}}process")}
    executable: list[tuple[str, etree._Element]] = []
    called: set[str] = set()
    for file, root in bpmn_roots.items():
        problems += speclint.lint_bpmn(file, root, bundle.forms, decisions, process_ids)
        validator = _bpmn_validator()
        validator.preprocess(root)  # the same tag fix-up SpiffWorkflow applies before its XSD check
        xsd = speclint.xsd_problems(file, root, validator, "BPMN 2.0")
        problems += xsd
        if not xsd and _guarded(parsed, file, root, lambda r=root, f=file: parser.add_bpmn_xml(r, f)):
            executable += [(file, p) for p in speclint.executable_processes(root)]
        called |= {c.get("calledElement") for c in root.iter(f"{{{speclint.BPMN_NS}}}callActivity")}

    for file, process in executable:
        root = bpmn_roots[file]
        if _guarded(parsed, file, root, lambda p=process.get("id"): parser.get_subprocess_specs(p)):
            _warn_unreachable(problems, file, process, parser)
    if bpmn_roots and not executable and not any(p.severity == "error" for p in problems + parsed):
        file, root = next(iter(bpmn_roots.items()))
        problems.append(
            SpecProblem(file, speclint.fallback_id(root), None, '没有可执行的流程（请设置 isExecutable="true"）')
        )
    # The parser stops at the first error of a process, often one lint already explained better.
    linted = {(p.file, p.element_id) for p in problems if p.severity == "error"}
    dangling = {p.file for p in problems if "引用的元素" in p.message}

    def keep(p: SpecProblem) -> bool:
        if p.severity == "warning":
            return True
        consequence = p.file in dangling and p.message.startswith("顺序流指向")
        return (p.file, p.element_id) not in linted and not consequence

    merged = problems + [p for p in parsed if keep(p)]
    return _Analysis(parser, list(dict.fromkeys(merged)), executable, called)


def _add_dmn(parser: SpiffBpmnParser, root: etree._Element, file: str) -> None:
    parser.add_dmn_xml(root, filename=file)
    for dmn_parser in parser.dmn_parsers.values():
        if dmn_parser.filename == file:
            dmn_parser.parse()  # SpiffWorkflow parses DMN lazily: surface its errors now


def _guarded(problems: list[SpecProblem], file: str, root: etree._Element, action: Callable[[], Any]) -> bool:
    """Run a SpiffWorkflow parse step; turn its exceptions and warnings into problems."""
    try:
        # Not thread-safe (global warning filters); deployments are rare admin actions.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            action()
    except ValidationException as ve:
        problems.append(speclint.problem_from_ve(file, root, ve))
        return False
    except Exception as exc:  # a parser bug must not escape as a 500
        problems.append(SpecProblem(file, speclint.fallback_id(root), None, f"流程定义无法解析：{exc!r}"))
        return False
    for w in caught:
        problems.append(SpecProblem(file, speclint.fallback_id(root), None, f"引擎提示：{w.message}", "warning"))
    return True


def _warn_unreachable(problems: list[SpecProblem], file: str, process: etree._Element, parser: SpiffBpmnParser) -> None:
    parsed: set[str] = set()
    for pp in parser.process_parsers.values():
        if pp.spec is not None:
            parsed |= {getattr(ts, "bpmn_id", None) or name for name, ts in pp.spec.task_specs.items()}
    for node in speclint.flow_nodes(process):
        if node.get("id") not in parsed:
            problems.append(
                SpecProblem(file, node.get("id"), node.sourceline, "从开始事件无法到达此元素，引擎会忽略它", "warning")
            )


def validate(bundle: ProcessBundle) -> list[SpecProblem]:
    """Every problem in the bundle (errors and warnings); an empty list means deployable."""
    return _analyse(bundle).problems


def executable_process_ids(bundle: ProcessBundle) -> list[str]:
    """Ids of the executable processes, in bundle order (XML only, no validation)."""
    ids: list[str] = []
    for file, data in bundle.bpmn.items():
        root, _ = _parse_xml(file, data)
        if root is not None:
            ids += [p.get("id") for p in speclint.executable_processes(root) if p.get("id")]
    return ids


def build(bundle: ProcessBundle, process_id: str | None = None) -> Specs:
    """Validate and parse; return ``(spec, subprocess_specs)`` of ``process_id`` or the top process.

    Without ``process_id`` the top process is the first executable one that no call activity of
    the bundle calls. Raises ``SpecInvalid`` when validation finds an error.
    """
    analysis = _analyse(bundle)
    if any(p.severity == "error" for p in analysis.problems):
        raise SpecInvalid(analysis.problems)
    ids = [p.get("id") for _, p in analysis.executable]
    if process_id is None:
        top = [pid for pid in ids if pid not in analysis.called] or ids
        process_id = top[0]
    elif process_id not in ids:
        file = next(iter(bundle.bpmn), "")
        raise SpecInvalid([SpecProblem(file, process_id, None, f"部署中没有可执行的流程「{process_id}」")])
    parser = analysis.parser
    spec, subprocesses = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    roles = lane_roles([p for _, p in analysis.executable])
    for process in [spec, *subprocesses.values()]:
        _apply_lane_roles(process, roles.get(process.name, {}))
    return spec, subprocesses


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def lane_roles(processes: list[etree._Element]) -> dict[str, dict[str, str]]:
    """Per process id: lane name -> the role the lane stands for (its ``role`` property).

    Lanes of the shipped processes have Chinese names and say their role in
    ``spiffworkflow:properties``; a lane without it (files from other tools) keeps the old rule: its
    name is the role code.
    """
    out: dict[str, dict[str, str]] = {}
    for process in processes:
        found = {}
        for lane in process.iter(f"{{{speclint.BPMN_NS}}}lane"):
            path = f"{{{speclint.BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
            for prop in lane.iterfind(path):
                if prop.get("name") == "role" and (prop.get("value") or "").strip() and lane.get("name"):
                    found[lane.get("name")] = prop.get("value").strip()
        out[process.get("id")] = found
    return out


def _apply_lane_roles(process, roles: dict[str, str]) -> None:
    if not roles:
        return
    for ts in process.task_specs.values():
        lane = getattr(ts, "lane", None)
        if lane in roles:
            ts.lane = roles[lane]


# ---------------------------------------------------------------------------------------------
# Decisions without a process


@lru_cache(maxsize=256)
def _decision_engine(dmn_bytes: bytes, decision_id: str) -> DMNEngine:
    root, problems = _parse_xml("decision.dmn", dmn_bytes)
    if root is None:
        raise EngineError(problems[0].message)
    parser = SpiffBpmnParser()
    try:
        parser.add_dmn_xml(root, filename="decision.dmn")
        return parser.get_engine(decision_id, root)
    except ValidationException as ve:
        raise EngineError(speclint.problem_from_ve("decision.dmn", root, ve).message) from ve


def evaluate_decision(dmn_bytes: bytes, decision_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a DMN decision on ``inputs`` with the restricted engine, outside any process.

    Returns the output columns of the matched rule (``{}`` if none); under COLLECT each output
    is a list of the values of all matched rules.
    """
    engine = _decision_engine(bytes(dmn_bytes), decision_id)
    workflow = SimpleNamespace(
        script_engine=_shared_engine(), spec=SimpleNamespace(file="decision.dmn"), parent_workflow=None
    )
    workflow.top_workflow = workflow
    task = SimpleNamespace(
        data=dict(inputs),
        workflow=workflow,
        task_spec=SimpleNamespace(name=decision_id, bpmn_name=decision_id),
    )
    try:
        return dict(engine.result(task))
    except Exception as exc:
        raise EngineError(f"决策「{decision_id}」计算失败：{exc}") from exc


@lru_cache(maxsize=1)
def _shared_engine() -> Any:
    return make_script_engine()


# ---------------------------------------------------------------------------------------------
# Spec cache and task metadata


class SpecCache:
    """Parsed specs keyed by ``(process_id, version_hash)``; thread-safe, least recently used out."""

    def __init__(self, maxsize: int = 128) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[str, str], Specs] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, process_id: str, version_hash: str) -> Specs | None:
        with self._lock:
            item = self._items.get((process_id, version_hash))
            if item is not None:
                self._items.move_to_end((process_id, version_hash))
            return item

    def put(self, process_id: str, version_hash: str, specs: Specs) -> Specs:
        """Store ``specs`` unless another thread did first; return the stored value."""
        key = (process_id, version_hash)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            self._items[key] = specs
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
            return specs

    def get_or_build(self, process_id: str, version_hash: str, loader: Callable[[], Specs]) -> Specs:
        """The cached specs, or ``loader()`` stored (parsing runs outside the lock)."""
        cached = self.get(process_id, version_hash)
        return cached if cached is not None else self.put(process_id, version_hash, loader())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def user_task_info(
    spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec] | None = None
) -> dict[str, dict[str, Any]]:
    """Metadata of the tasks people complete (user, manual and plain tasks), by task spec name.

    ``properties`` are the ``spiffworkflow:properties`` (string values); ``form``/``ui_form`` are
    its ``formJsonSchemaFilename``/``formUiSchemaFilename``. Multi-instance children appear under
    their own spec name (``"<id> [child]"``), which is what READY tasks carry.
    """
    info: dict[str, dict[str, Any]] = {}
    for process in [spec, *(subprocess_specs or {}).values()]:
        if process is None:
            continue
        for name, ts in process.task_specs.items():
            if not getattr(ts, "manual", False):
                continue
            extensions = dict(getattr(ts, "extensions", None) or {})
            properties = dict(extensions.get("properties") or {})
            info[name] = {
                "name": ts.bpmn_name or ts.bpmn_id or name,
                "bpmn_id": ts.bpmn_id,
                "kind": type(ts).__name__,
                "lane": ts.lane,
                "form": properties.get("formJsonSchemaFilename"),
                "ui_form": properties.get("formUiSchemaFilename"),
                "properties": properties,
                "instructions": extensions.get("instructionsForEndUser"),
                "documentation": ts.documentation,
            }
    return info
