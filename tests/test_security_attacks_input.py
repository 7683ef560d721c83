"""Attacks with hostile input (issue 14): a handwritten signature that is a URL (a stored
`/clues/8?reveal=1` made a leader's browser write a false reveal audit entry), out-of-range numbers and
dates that answered a bare 500, CR/LF in `next`, deeply nested JSON, English API validation messages."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from tests import bpmn_builder
from tests.conftest import page_text
from tests.test_plan_process import _item_ids, generate, plan_setup  # noqa: F401


def _png(extra: bytes = b"") -> str:
    buf = io.BytesIO()
    Image.new("RGBA", (60, 20), (0, 0, 0, 255)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue() + extra).decode()


def _open(app, step: str) -> int:
    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.step == step, HumanTask.status == "open"))


@pytest.fixture
def signed_task(app, login_as):
    with app.app_context():
        node = ("node", "签批", {"assignee": "users:hp_leader", "signature": "true"})
        bpmn_builder.deploy_xml("sig", bpmn_builder.linear("sig", [node]))
    officer = login_as("hp_officer")
    assert officer.post("/inbox/start/sig", data={}).status_code == 302
    fill = _open(app, "fill")
    assert (
        officer.post(f"/inbox/tasks/{fill}/act", data={"action": "complete", "subject": "签名测试"}).status_code == 302
    )
    return _open(app, "node")


@pytest.mark.parametrize(
    "value",
    [
        "/clues/8?reveal=1",
        "https://evil.example/x.png",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "data:image/png;base64,not-base64!!",
        "data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode(),
        "data:image/png;base64," + "A" * (400 * 1024),
    ],
)
def test_signature_must_be_a_bounded_png(app, login_as, signed_task, value):
    resp = login_as("hp_leader").post(f"/inbox/tasks/{signed_task}/act", data={"action": "approve", "signature": value})
    assert resp.status_code == 422 and "手写签名" in page_text(resp)
    assert _open(app, "node") == signed_task


def test_signature_is_reencoded_and_only_data_uris_are_printed(app, login_as, signed_task):
    leader = login_as("hp_leader")
    sent = _png(extra=b"<script>alert(1)</script>")  # trailing bytes after IEND: a polyglot
    assert (
        leader.post(f"/inbox/tasks/{signed_task}/act", data={"action": "approve", "signature": sent}).status_code == 302
    )
    with app.app_context():
        row = db.session.get(HumanTask, signed_task)
        stored = base64.b64decode(row.signature.split(",", 1)[1])
        assert row.signature != sent and b"<script>" not in stored
        assert Image.open(io.BytesIO(stored)).size == (60, 20)
        # A URL stored before the check is never put into an <img src> of the print page.
        row.signature = "/clues/8?reveal=1"
        instance_id = row.instance_id
        db.session.commit()
    printed = leader.get(f"/inbox/instances/{instance_id}/print").get_data(as_text=True)
    assert "/clues/8?reveal=1" not in printed


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _files(app) -> list:
    from app.storage import get_storage

    with app.app_context():
        return list(get_storage().iter_keys("uploads/"))


def test_upload_name_with_nul_is_cleaned_and_downloads(app, login_as, signed_task):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL text cannot hold NUL, so such a stored name cannot exist; checked on SQLite")
    officer = login_as("hp_officer")
    with app.app_context():
        instance_id = db.session.get(HumanTask, signed_task).instance_id
    resp = officer.post(
        f"/inbox/instances/{instance_id}/attach",
        data={"file": (io.BytesIO(PDF), "报告\x00.exe/../../etc\\passwd\x07.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    from app.inbox.models import Attachment

    with app.app_context():
        att = db.session.scalars(select(Attachment)).one()
        assert "\x00" not in att.filename and "/" not in att.filename and att.filename.endswith(".pdf")
        # a row stored before the fix, with a NUL in its name
        att.filename = "旧\x00附件.pdf"
        db.session.commit()
        att_id = att.id
    with officer.get(f"/inbox/attachments/{att_id}") as download:
        assert download.status_code == 200 and download.data == PDF
        assert "\x00" not in download.headers["Content-Disposition"]


def test_failed_registration_leaves_no_file_on_disk(app, client_for):
    from tests.test_clue_process import CONTENT, credit, make_enterprise

    with app.app_context():
        from pathlib import Path

        from app.engine import deploy

        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "clue_verification.bpmn"))
        make_enterprise("310101", "上海申江化工贸易有限公司", seq=1)
        db.session.commit()
    before = set(_files(app))
    data = {
        "source": "report",
        "enterprise": credit(app, "上海申江化工贸易有限公司"),
        "content": CONTENT,
        "attachments": [(io.BytesIO(PDF), "现场照片.pdf"), (io.BytesIO(b"MZ\x90\x00 not allowed"), "病毒.exe")],
    }
    resp = client_for("hp_officer").post("/clues/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422 and "不支持的文件类型" in page_text(resp)
    assert set(_files(app)) == before  # the PDF written first was removed with the rollback


@pytest.mark.parametrize(
    "path",
    [
        "/clues/?page=99999999999999999999",
        "/inbox/?page=1000001",
        f"/clues/{2**64}",
        f"/inbox/tasks/{2**63}",
        f"/admin/users?org_id={2**64}",
        "/clues/?from=0001-01-01",
        "/clues/?to=9999-12-31",
        "/clues/?from=2026-02-30",
        "/audit?date_from=0001-01-01",
        "/audit?date_to=9999-12-31",
        "/stats/?month=9999-12",
        "/stats/?month=2026-13",
        f"/stats/?job={2**64}",
    ],
)
def test_out_of_range_parameters_are_a_chinese_400(app, client_for, path):
    login = "admin" if path.startswith("/admin") else "auditor" if path.startswith("/audit") else "leader"
    resp = client_for(login).get(path)
    assert resp.status_code == 400, (path, resp.status_code)
    text = page_text(resp)
    assert any(word in text for word in ("超出范围", "无效", "格式")), text[-400:]


def test_cr_lf_in_next_does_not_split_the_header(app, client):
    resp = client.post(
        "/login?next=/inbox/%0d%0aSet-Cookie:%20evil=1",
        data={"login": "hp_officer", "password": "Test@Pass2026"},
    )
    assert resp.status_code == 302 and "\n" not in resp.headers["Location"] and "evil" not in resp.headers["Location"]


def test_deeply_nested_json_is_a_chinese_400(app, login_as):
    body = "[" * 100000 + "]" * 100000
    resp = login_as("hp_officer").post("/api/v1/tasks/1/complete", data=body, content_type="application/json")
    assert resp.status_code == 400 and "嵌套层数" in resp.get_json()["message"]


def test_api_validation_messages_are_chinese(app, login_as):
    resp = login_as("hp_officer").post("/api/v1/tasks/1/complete", json={"action": 5, "comment": ["x"], "zzz": 1})
    assert resp.status_code in (404, 422)
    if resp.status_code == 422:
        errors = resp.get_json()["errors"]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in errors.values()), errors
    from app.portal.params import messages_zh

    assert messages_zh({"action": ["Not a valid string."], "zzz": ["Unknown field."]}) == {
        "action": "应为字符串",
        "zzz": "不允许的字段",
    }
    assert messages_zh({"n": ["Must be greater than or equal to 1 and less than or equal to 5."]}) == {
        "n": "须在 1 到 5 之间"
    }


def test_inspection_date_out_of_range_is_refused(app, plan_setup, client_for):  # noqa: F811
    """inspected_on=0001-01-01 used to be saved; dates a plan cannot have are refused in Chinese."""
    from app.plans.models import Inspection, MonthlyPlan

    officer = client_for("hp_officer")
    plan_id = generate(officer)
    with app.app_context():
        db.session.get(MonthlyPlan, plan_id).status = "published"
        db.session.commit()
    item = _item_ids(app, plan_id)[0]
    for day, status in (("0001-01-01", 400), ("9999-12-31", 400), ("2026-02-30", 400), ("2099-01-01", 422)):
        resp = officer.post(f"/plans/items/{item}/done", data={"inspected_on": day})
        assert resp.status_code == status, (day, resp.status_code)
        assert "日期" in page_text(resp)
    with app.app_context():
        assert db.session.scalar(select(Inspection.id).where(Inspection.plan_item_id == item)) is None
