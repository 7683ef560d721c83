"""Files from other modelers through the admin HTTP routes: the 21 MIWG reference files, namespace-prefixed
references, Chinese messages with element ids, and drafts that are never replaced by a lossy re-export.

Every test reading ../shared/interop takes the ``miwg`` fixture (tests/conftest.py): it skips, printing the
reason, when the folder is missing.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.processes.models import ProcessDraft
from tests.conftest import DATA, page_text
from tests.engine.test_interop import ENGLISH
from tests.test_process_admin import JSON_HEADERS, deploy_json, problems_of, validate


@pytest.fixture
def admin(login_as):
    return login_as("procadmin")


PREFIXED = (DATA / "interop" / "prefixed_refs.bpmn").read_text(encoding="utf-8")


def _upload(admin, name: str, data: bytes) -> str:
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(data), name)})
    assert resp.status_code == 302, (name, page_text(resp))
    return resp.headers["Location"].split("/admin/processes/")[1].split("/")[0]


def _draft(app, pid: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(ProcessDraft.text).where(ProcessDraft.process_id == pid, ProcessDraft.kind == "bpmn")
        )


def _assert_chinese(name: str, result: dict, ids: set[str]) -> None:
    for problem in result["problems"]:
        assert problem["element_id"] in ids, (name, problem)
        assert re.search(r"[\u4e00-\u9fff]", problem["message"][:20]), (name, problem)
        assert not ENGLISH.search(problem["message"].split("原文：")[0]), (name, problem)
    for note in result["layout"].values():
        assert re.search(r"[\u4e00-\u9fff]", note), (name, note)


def test_all_21_miwg_files_upload_display_and_validate(app, admin, miwg: list[Path]):
    report = {}
    for path in miwg:
        for executable in (False, True):  # as drawn, and with the engine's parser running on every process
            data = path.read_bytes()
            if executable:
                data = data.replace(b'isExecutable="false"', b'isExecutable="true"')
            pid = _upload(admin, path.name, data)
            editor = admin.get(f"/admin/processes/{pid}/edit")
            assert editor.status_code == 200 and 'id="canvas"' in editor.get_data(as_text=True), path.name
            xml = admin.get(f"/admin/processes/{pid}/files/{path.name}?layout=1").get_data(as_text=True)
            assert "BPMNPlane" in xml, path.name
            result = validate(admin, pid)
            _assert_chinese(path.name, result, set(re.findall(r'\bid="([^"]+)"', data.decode("latin-1"))))
            if not result["ok"]:
                assert deploy_json(admin, pid).status_code == 422, path.name
            if not executable:
                report[path.name] = (result["ok"], len(problems_of(result)), result["layout"].get(path.name))
            assert admin.post(f"/admin/processes/{pid}/discard").status_code == 302
    # Files partly without diagram information say so in Chinese.
    assert "没有图形信息" in (report["B.1.0.bpmn"][2] or "")
    assert any("数据存储" in p["message"] for p in problems_of(_validate_file(admin, miwg, "B.2.0.bpmn")))


def _validate_file(admin, miwg: list[Path], name: str) -> dict:
    path = next(p for p in miwg if p.name == name)
    return validate(admin, _upload(admin, name, path.read_bytes()))


def test_miwg_call_activities_resolve_within_one_workspace(admin, miwg: list[Path]):
    files = {p.name: p.read_bytes() for p in miwg if p.name.startswith("C.9.")}
    pid = _upload(admin, "C.9.2.bpmn", files["C.9.2.bpmn"])
    alone = problems_of(validate(admin, pid))
    assert any("不在本次部署中" in p["message"] for p in alone)
    resp = admin.post(
        f"/admin/processes/{pid}/files",
        data={"files": [(io.BytesIO(files[n]), n) for n in ("C.9.0.bpmn", "C.9.1.bpmn")]},
    )
    assert resp.status_code == 302
    together = problems_of(validate(admin, pid))
    assert not any("不在本次部署中" in p["message"] for p in together)


def test_file_without_any_diagram_is_laid_out_on_upload(app, admin, miwg: list[Path]):
    text = next(p for p in miwg if p.name == "C.9.1.bpmn").read_text(encoding="utf-8")
    bare = re.sub(r"<(\w+:)?BPMNDiagram.*</(\w+:)?BPMNDiagram>", "", text, flags=re.S)
    assert "BPMNShape" not in bare
    pid = _upload(admin, "bare.bpmn", bare.encode())
    draft = _draft(app, pid)
    assert "BPMNDiagram_ducha_autolayout" in draft and 'bpmnElement="BoundaryEvent_1"' in draft
    result = validate(admin, pid)
    assert "自动排布" in result["layout"]["bare.bpmn"]


# ---------------------------------------------------------------------------------------------
# namespace-prefixed references (bpmnElement="bpmn2:_x", processRef="bpmn2:_x")


def test_prefixed_references_validate_and_display_without_false_errors(app, admin):
    pid = _upload(admin, "prefixed_refs.bpmn", PREFIXED.encode())
    assert pid == "prefixed_refs"
    # The stored draft is what was uploaded: no generated layout laid over the tool's own diagram.
    draft = _draft(app, pid)
    assert 'bpmnElement="bpmn2:_review"' in draft and "ducha_autolayout" not in draft
    result = validate(admin, pid)
    assert not any("不存在" in p["message"] or "bpmn2:" in p["message"] for p in result["problems"]), result
    assert result["layout"] == {}  # every element is drawn: nothing said to be missing
    editor = page_text(admin.get(f"/admin/processes/{pid}/edit"))
    assert "没有图形" not in editor and "自动排布" not in editor
    # What bpmn-js is given: bare references, the tool's own coordinates.
    shown = admin.get(f"/admin/processes/{pid}/files/prefixed_refs.bpmn?layout=1").get_data(as_text=True)
    assert 'bpmnElement="_review"' in shown and 'processRef="prefixed_refs"' in shown
    assert 'x="250" y="130"' in shown and "bpmn2:_" not in shown and "ducha_autolayout" not in shown


def test_prefixed_references_in_a_deployed_version_display_in_the_viewer(app, admin):
    pid = _upload(admin, "prefixed_refs.bpmn", PREFIXED.encode())
    resp = deploy_json(admin, pid, "外部工具")
    if resp.status_code != 200:  # a deployment may refuse it for other reasons (who acts); never for references
        assert not any("不存在" in p["message"] for p in resp.get_json()["problems"]), resp.get_json()
        return
    shown = admin.get(f"/admin/processes/{pid}/versions/1/bpmn").get_data(as_text=True)
    assert 'bpmnElement="_gw"' in shown and "bpmn2:_" not in shown


# ---------------------------------------------------------------------------------------------
# 校验 validates what was uploaded or saved: a lossy re-export never replaces the file silently


def test_lossy_reexport_is_refused_and_the_original_kept(app, admin):
    pid = _upload(admin, "prefixed_refs.bpmn", PREFIXED.encode())
    # What bpmn-js wrote for such files before references were resolved: the semantics, no shapes.
    lossy = re.sub(r"<bpmndi:BPMNShape .*?</bpmndi:BPMNShape>", "", PREFIXED, flags=re.S)
    resp = admin.post(f"/admin/processes/{pid}/files/prefixed_refs.bpmn", json={"text": lossy}, headers=JSON_HEADERS)
    assert resp.status_code == 409
    body = resp.get_json()
    assert "丢失了 6 个元素的图形信息" in body["message"] and "已保留原文件" in body["message"]
    assert "_review" in body["errors"]["lost"]
    assert _draft(app, pid) == PREFIXED  # kept
    assert validate(admin, pid)["layout"] == {}  # and 校验 sees the original
    # A change that keeps every shape saves as before.
    edited = PREFIXED.replace('name="审核"', 'name="审核（改）"')
    resp = admin.post(f"/admin/processes/{pid}/files/prefixed_refs.bpmn", json={"text": edited}, headers=JSON_HEADERS)
    assert resp.status_code == 200 and "审核（改）" in _draft(app, pid)
    # The person may confirm the loss explicitly.
    resp = admin.post(
        f"/admin/processes/{pid}/files/prefixed_refs.bpmn",
        json={"text": lossy, "allow_loss": True},
        headers=JSON_HEADERS,
    )
    assert resp.status_code == 200 and _draft(app, pid) == lossy


# ---------------------------------------------------------------------------------------------
# uploading a file whose process id exists asks: new version, or new process


def test_upload_of_an_existing_process_asks_version_or_new_process(app, admin):
    from app.engine.models import ProcessModel
    from tests.conftest import deploy_test_process

    with app.app_context():
        deploy_test_process("approval_demo")
    original = (DATA / "workflows" / "approval_demo.bpmn").read_bytes()
    changed = original.replace("大队审核".encode(), "大队初审".encode())
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(changed), "other_name.bpmn")})
    assert resp.status_code == 200  # a question, not a draft
    page = page_text(resp)
    assert "流程 id「approval_demo」已存在（已部署到第 1 版）" in page
    assert 'id="choose-version"' in page and 'id="choose-new"' in page and 'value="approval_demo_2"' in page
    assert _draft(app, "approval_demo") is None  # nothing laid over the deployed process
    assert _draft(app, "approval_demo_2") is None
    # JSON clients get the same question as a 409.
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(changed), "x.bpmn")}, headers=JSON_HEADERS)
    assert resp.status_code == 409 and resp.get_json()["choices"] == ["version", "new"]
    # The hidden copy of the file carries the choice.
    question = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(changed), "other_name.bpmn")})
    text = html.unescape(
        re.search(r'<textarea name="text" hidden>(.*?)</textarea>', question.get_data(as_text=True), re.S)[1]
    )
    assert "大队初审" in text
    # New process: a new id, the file's references follow, the deployed process is untouched.
    resp = admin.post(
        "/admin/processes/upload",
        data={
            "filename": "other_name.bpmn",
            "text": text,
            "mode": "new",
            "new_id": "approval_copy",
            "new_name": "审批副本",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/processes/approval_copy/edit")
    copy = _draft(app, "approval_copy")
    assert 'id="approval_copy"' in copy and 'name="审批副本"' in copy and "大队初审" in copy
    # The forms and decision table of the existing process came along: the copy validates as it is.
    assert validate(admin, "approval_copy")["ok"] is True
    assert _draft(app, "approval_demo") is None
    # A taken id is refused in Chinese.
    resp = admin.post(
        "/admin/processes/upload",
        data={"filename": "other_name.bpmn", "text": text, "mode": "new", "new_id": "approval_demo"},
        headers=JSON_HEADERS,
    )
    assert resp.status_code == 409 and "已被使用" in resp.get_json()["message"]
    # New version: the file becomes the draft of the process's main diagram.
    resp = admin.post("/admin/processes/upload", data={"filename": "other_name.bpmn", "text": text, "mode": "version"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/processes/approval_demo/edit")
    with app.app_context():
        draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == "approval_demo"))
        assert draft.filename == "approval_demo.bpmn" and "大队初审" in draft.text
        assert db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == "approval_copy")) is None


def test_shapes_referencing_nothing_are_named_and_a_diagram_drawing_nothing_is_laid_out(app, admin):
    ghost = PREFIXED.replace(
        "</bpmndi:BPMNPlane>",
        '<bpmndi:BPMNShape id="_ghost_di" bpmnElement="_ghost"><dc:Bounds x="0" y="0" width="10" height="10" />'
        "</bpmndi:BPMNShape></bpmndi:BPMNPlane>",
    )
    pid = _upload(admin, "prefixed_refs.bpmn", ghost.encode())
    note = validate(admin, pid)["layout"]["prefixed_refs.bpmn"]
    assert "1 个图形引用的元素不存在" in note and "_ghost" in note
    # A diagram whose every shape points at nothing would be a blank canvas: the viewer gets a layout instead.
    nothing = re.sub(r'bpmnElement="bpmn2:(_\w+)"', r'bpmnElement="gone\1"', PREFIXED)
    assert admin.post(f"/admin/processes/{pid}/discard").status_code == 302
    pid = _upload(admin, "prefixed_refs.bpmn", nothing.encode())
    assert _draft(app, pid) == nothing  # the stored file is what was uploaded
    shown = admin.get(f"/admin/processes/{pid}/files/prefixed_refs.bpmn?layout=1").get_data(as_text=True)
    assert "ducha_autolayout" in shown and 'bpmnElement="_review"' in shown and "gone_" not in shown
