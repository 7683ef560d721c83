"""Process administration in the browser (P-ADMIN) through HTTP: models, drafts, validation, deploy,
compare, rollback, dry runs, instances (scope, masking, suspend/resume/terminate, retry, move, migrate),
the heatmap. Files from other modelers (MIWG) are in test_process_interop.py."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.engine import deploy, runtime
from app.engine.models import Incident, InstanceEvent, ProcessInstance, ProcessModel, ProcessVersion
from app.extensions import db
from app.inbox import actions
from app.inbox.models import HumanTask
from app.processes.models import ProcessDraft
from tests.conftest import DATA, TEST_PASSWORD, deploy_test_process, page_text, user

DEMO_BPMN = (DATA / "workflows" / "approval_demo.bpmn").read_text(encoding="utf-8")
JSON_HEADERS = {"Accept": "application/json"}

CALC_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_pa_calc" targetNamespace="x">
<bpmn:process id="pa_calc" name="计算核对" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="lane_officer" name="district_officer">
    <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>calc</bpmn:flowNodeRef>
    <bpmn:flowNodeRef>confirm</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
  <bpmn:scriptTask id="calc" name="计算比例"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    <bpmn:script>ratio = 100 / divisor</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="confirm" />
  <bpmn:userTask id="confirm" name="确认结果">
    <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="end" />
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
</bpmn:process>
</bpmn:definitions>
"""

OVERLAP_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_overlap" name="重叠" namespace="x">
  <decision id="demo_priority" name="优先级">
    <decisionTable id="Table_overlap" hitPolicy="UNIQUE">
      <input id="in_amount" label="金额">
        <inputExpression id="ie" typeRef="integer"><text>amount</text></inputExpression></input>
      <output id="out_priority" label="优先级" name="priority" typeRef="string" />
      <rule id="rule_big"><inputEntry id="e1"><text>&gt;= 100</text></inputEntry>
        <outputEntry id="o1"><text>"high"</text></outputEntry></rule>
      <rule id="rule_mid"><inputEntry id="e2"><text>&gt;= 50</text></inputEntry>
        <outputEntry id="o2"><text>"normal"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def demo(app):
    with app.app_context():
        deploy_test_process("approval_demo")


@pytest.fixture
def admin(login_as):
    return login_as("procadmin")


def save(client, pid: str, name: str, text: str):
    resp = client.post(f"/admin/processes/{pid}/files/{name}", json={"text": text}, headers=JSON_HEADERS)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def validate(client, pid: str) -> dict:
    resp = client.post(f"/admin/processes/{pid}/validate", json={}, headers=JSON_HEADERS)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def deploy_json(client, pid: str, comment: str = ""):
    return client.post(f"/admin/processes/{pid}/deploy", json={"comment": comment}, headers=JSON_HEADERS)


def deploy_calc(app):
    with app.app_context():
        deploy.deploy(deploy.Sources("pa_calc.bpmn", CALC_BPMN, {}, {}, {}))
        db.session.commit()


def start_demo(app, login="hp_officer", data=None, *, fill: dict | None = None) -> int:
    """Start approval_demo as `login`; with `fill`, complete the first step with that form data."""
    with app.app_context():
        actor = user(login)
        instance = actions.start("approval_demo", actor=actor, data=data or {})
        if fill is not None:
            row = db.session.scalar(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open")
            )
            actions.complete(row, actor, action="complete", form_data=fill)
        db.session.commit()
        return instance.id


FILL = {"subject": "仓库检查", "amount": 20000, "category": "a"}


def open_steps(app, instance_id: int) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(HumanTask.step).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
            )
        )


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def problems_of(result: dict, severity: str = "error") -> list[dict]:
    return [p for p in result["problems"] if p["severity"] == severity]


# ---------------------------------------------------------------------------------------------
# permission


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/admin/processes/"),
        ("get", "/admin/processes/approval_demo"),
        ("get", "/admin/processes/approval_demo/edit"),
        ("post", "/admin/processes/approval_demo/validate"),
        ("post", "/admin/processes/approval_demo/deploy"),
        ("get", "/admin/processes/approval_demo/dryrun"),
        ("get", "/admin/processes/instances"),
        ("get", "/admin/processes/instances/1"),
        ("post", "/admin/processes/instances/1/terminate"),
        ("get", "/admin/processes/approval_demo/heatmap"),
    ],
)
def test_non_admins_are_refused(demo, login_as, method, path):
    for login in ("hp_officer", "leader", "admin"):
        resp = getattr(login_as(login), method)(path)
        assert resp.status_code == 403, (login, path)
        assert "没有权限" in page_text(resp)


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/admin/processes/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_nav_shows_process_admin_to_admins_only(login_as):
    assert "/admin/processes/" in page_text(login_as("procadmin").get("/"))
    assert "/admin/processes/" not in page_text(login_as("hp_officer").get("/"))


# ---------------------------------------------------------------------------------------------
# the model list, unknown ids, uploads


def test_list_shows_versions_status_deployer_and_instance_counts(app, demo, admin):
    start_demo(app)
    start_demo(app, "xh_officer")
    page = page_text(admin.get("/admin/processes/"))
    assert "测试审批" in page and "approval_demo" in page and "第 1 版" in page
    assert "启用" in page and "进行中 2" in page and "系统" in page
    # A new version deployed in the browser names its deployer.
    save(admin, "approval_demo", "approval_demo.bpmn", DEMO_BPMN.replace('name="大队审核"', 'name="大队审查"'))
    assert deploy_json(admin, "approval_demo").status_code == 200
    detail = page_text(admin.get("/admin/processes/approval_demo"))
    assert 'data-version="2"' in detail and "流程管理员" in detail and "当前" in detail
    assert re.search(r'data-version="1".*?进行中 2', detail)


def test_unknown_process_id_is_404_in_chinese(admin):
    for path in ("/admin/processes/nope", "/admin/processes/nope/edit", "/admin/processes/nope/dryrun"):
        resp = admin.get(path)
        assert resp.status_code == 404 and "流程「nope」不存在" in page_text(resp)
    resp = admin.post("/admin/processes/nope/validate", headers=JSON_HEADERS)
    assert resp.status_code == 404 and resp.get_json()["message"] == "流程「nope」不存在"
    resp = admin.get("/admin/processes/nope/compare?a=1&b=2")
    assert resp.status_code == 404 and "尚未部署" in page_text(resp)


def test_bad_uploads_are_refused_with_line_numbers(admin):
    bad = io.BytesIO(
        b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<bpmn:process id="p">\n</bpmn:definitions>'
    )
    resp = admin.post("/admin/processes/upload", data={"file": (bad, "broken.bpmn")})
    assert resp.status_code == 422
    assert "不是有效的 XML（第 4 行）" in page_text(resp)
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(b"hello"), "notes.txt")})
    assert resp.status_code == 422 and "不支持的文件类型" in page_text(resp)
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(xxe), "x.bpmn")})
    assert resp.status_code == 422 and "DOCTYPE" in page_text(resp)
    resp = admin.post("/admin/processes/upload", data={})
    assert resp.status_code == 422 and "请选择要上传的 .bpmn 文件" in page_text(resp)


def test_upload_new_process_keeps_drafts_until_discarded(app, admin):
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(CALC_BPMN.encode()), "pa_calc.bpmn")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/processes/pa_calc/edit")
    with app.app_context():
        draft = db.session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == "pa_calc"))
        assert draft.kind == "bpmn" and draft.updated_by_id == user("procadmin").id
        assert "BPMNDiagram_ducha_autolayout" in draft.text  # uploaded without a diagram: laid out
    listing = page_text(admin.get("/admin/processes/"))
    assert "pa_calc" in listing and "草稿" in listing and "未部署" in listing
    editor = page_text(admin.get("/admin/processes/pa_calc/edit"))
    assert "自动排布" in editor and "pa_calc.bpmn" in editor
    assert validate(admin, "pa_calc")["ok"] is True
    resp = admin.post("/admin/processes/pa_calc/discard")
    assert resp.status_code == 302
    assert admin.get("/admin/processes/pa_calc/edit").status_code == 404
    assert "process.upload" in audit_actions(app) and "process.draft_discard" in audit_actions(app)


# ---------------------------------------------------------------------------------------------
# editing, validating, deploying


def test_editor_pages_for_bpmn_dmn_and_forms(demo, admin):
    page = admin.get("/admin/processes/approval_demo/edit").get_data(as_text=True)
    assert 'id="canvas"' in page and "dist/modeler.js" in page and 'id="side-panel"' in page
    assert "dist/diagram.js" not in page  # one bpmn-js bundle per page
    assert "没有图形布局" in page  # the deployed file has no BPMNDI: the editor says it lays it out
    config = json.loads(re.search(r'data-config="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert config["decisions"] == [{"id": "demo_priority", "name": "优先级", "file": "demo_priority.dmn"}]
    form_files = {f["file"]: f for f in config["forms"]}
    assert ["subject", "事项"] in form_files["demo_fill.schema.json"]["fields"]  # field permissions by title
    assert {"id": "approval_demo", "name": "测试审批"} in config["processes"]
    assert any(u["login"] == "hp_officer" and not u["name"].isascii() for u in config["users"])
    assert {"code": "district_leader", "name": "大队领导"} in config["roles"]
    laid_out = admin.get(config["urls"]["load"]).get_data(as_text=True)
    assert "BPMNShape" in laid_out and 'bpmnElement="review"' in laid_out
    dmn = admin.get("/admin/processes/approval_demo/edit?file=demo_priority.dmn").get_data(as_text=True)
    assert "dist/dmn.js" in dmn and 'id="dmn-canvas"' in dmn
    form = admin.get("/admin/processes/approval_demo/edit?file=demo_fill.schema.json").get_data(as_text=True)
    assert "dist/form-editor.js" in form and 'hx-post="/admin/processes/approval_demo/form-preview"' in form
    assert "<script>" not in page + dmn + form  # CSP: no inline scripts
    assert admin.get("/admin/processes/approval_demo/edit?file=nope.json").status_code == 404


def test_save_validate_deploy_and_drafts_are_dropped(app, demo, admin):
    changed = DEMO_BPMN.replace('name="大队审核"', 'name="大队审查"')
    resp = save(admin, "approval_demo", "approval_demo.bpmn", changed)
    assert resp.get_json()["ok"] is True
    assert "1 个文件" in page_text(admin.get("/admin/processes/"))
    result = validate(admin, "approval_demo")
    assert result["ok"] is True and result["errors"] == 0
    resp = deploy_json(admin, "approval_demo", "改名")
    body = resp.get_json()
    assert resp.status_code == 200 and body["version"] == 2 and "第 2 版" in body["message"]
    with app.app_context():
        model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == "approval_demo"))
        assert model.current_version.version == 2 and 'name="大队审查"' in model.current_version.bpmn
        assert model.current_version.comment == "改名"
        assert db.session.scalar(select(func.count()).select_from(ProcessDraft)) == 0
    assert "process.deploy" in audit_actions(app)
    # Deploying an unchanged workspace makes no version.
    resp = deploy_json(admin, "approval_demo")
    assert resp.status_code == 409 and "相同" in resp.get_json()["message"]


@pytest.mark.parametrize(
    "case,element,message",
    [
        ("script", "escalate", "语法错误"),
        ("timer", "sign_timeout", '字面量需加引号，如 "PT1H"'),
        ("form", "fill", "用户任务引用的表单文件「missing.schema.json」不存在"),
        ("dmn", "rule_mid", "可能同时命中"),
        ("xml", None, "XML 格式错误"),
        ("juel", "f_ok", "JUEL 写法"),
    ],
)
def test_validation_refusals_name_the_element_in_chinese(app, demo, admin, case, element, message):
    text = DEMO_BPMN
    if case == "script":
        text = text.replace("escalated = True", "escalated = = True")
    elif case == "timer":
        text = text.replace('"PT1H"', "PT1H")
    elif case == "form":
        text = text.replace('value="demo_fill.schema.json"', 'value="missing.schema.json"')
    elif case == "xml":
        text = text.replace("</bpmn:process>", "")
    elif case == "juel":
        text = text.replace("approved == True", "${approved}")
    if case == "dmn":
        save(admin, "approval_demo", "demo_priority.dmn", OVERLAP_DMN)
    else:
        save(admin, "approval_demo", "approval_demo.bpmn", text)
    result = validate(admin, "approval_demo")
    errors = problems_of(result)
    assert result["ok"] is False and errors
    hit = [p for p in errors if message in p["message"]]
    assert hit, errors
    if element:
        assert hit[0]["element_id"] == element
    if case == "script":
        assert "第 1 行" in hit[0]["message"] and hit[0]["line"]
    # Deploying refuses the same problems (422) and nothing is stored.
    resp = deploy_json(admin, "approval_demo")
    assert resp.status_code == 422
    assert any(message in p["message"] for p in resp.get_json()["problems"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_process_id_change_is_refused(demo, admin):
    save(admin, "approval_demo", "approval_demo.bpmn", DEMO_BPMN.replace('id="approval_demo"', 'id="other_demo"'))
    errors = problems_of(validate(admin, "approval_demo"))
    assert any("与本流程「approval_demo」不一致" in p["message"] and p["element_id"] == "other_demo" for p in errors)
    assert deploy_json(admin, "approval_demo").status_code == 422


def test_files_new_upload_delete_and_download(app, demo, admin):
    resp = admin.post("/admin/processes/approval_demo/files", data={"new_name": "extra.schema.json"})
    assert resp.status_code == 302 and "file=extra.schema.json" in resp.headers["Location"]
    assert (
        json.loads(admin.get("/admin/processes/approval_demo/files/extra.schema.json").get_data())["type"] == "object"
    )
    resp = admin.post("/admin/processes/approval_demo/files", data={"new_name": "../evil.json"})
    assert resp.status_code == 422 and "文件名「../evil.json」无效" in page_text(resp)
    resp = admin.post(
        "/admin/processes/approval_demo/files",
        data={"files": [(io.BytesIO(b'{"title": "x", "type": "object", "properties": {}}'), "more.schema.json")]},
    )
    assert resp.status_code == 302
    resp = admin.post(
        "/admin/processes/approval_demo/files", data={"files": [(io.BytesIO(b"{not json"), "bad.schema.json")]}
    )
    assert resp.status_code == 422 and "不是有效的 JSON" in page_text(resp)
    download = admin.get("/admin/processes/approval_demo/files/demo_fill.schema.json?download=1")
    assert "attachment" in download.headers["Content-Disposition"] and b"subject" in download.data
    # Removing a file of the deployed version is a draft too; the main diagram cannot be removed.
    assert admin.post("/admin/processes/approval_demo/files/demo_review.schema.json/delete").status_code == 302
    errors = problems_of(validate(admin, "approval_demo"))
    assert any("demo_review.schema.json" in p["message"] and p["element_id"] == "review" for p in errors)
    resp = admin.post("/admin/processes/approval_demo/files/approval_demo.bpmn/delete")
    assert resp.status_code == 409 and "不能删除主流程图" in page_text(resp)
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/admin/processes/approval_demo/versions/1/download").data))
    assert set(archive.namelist()) >= {
        "workflows/approval_demo.bpmn",
        "rules/demo_priority.dmn",
        "forms/demo_fill.schema.json",
    }
    assert admin.get("/admin/processes/approval_demo/versions/9/download").status_code == 404


def test_form_preview_renders_like_the_inbox(demo, admin):
    schema = json.loads((DATA / "forms" / "demo_fill.schema.json").read_text(encoding="utf-8"))
    schema["properties"]["reporter_phone"] = {"type": "string", "title": "举报人电话"}
    resp = admin.post(
        "/admin/processes/approval_demo/form-preview",
        data={"file": "demo_fill.schema.json", "text": json.dumps(schema, ensure_ascii=False)},
        headers={"HX-Request": "true"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="f-subject"' in html and "举报人电话" in html
    assert '<textarea class="form-control' in html  # "note" is a textarea by the ui schema in the workspace
    assert html.index('data-field="subject"') < html.index('data-field="category"')  # ui:order applies
    bad = admin.post(
        "/admin/processes/approval_demo/form-preview", data={"file": "demo_fill.schema.json", "text": "{oops"}
    )
    assert "JSON 格式错误" in bad.get_data(as_text=True)
    ui = admin.post(
        "/admin/processes/approval_demo/form-preview",
        data={"file": "demo_fill.uischema.json", "text": '{"ui:order": ["note", "subject"]}'},
    )
    text = ui.get_data(as_text=True)
    assert text.index('data-field="note"') < text.index('data-field="subject"')


# ---------------------------------------------------------------------------------------------
# versions: compare, rollback, enable


def _deploy_v2(admin):
    text = (
        DEMO_BPMN.replace('name="大队审核"', 'name="大队审查"')
        .replace('<spiffworkflow:property name="dueWorkingDays" value="2" />', "")
        .replace("approved == True", "approved == True and amount >= 0")
        .replace("escalated = True", "escalated = 1")
    )
    save(admin, "approval_demo", "approval_demo.bpmn", text)
    resp = deploy_json(admin, "approval_demo")
    assert resp.status_code == 200, resp.get_json()


def test_compare_versions_element_by_element(demo, admin):
    _deploy_v2(admin)
    body = admin.get("/admin/processes/approval_demo/compare?a=1&b=2", headers=JSON_HEADERS).get_json()
    assert body["added"] == [] and body["removed"] == []
    assert set(body["changed"]) == {"review", "f_ok", "escalate"}
    assert set(body["changed"]["review"]) == {"name", "property:dueWorkingDays"}
    assert body["changed"]["f_ok"] == ["condition"] and body["changed"]["escalate"] == ["script"]
    assert "diff --git a/approval_demo.bpmn b/approval_demo.bpmn" in body["text"]
    page = page_text(admin.get("/admin/processes/approval_demo/compare?a=1&b=2"))
    assert "第 1 版 → 第 2 版" in page and "名称" in page and "大队审核" in page and "大队审查" in page
    assert "属性 dueWorkingDays" in page and "条件表达式" in page and "dist/compare.js" in page
    # The draft against the current version: an added and a removed element.
    text = DEMO_BPMN.replace('<bpmn:endEvent id="end_escalated"', '<bpmn:endEvent id="end_late"').replace(
        'targetRef="end_escalated"', 'targetRef="end_late"'
    )
    save(
        admin,
        "approval_demo",
        "approval_demo.bpmn",
        text.replace("<bpmn:flowNodeRef>end_escalated", "<bpmn:flowNodeRef>end_late"),
    )
    body = admin.get("/admin/processes/approval_demo/compare?a=2&b=draft", headers=JSON_HEADERS).get_json()
    assert body["added"] == ["end_late"] and body["removed"] == ["end_escalated"]
    assert admin.get("/admin/processes/approval_demo/compare?a=1&b=7").status_code == 404
    assert admin.get("/admin/processes/approval_demo/compare?a=x&b=2").status_code == 422


def test_rollback_deploys_an_older_version_as_the_newest(app, demo, admin):
    _deploy_v2(admin)
    resp = admin.post("/admin/processes/approval_demo/versions/1/rollback", headers=JSON_HEADERS)
    assert resp.status_code == 200 and resp.get_json()["version"] == 3
    with app.app_context():
        versions = {v.version: v for v in db.session.scalars(select(ProcessVersion))}
        assert versions[3].content_hash == versions[1].content_hash and versions[3].comment == "回滚到第 1 版"
        assert versions[3].model.current_version_id == versions[3].id
    assert "process.rollback" in audit_actions(app)
    resp = admin.post("/admin/processes/approval_demo/versions/3/rollback", headers=JSON_HEADERS)
    assert resp.status_code == 409 and "已是当前版本" in resp.get_json()["message"]
    assert admin.post("/admin/processes/approval_demo/versions/8/rollback").status_code == 404


def test_disable_and_enable(app, demo, admin):
    assert admin.post("/admin/processes/approval_demo/enabled", data={"enabled": "0"}).status_code == 302
    with app.app_context():
        from app.errors import Conflict

        with pytest.raises(Conflict, match="已停用"):
            actions.start("approval_demo", actor=user("hp_officer"))
        db.session.rollback()
    assert "停用" in page_text(admin.get("/admin/processes/"))
    admin.post("/admin/processes/approval_demo/enabled", data={"enabled": "1"})
    assert start_demo(app) > 0
    assert {"process.disable", "process.enable"} <= set(audit_actions(app))


# ---------------------------------------------------------------------------------------------
# dry runs


def _counts(app) -> tuple:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(m))
            for m in (ProcessInstance, HumanTask, InstanceEvent, AuditEntry, Incident, ProcessVersion, ProcessDraft)
        )


def _token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def _task_id(html: str, step: str) -> str:
    form = re.search(rf'data-step="{step}">.*?name="task_id" value="([^"]+)"', html, re.S)
    return form.group(1)


def test_dry_run_steps_through_every_lane_in_memory(app, demo, admin):
    page = admin.get("/admin/processes/approval_demo/dryrun").get_data(as_text=True)
    assert "dist/dryrun.js" in page and "modeler" not in page
    before = _counts(app)
    url = "/admin/processes/approval_demo/dryrun"
    html = admin.post(url, data={"data": "{}"}).get_data(as_text=True)
    assert "填写申请" in html and "district_officer" in html and "大队执法人员" in html
    assert "demo_fill.schema.json" in html and "subject" in html
    html = admin.post(
        url, data={"token": _token(html), "task_id": _task_id(html, "fill"), "data": json.dumps(FILL)}
    ).get_data(as_text=True)
    assert "大队审核" in html and "district_leader" in html and '"priority": "high"' in html  # the DMN ran
    review = _task_id(html, "review")
    token = _token(html)
    html = admin.post(url, data={"token": token, "task_id": review, "data": '{"approved": true}'}).get_data(
        as_text=True
    )
    assert "总队签发" in html and "city_leader" in html and "签发超时" in html  # the boundary timer waits
    html = admin.post(url, data={"token": _token(html), "task_id": _task_id(html, "sign"), "data": "{}"}).get_data(
        as_text=True
    )
    assert 'id="dryrun-completed"' in html
    path = re.findall(r'<li data-step="([^"]+)"', html)
    assert path[:4] == ["start", "fill", "grade", "review"] and path[-2:] == ["sign", "end_done"]
    marks = json.loads(re.search(r'data-markers="([^"]+)"', html).group(1).replace("&#34;", '"'))
    assert "end_done" in marks["done"] and "f_ok" in marks["flows"]
    assert _counts(app) == before  # nothing was written
    # The same token cannot be replayed on a step that is gone, nor tampered with.
    resp = admin.post(url, data={"token": token, "task_id": "nope", "data": "{}"})
    assert resp.status_code == 409 and "已不在待办状态" in page_text(resp)
    resp = admin.post(url, data={"token": token[:-4] + "AAAA", "task_id": review, "data": "{}"})
    assert resp.status_code == 422 and "试运行状态无效" in page_text(resp)
    resp = admin.post(url, data={"data": "[1, 2]"})
    assert resp.status_code == 422 and "数据必须是 JSON 对象" in page_text(resp)


def test_dry_run_uses_the_draft_and_refuses_invalid_drafts(app, demo, admin):
    url = "/admin/processes/approval_demo/dryrun"
    html = admin.post(url, data={"data": "{}"}).get_data(as_text=True)
    save(admin, "approval_demo", "approval_demo.bpmn", DEMO_BPMN.replace('name="填写申请"', 'name="填写草稿"'))
    resp = admin.post(url, data={"token": _token(html), "task_id": _task_id(html, "fill"), "data": "{}"})
    assert resp.status_code == 409 and "草稿在试运行期间被修改" in page_text(resp)
    assert "填写草稿" in admin.post(url, data={"data": "{}"}).get_data(as_text=True)
    save(admin, "approval_demo", "approval_demo.bpmn", DEMO_BPMN.replace("escalated = True", "escalated = = 1"))
    resp = admin.post(url, data={"data": "{}"})
    assert resp.status_code == 422 and "不能试运行" in page_text(resp) and "escalate" in page_text(resp)


def test_dry_run_shows_a_failing_script_and_does_not_call_services(app, admin):
    resp = admin.post("/admin/processes/upload", data={"file": (io.BytesIO(CALC_BPMN.encode()), "pa_calc.bpmn")})
    assert resp.status_code == 302
    html = admin.post("/admin/processes/pa_calc/dryrun", data={"data": '{"divisor": 0}'}).get_data(as_text=True)
    assert 'id="dryrun-failed"' in html and "计算比例" in html and "division by zero" in html
    html = admin.post("/admin/processes/pa_calc/dryrun", data={"data": '{"divisor": 4}'}).get_data(as_text=True)
    assert "确认结果" in html and '"ratio": 25.0' in html
    from app.processes.dryrun import DryRunScriptEngine

    result = json.loads(DryRunScriptEngine().call_service(None, "clue.generate_report", {"x": {"value": 1}}))
    assert result == {"dry_run": True, "operation": "clue.generate_report", "params": {"x": 1}}


# ---------------------------------------------------------------------------------------------
# instances: list and scope


def _make_district_process_admin(app):
    from app.auth.services import create_user
    from app.orgs.models import Organisation

    with app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        create_user(
            login="hp_procadmin",
            name="黄浦流程管理员",
            org=hp,
            password=TEST_PASSWORD,
            roles=["process_admin"],
            must_change_password=False,
        )
        db.session.commit()


def test_instance_list_filters_and_scope_per_role(app, demo, admin, login_as):
    hp = start_demo(app, "hp_officer", fill=FILL)
    xh = start_demo(app, "xh_officer")
    _make_district_process_admin(app)
    ids = lambda resp: {int(i) for i in re.findall(r'data-instance="(\d+)"', resp.get_data(as_text=True))}  # noqa: E731
    assert ids(admin.get("/admin/processes/instances")) == {hp, xh}
    district = login_as("hp_procadmin")
    assert ids(district.get("/admin/processes/instances")) == {hp}
    assert district.get(f"/admin/processes/instances/{xh}").status_code == 404
    resp = district.post(f"/admin/processes/instances/{xh}/terminate", data={"reason": "越权"})
    assert resp.status_code == 404
    assert ids(admin.get("/admin/processes/instances?process=approval_demo&version=1&status=running")) == {hp, xh}
    assert ids(admin.get("/admin/processes/instances?version=2")) == set()
    with app.app_context():
        from app.orgs.models import Organisation

        xh_org = db.session.scalar(select(Organisation).where(Organisation.code == "310104")).id
    assert ids(admin.get(f"/admin/processes/instances?org_id={xh_org}")) == {xh}
    assert ids(admin.get("/admin/processes/instances?started_from=2000-01-01&started_to=2000-01-02")) == set()
    assert ids(admin.get("/admin/processes/instances?started_from=2000-01-01")) == {hp, xh}
    assert admin.get("/admin/processes/instances?started_from=昨天").status_code == 422
    # The counts on the model list follow the same scope.
    assert "进行中 1" in page_text(district.get("/admin/processes/"))


def test_instance_page_marks_steps_and_masks_personal_data(app, demo, admin):
    data = {"reporter": "张三丰", "reporter_phone": "13812345678", "id_number": "310101199001011234", "note": "x"}
    iid = start_demo(app, data=data, fill=FILL)
    page = admin.get(f"/admin/processes/instances/{iid}").get_data(as_text=True)
    assert "138****5678" in page and "310101********1234" in page and "张**" in page
    assert "13812345678" not in page and "310101199001011234" not in page and "张三丰" not in page
    marks = json.loads(re.search(r'data-markers="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert {"start", "fill", "grade"} <= set(marks["done"]) and marks["current"] == ["review"]
    assert marks["failed"] == [] and {"f1", "f2", "f3"} <= set(marks["flows"])
    assert "dist/diagram.js" in page and "/versions/1/bpmn" in page
    assert "发起" in page and "提交" in page  # history
    xml = admin.get("/admin/processes/approval_demo/versions/1/bpmn").get_data(as_text=True)
    assert "BPMNDiagram" in xml  # the viewer gets a generated layout for files without one


# ---------------------------------------------------------------------------------------------
# instances: acts


def test_suspend_resume_terminate(app, demo, admin):
    iid = start_demo(app, fill=FILL)
    url = f"/admin/processes/instances/{iid}"
    assert admin.post(f"{url}/resume").status_code == 409
    assert admin.post(f"{url}/suspend", data={"reason": "核查材料"}).status_code == 302
    with app.app_context():
        from app.errors import Conflict

        assert db.session.get(ProcessInstance, iid).status == "suspended"
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open"))
        with pytest.raises(Conflict, match="已挂起"):
            actions.complete(row, user("hp_leader"), action="approve")
        db.session.rollback()
    assert admin.post(f"{url}/suspend").status_code == 409
    assert admin.post(f"{url}/resume").status_code == 302
    resp = admin.post(f"{url}/terminate", data={"reason": " "})
    assert resp.status_code == 422 and "请填写终止原因" in page_text(resp)
    resp = admin.post(f"{url}/terminate", data={"reason": "重复立案"}, headers=JSON_HEADERS)
    assert resp.status_code == 200 and resp.get_json()["status"] == "terminated"
    assert open_steps(app, iid) == []
    assert admin.post(f"{url}/terminate", data={"reason": "再次"}).status_code == 409
    kinds = [k for k in audit_actions(app) if k.startswith("process.")]
    assert {"process.suspend", "process.resume", "process.terminate"} <= set(kinds)
    page = page_text(admin.get(url))
    assert "挂起" in page and "恢复" in page and "重复立案" in page


def test_retry_a_failed_step_after_editing_its_data(app, admin):
    deploy_calc(app)
    with app.app_context():
        instance = actions.start("pa_calc", actor=user("hp_officer"), data={"divisor": 0, "phone": "13900001111"})
        db.session.commit()
        iid = instance.id
        assert instance.status == "error"
        incident = db.session.scalar(select(Incident).where(Incident.instance_id == iid))
        assert incident.step == "calc" and "division by zero" in incident.message
        inc_id = incident.id
    page = admin.get(f"/admin/processes/instances/{iid}").get_data(as_text=True)
    marks = json.loads(re.search(r'data-markers="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert marks["failed"] == ["calc"] and "修改数据并重试" in page and "139****1111" in page
    url = f"/admin/processes/instances/{iid}/incidents/{inc_id}/retry"
    resp = admin.post(url, data={"data": "{oops"})
    assert resp.status_code == 422 and "不是有效的 JSON" in page_text(resp)
    resp = admin.post(url, data={"data": '{"divisor": 0}'}, headers=JSON_HEADERS)
    assert resp.status_code == 200 and resp.get_json()["status"] == "error"
    with app.app_context():
        incidents = db.session.scalars(select(Incident).where(Incident.instance_id == iid)).all()
        assert len(incidents) == 1 and incidents[0].attempts == 2 and incidents[0].status == "open"
    resp = admin.post(url, data={"data": '{"divisor": 5}'}, headers=JSON_HEADERS)
    assert resp.status_code == 200 and resp.get_json()["status"] == "running"
    with app.app_context():
        incident = db.session.get(Incident, inc_id)
        assert incident.status == "resolved" and incident.resolved_by_id == user("procadmin").id
        wf = runtime.load(db.session.get(ProcessInstance, iid))
        assert runtime.instance_data(wf)["ratio"] == 20.0
        assert runtime.instance_data(wf)["phone"] == "13900001111"  # masked on screen, untouched in data
    assert open_steps(app, iid) == ["confirm"]
    assert admin.post(url, data={"data": "{}"}).status_code == 409  # already handled
    assert "process.retry" in audit_actions(app)


def test_move_token_back_and_refuse_steps_not_reached(app, demo, admin):
    iid = start_demo(app, fill=FILL)
    url = f"/admin/processes/instances/{iid}/move"
    resp = admin.post(url, data={"target": "sign", "reason": "跳过审核"})
    assert resp.status_code == 409 and "步骤「总队签发」尚未到达" in page_text(resp)
    resp = admin.post(url, data={"target": "ghost", "reason": "x"})
    assert resp.status_code == 422 and "流程中没有步骤「ghost」" in page_text(resp)
    resp = admin.post(url, data={"target": "review", "reason": "x"})
    assert resp.status_code == 409 and "令牌已在步骤「大队审核」上" in page_text(resp)
    resp = admin.post(url, data={"target": "fill"})
    assert resp.status_code == 422 and "请填写移动原因" in page_text(resp)
    assert open_steps(app, iid) == ["review"]
    resp = admin.post(url, data={"target": "fill", "reason": "金额填错"})
    assert resp.status_code == 302
    assert open_steps(app, iid) == ["fill"]
    with app.app_context():
        event = db.session.scalar(
            select(InstanceEvent).where(InstanceEvent.instance_id == iid, InstanceEvent.kind == "move")
        )
        assert event.comment == "金额填错" and event.data["to"] == "fill" and event.data["from"] == ["大队审核"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "process.move"))
        assert entry.actor_login == "procadmin" and entry.detail["reason"] == "金额填错"


def test_migrate_running_instances_when_safe(app, demo, admin):
    at_review = start_demo(app, fill=FILL)
    at_fill = start_demo(app)
    _deploy_v2(admin)  # same ids: the review step is renamed only
    # Version 3 renames the id of the fill step: instances waiting there cannot move.
    v3 = DEMO_BPMN.replace('id="fill"', 'id="fill_new"').replace('targetRef="fill"', 'targetRef="fill_new"')
    v3 = v3.replace('sourceRef="fill"', 'sourceRef="fill_new"').replace(
        "<bpmn:flowNodeRef>fill<", "<bpmn:flowNodeRef>fill_new<"
    )
    save(admin, "approval_demo", "approval_demo.bpmn", v3)
    assert deploy_json(admin, "approval_demo").status_code == 200
    check = admin.post(
        "/admin/processes/approval_demo/migrate", data={"target": "3", "apply": "0"}, headers=JSON_HEADERS
    )
    results = {r["instance"]: r for r in check.get_json()["results"]}
    assert results[at_review]["ok"] is True
    assert results[at_fill]["ok"] is False and "当前所在步骤「填写申请」在第 3 版中不存在" in results[at_fill]["reason"]
    with app.app_context():  # a check changes nothing
        assert {i.version.version for i in db.session.scalars(select(ProcessInstance))} == {1}
    # One instance to version 2 by hand, then the rest in bulk to version 3.
    resp = admin.post(f"/admin/processes/instances/{at_fill}/migrate", data={"target": "2"}, headers=JSON_HEADERS)
    assert resp.status_code == 200
    resp = admin.post(f"/admin/processes/instances/{at_fill}/migrate", data={"target": "3"})
    assert resp.status_code == 409 and "在第 3 版中不存在" in page_text(resp)
    # A suspended instance migrates too and keeps its inbox rows for when it is resumed.
    assert admin.post(f"/admin/processes/instances/{at_review}/suspend").status_code == 302
    page = admin.post("/admin/processes/approval_demo/migrate", data={"target": "3", "apply": "1"})
    assert page.status_code == 200 and "已迁移到第 3 版" in page_text(page)
    assert open_steps(app, at_review) == ["review"]
    assert admin.post(f"/admin/processes/instances/{at_review}/resume").status_code == 302
    with app.app_context():
        moved = db.session.get(ProcessInstance, at_review)
        assert moved.version.version == 3 and moved.current_steps == ["大队审核"]
        assert db.session.get(ProcessInstance, at_fill).version.version == 2
        # The migrated instance runs on with the new spec: approve the review, reach the sign step.
        row = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == at_review, HumanTask.status == "open"))
        actions.complete(row, user("hp_leader"), action="approve", comment="同意")
        db.session.commit()
    assert open_steps(app, at_review) == ["sign"]
    assert "process.migrate" in audit_actions(app)
    assert admin.post(f"/admin/processes/instances/{at_review}/migrate", data={"target": "2"}).status_code == 409


def test_heatmap_counts_passed_waiting_failed_and_duration(app, demo, admin):
    start_demo(app, fill=FILL)
    start_demo(app, "xh_officer", fill=FILL)
    start_demo(app)
    with app.app_context():
        from app.processes.heatmap import step_stats

        stats = step_stats(user("procadmin"), "approval_demo")
        assert stats["fill"]["passed"] == 2 and stats["fill"]["waiting"] == 1
        assert stats["fill"]["avg_seconds"] is not None and stats["review"]["waiting"] == 2
        assert step_stats(user("hp_officer"), "approval_demo")["review"]["waiting"] == 1  # scope applies
    page = admin.get("/admin/processes/approval_demo/heatmap").get_data(as_text=True)
    assert 'data-heat="' in page and 'data-step="review"' in page and "dist/diagram.js" in page
    deploy_calc(app)
    with app.app_context():
        actions.start("pa_calc", actor=user("hp_officer"), data={"divisor": 0})
        db.session.commit()
    page = page_text(admin.get("/admin/processes/pa_calc/heatmap?scope=all"))
    assert re.search(r'data-step="calc"><td><code>calc</code></td><td>0</td><td>—</td><td>0</td><td>1</td>', page)
