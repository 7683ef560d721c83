"""Clue verification end to end through HTTP as the real roles: register (duplicates, encrypted reporter),
accept, judge (DMN), order, dispatch (orgField), handle, feedback, report, review and sign-off; the
send-backs, rejections, a timeout escalation, confidentiality per role, follows, warnings, the PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.alerts.models import Alert
from app.clues.models import Clue
from app.engine.models import ProcessInstance
from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.reports import jobs
from app.reports.models import Document
from tests.conftest import page_text, user

CONTENT = "群众反映该企业夜间在厂区内违规装卸危险化学品，装卸区域未设置警戒，现场无专人监护。"
HAZARDS = (
    "2 号仓库乙醇超量储存｜2 号仓库｜重大｜立即转移超量物料｜2026-12-10\n"
    "未安装可燃气体报警装置｜2 号仓库｜一般｜安装报警装置"
)


def _fake_pdf(template_name, context, *, progress=None):
    return b"%PDF-1.4\n% fake " + template_name.encode() + uuid.uuid4().hex.encode() + b"\n%%EOF"


@pytest.fixture
def fast_pdf(monkeypatch):
    """Most scenarios do not look at the PDF: skip WeasyPrint (the PDF test renders for real)."""
    monkeypatch.setattr("app.reports.services.render_pdf", _fake_pdf)


@pytest.fixture
def clue_process(app):
    from app.engine import deploy

    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "clue_verification.bpmn"))
        db.session.commit()
        make_enterprise("310101", "上海申江化工贸易有限公司", seq=1)
        make_enterprise("310104", "上海徐汇精细化工有限公司", seq=2)
        db.session.commit()


def make_enterprise(district: str, name: str, *, seq: int) -> Enterprise:
    street = db.session.scalar(
        select(Organisation).where(Organisation.district_code == district, Organisation.kind == "street").limit(1)
    )
    body = f"91{district}MA{seq:07d}"
    code = body + check_char(body)
    ent = Enterprise(
        credit_code=code,
        name=name,
        org_id=street.id,
        district_code=district,
        address=f"上海市{street.name}中山南路 {seq} 号",
        legal_person="王建华",
        grade="B",
    )
    db.session.add(ent)
    db.session.flush()
    return ent


def credit(app, name: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Enterprise.credit_code).where(Enterprise.name == name))


def open_row(app, step: str) -> int:
    with app.app_context():
        rows = db.session.scalars(select(HumanTask).where(HumanTask.status == "open", HumanTask.step == step)).all()
        assert len(rows) == 1, [(r.step, r.status) for r in rows]
        return rows[0].id


def clue_row(app, clue_id: int) -> dict:
    with app.app_context():
        c = db.session.get(Clue, clue_id)
        return {
            "status": c.status,
            "outcome": c.outcome,
            "priority": c.priority,
            "number": c.number,
            "handling": c.handling_org.code if c.handling_org else None,
            "returns": c.returns_count,
            "report": c.report_document_id,
            "order": c.order_document_id,
            "instance": c.instance_id,
            "deadline": c.deadline,
        }


def register(app, client, *, name="上海申江化工贸易有限公司", content=CONTENT, confirm=False, **extra):
    data = {
        "source": "report",
        "enterprise": credit(app, name),
        "content": content,
        "reporter_name": "张三丰",
        "reporter_phone": "13812345678",
        "reporter_id_number": "310101199001011234",
        **extra,
    }
    if confirm:
        data["confirm_duplicate"] = "1"
    return client.post("/clues/new", data=data, content_type="multipart/form-data")


def registered(app, client, **kw) -> int:
    resp = register(app, client, **kw)
    assert resp.status_code == 302, page_text(resp)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def act(client, task_id, action, **data):
    resp = client.post(f"/inbox/tasks/{task_id}/act", data={"action": action, **data})
    assert resp.status_code == 302, page_text(resp)
    return resp


def accept(app, client_for):
    act(client_for("hp_leader"), open_row(app, "accept"), "approve", comment="同意受理")


def judge(app, client_for, verifiable="yes", risk="high"):
    act(
        client_for("city_officer"),
        open_row(app, "judge"),
        "complete",
        verifiable=verifiable,
        risk_level=risk,
        judge_opinion="反映内容具体，具备核查条件" if verifiable == "yes" else "线索内容不具体，无法核查",
    )


def dispatch(app, client_for, org="310101"):
    act(client_for("city_officer"), open_row(app, "dispatch"), "complete", handle_org=org, dispatch_note="请尽快核查")


def handle(app, client, **extra):
    data = {
        "investigators": "张伟、刘芳",
        "investigated_on": "2026-11-20",
        "findings": "经现场核查，该企业 2 号仓库超量储存乙醇约 3.2 吨，夜间装卸未设警戒。",
        "hazards": HAZARDS,
        "measures": "责令立即停止违规装卸，限期转移超量物料，依法立案调查。",
        **extra,
    }
    act(client, open_row(app, "handle"), "complete", **data)


def feedback(app, client_for, outcome="substantiated"):
    act(
        client_for("hp_leader"),
        open_row(app, "feedback"),
        "complete",
        verdict=outcome,
        conclusion="线索反映问题属实，已责令整改并立案查处。",
    )


def to_review(app, client_for, clue_client):
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for)
    handle(app, client_for("hp_officer"))
    feedback(app, client_for)


# ---------------------------------------------------------------------------------------------


def test_happy_path_to_signed_report_with_follow_notifications(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    photo = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "现场照片.png")
    clue_id = registered(app, officer, attachments=photo)
    row = clue_row(app, clue_id)
    assert row["status"] == "accepting" and re.fullmatch(r"XS\d{8}\d{4}", row["number"])
    # The reporter is encrypted in the clues table and absent from the process data.
    with app.app_context():
        c = db.session.get(Clue, clue_id)
        assert c.reporter_phone_enc.startswith("ENC1:") and "13812345678" not in c.reporter_phone_enc
        state = str(db.session.get(ProcessInstance, c.instance_id).state)
        assert "13812345678" not in state and "张三丰" not in state and "310101199001011234" not in state
    page = page_text(officer.get(f"/clues/{clue_id}"))
    assert "138****5678" in page and "张**" in page and "13812345678" not in page
    assert "现场照片.png" in page  # the registration's attachment
    # The city officer follows the clue: each step notifies them.
    city = client_for("city_officer")
    assert city.post(f"/clues/{clue_id}/follow").status_code == 302

    accept(app, client_for)
    assert clue_row(app, clue_id)["status"] == "judging"
    judge(app, client_for, risk="high")
    row = clue_row(app, clue_id)
    assert row["status"] == "dispatching" and row["priority"] == "urgent" and row["order"]  # DMN: report + high
    dispatch(app, client_for, org="310101")
    assert clue_row(app, clue_id)["handling"] == "310101"
    # The handling task belongs to the dispatched org: Huangpu's officer sees it, Xuhui's does not.
    handle_id = open_row(app, "handle")
    assert client_for("xh_officer").get(f"/inbox/tasks/{handle_id}").status_code == 404
    handle(app, officer)
    assert clue_row(app, clue_id)["status"] == "feedback"
    feedback(app, client_for)
    row = clue_row(app, clue_id)
    assert row["status"] == "reviewing" and row["report"]
    review_id = open_row(app, "review")
    review_page = page_text(client_for("chief").get(f"/inbox/tasks/{review_id}"))
    assert "通过并签发" in review_page and "退回修改" in review_page and "属实" in review_page
    act(client_for("chief"), review_id, "approve", comment="同意调查结论，请跟踪整改")
    row = clue_row(app, clue_id)
    assert row["status"] == "closed" and row["outcome"] == "substantiated"
    assert jobs.wait_for_jobs(60)  # the signed original is rendered by the job worker after the commit
    with app.app_context():
        doc = db.session.get(Document, row["report"])
        assert doc.status == "signed" and doc.signer_name == "陈立新" and len(doc.sm3) == 64
        assert doc.context["reviewer_opinion"] == "同意调查结论，请跟踪整改"
        assert db.session.get(ProcessInstance, row["instance"]).status == "completed"
        follows = db.session.scalars(
            select(Notification.title).where(
                Notification.user_id == user("city_officer").id, Notification.kind == "follow"
            )
        ).all()
    assert any("已办结" in t for t in follows) and any("调查报告已生成" in t for t in follows)
    assert any("进入研判" in t for t in follows)
    assert not any("已研判" in t for t in follows)  # the follower's own acts are not announced to them
    page = page_text(officer.get(f"/clues/{clue_id}"))
    assert "已办结" in page and "已签发" in page and "调查报告审核" in page and "研判" in page


def test_duplicate_warning_then_confirmed_registration(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    first = registered(app, officer)
    similar = CONTENT.replace("夜间", "晚上")
    # The check endpoint shows the warning while typing.
    warn = officer.post(
        "/clues/check-duplicates", data={"enterprise": credit(app, "上海申江化工贸易有限公司"), "content": similar}
    )
    assert "疑似重复线索" in page_text(warn) and clue_row(app, first)["number"] in page_text(warn)
    # Submitting without the confirmation is refused and shows the duplicate; nothing is created.
    resp = register(app, officer, content=similar)
    assert resp.status_code == 422 and "疑似重复线索" in page_text(resp) and "确认不是重复线索" in page_text(resp)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Clue.id))) == 1
    second = registered(app, officer, content=similar, confirm=True)
    with app.app_context():
        assert db.session.get(Clue, second).duplicate_of_id == first
    # Different content or another enterprise: no warning.
    other = officer.post(
        "/clues/check-duplicates",
        data={
            "enterprise": credit(app, "上海申江化工贸易有限公司"),
            "content": "企业职工反映加班时间过长，食堂卫生条件差，宿舍拥挤。",
        },
    )
    assert "疑似重复线索" not in page_text(other)


def test_not_accepted_returns_the_reason_to_the_registrar(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    leader = client_for("hp_leader")
    accept_id = open_row(app, "accept")
    bad = leader.post(f"/inbox/tasks/{accept_id}/act", data={"action": "reject"})
    assert bad.status_code == 422 and "必须填写意见" in page_text(bad)
    act(leader, accept_id, "reject", comment="不属于安全生产监管范围，建议转市场监管部门")
    row = clue_row(app, clue_id)
    assert row["status"] == "rejected" and row["outcome"] == "not_accepted"
    with app.app_context():
        titles = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_officer").id)
        ).all()
    assert any("不予受理" in t and "转市场监管部门" in t for t in titles)
    assert "不予受理" in page_text(officer.get(f"/clues/{clue_id}"))


def test_unverifiable_clue_closes_at_judgement(app, clue_process, fast_pdf, client_for):
    clue_id = registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for, verifiable="no", risk="low")
    row = clue_row(app, clue_id)
    assert row["status"] == "closed" and row["outcome"] == "unverifiable" and row["order"] is None


def test_report_sent_back_three_times_raises_an_abnormal_flow_alert(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    to_review(app, client_for, officer)
    chief = client_for("chief")
    for i in range(3):
        review_id = open_row(app, "review")
        act(chief, review_id, "reject", comment=f"第{i + 1}次退回：隐患整改期限不明确")
        assert clue_row(app, clue_id)["status"] == "handling"
        # The handler sees the reason on the handling form.
        handle_id = open_row(app, "handle")
        assert f"第{i + 1}次退回" in page_text(officer.get(f"/inbox/tasks/{handle_id}"))
        handle(app, officer)
        feedback(app, client_for, outcome="partly")
    assert clue_row(app, clue_id)["returns"] == 3
    with app.app_context():
        alert = db.session.scalar(select(Alert).where(Alert.clue_id == clue_id, Alert.kind == "clue_returned"))
        assert alert is not None and alert.status == "open" and alert.owner.login == "hp_leader"
        alert_id = alert.id
    # Approving at last closes the clue and its alert (closure record).
    act(chief, open_row(app, "review"), "approve")
    row = clue_row(app, clue_id)
    assert row["status"] == "closed" and row["outcome"] == "partly"
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.status == "closed" and "办结" in alert.closure


def test_overdue_handling_reminds_then_escalates_to_the_leader(app, clue_process, fast_pdf, client_for):
    from app.engine.cli import run_round

    clue_id = registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for, risk="medium")
    dispatch(app, client_for)
    handle_id = open_row(app, "handle")
    with app.app_context():
        due = db.session.get(HumanTask, handle_id).due_at
    # One working day before: a reminder to the handling officers.
    with time_machine.travel(due - timedelta(hours=12), tick=False):
        run_round(app)
    with app.app_context():
        row = db.session.get(HumanTask, handle_id)
        assert row.remind_count == 1 and row.assignee_id is None
        titles = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_officer").id)
        ).all()
        assert any(t.startswith("即将到期") for t in titles)
    # Overdue: escalated to the brigade leader, who now holds the task.
    with time_machine.travel(due + timedelta(hours=1), tick=False):
        run_round(app)
    with app.app_context():
        row = db.session.get(HumanTask, handle_id)
        assert row.assignee.login == "hp_leader" and row.status == "open"
    page = page_text(client_for("hp_officer").get(f"/clues/{clue_id}"))
    assert "超时升级" in page
    # The alert centre lists it for the brigade, by organisation and person; red once overdue.
    board = page_text(client_for("hp_leader").get("/alerts/?tab=board"))
    assert "处理" in board and "黄浦大队长" in board and "黄浦区" in board
    with app.app_context():
        from app.alerts.services import summarise, task_board

        rows = task_board(user("hp_leader"), now=due + timedelta(hours=1), level="red")
        assert [r.task.id for r in rows] == [handle_id] and summarise(rows)["by_person"] == {
            "黄浦大队长": {"red": 1, "yellow": 0, "green": 0}
        }


def test_stalled_clue_alert_is_closed_by_its_owner(app, clue_process, fast_pdf, client_for):
    from app.clues.warnings import scan

    clue_id = registered(app, client_for("hp_officer"))
    with app.app_context():
        scan(utcnow() + timedelta(days=14))
        db.session.commit()
        alert = db.session.scalar(select(Alert).where(Alert.clue_id == clue_id, Alert.kind == "clue_stalled"))
        assert alert is not None and alert.owner.login == "hp_leader"
        scan(utcnow() + timedelta(days=15))  # no second alert for the same clue
        assert db.session.scalar(select(db.func.count(Alert.id)).where(Alert.clue_id == clue_id)) == 1
        alert_id = alert.id
    assert client_for("xh_leader").post(f"/alerts/{alert_id}/close", data={"closure": "x"}).status_code == 404
    leader = client_for("hp_leader")
    assert leader.post(f"/alerts/{alert_id}/close", data={"closure": ""}).status_code == 422
    assert leader.post(f"/alerts/{alert_id}/close", data={"closure": "已督促受理审批"}).status_code == 302
    closed = page_text(leader.get("/alerts/?tab=closed"))
    assert "已督促受理审批" in closed and "线索停滞" in closed


def _table(resp) -> str:
    text = page_text(resp)
    return text[text.index('id="clue-table"') : text.index("</table>", text.index('id="clue-table"'))]


def _visible(client, clue_id: int, number: str) -> dict:
    return {
        "page": client.get(f"/clues/{clue_id}").status_code == 200,
        "list": number in _table(client.get("/clues/")),
        "search": number in _table(client.get(f"/clues/?q={number}")),
        "phone": number in _table(client.get("/clues/?phone=13812345678")),
        "export": number in client.get("/clues/export.csv").get_data(as_text=True),
    }


def test_confidentiality_per_role_before_and_after_closing(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    number = clue_row(app, clue_id)["number"]
    everything = dict.fromkeys(("page", "list", "search", "phone", "export"), True)
    nothing = dict.fromkeys(everything, False)
    xh, city, street = client_for("xh_officer"), client_for("city_officer"), client_for("hp_street")
    assert _visible(officer, clue_id, number) == everything
    assert _visible(city, clue_id, number) == everything
    assert _visible(client_for("hp_leader"), clue_id, number) == everything
    assert _visible(xh, clue_id, number) == nothing  # another district, in progress
    assert _visible(street, clue_id, number) == nothing  # a street of the same district is not the handler
    assert client_for("xh_leader").get(f"/clues/{clue_id}").status_code == 404
    stats = client_for("xh_leader").get("/clues/stats.json").get_json()
    assert stats["total"] == 0
    to_review(app, client_for, officer)
    act(client_for("chief"), open_row(app, "review"), "approve")
    assert clue_row(app, clue_id)["status"] == "closed"
    assert _visible(xh, clue_id, number) == everything  # closed: every enforcement organisation
    assert _visible(street, clue_id, number) == everything
    assert client_for("xh_leader").get("/clues/stats.json").get_json()["total"] == 1
    # Organisations outside enforcement (SOE groups) have no clue pages at all.
    assert client_for("soe").get(f"/clues/{clue_id}").status_code == 403


def test_dispatch_to_a_city_section_and_invalid_code_falls_back(app, clue_process, fast_pdf, client_for):
    first = registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for, org="SHYJ-ZD1")
    assert clue_row(app, first)["handling"] == "SHYJ-ZD1"
    with app.app_context():
        row = db.session.get(HumanTask, open_row(app, "handle"))
        assert row.candidate_role == "city_officer" and row.org_id == db.session.scalar(
            select(Organisation.id).where(Organisation.code == "SHYJ-ZD1")
        )
        from app.inbox.queries import can_act

        assert can_act(user("city_officer"), row) and not can_act(user("hp_officer"), row)
    handle(app, client_for("city_officer"))
    with app.app_context():
        fb = db.session.get(HumanTask, open_row(app, "feedback"))
        assert fb.candidate_role == "section_chief"  # a section's feedback comes from a section chief
    second = registered(
        app, client_for("hp_officer"), content="另一家企业反映的问题：消防通道被堆放的货物堵塞，疏散指示灯损坏。"
    )
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for, org="NO-SUCH-ORG")
    assert clue_row(app, second)["handling"] == "310101"


def test_reporter_reveal_needs_permission_and_is_audited(app, clue_process, fast_pdf, client_for):
    from app.audit.models import AuditEntry

    clue_id = registered(app, client_for("hp_officer"))
    plain = page_text(client_for("hp_officer").get(f"/clues/{clue_id}?reveal=1"))
    assert "13812345678" not in plain  # district officers lack sensitive.unmask
    shown = page_text(client_for("leader").get(f"/clues/{clue_id}?reveal=1"))
    assert "13812345678" in shown and "310101199001011234" in shown and "张三丰" in shown
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "clue.reporter.reveal")) is not None


def test_statistics_page_and_json(app, clue_process, fast_pdf, client_for):
    officer = client_for("hp_officer")
    registered(app, officer)
    registered(app, officer, name="上海徐汇精细化工有限公司", source="hotline")
    page = page_text(officer.get("/clues/stats"))
    assert "dist/charts.js" in page and 'id="clue-stats"' in page
    assert officer.get("/clues/stats.json").get_json()["total"] == 2  # the registrar sees both
    assert client_for("hp_leader").get("/clues/stats.json").get_json()["total"] == 1  # the Xuhui one is Xuhui's
    data = client_for("city_officer").get("/clues/stats.json").get_json()
    assert data["total"] == 2
    assert {r["name"]: r["value"] for r in data["by_source"]} == {"举报": 1, "12350热线": 1}
    assert sum(r["value"] for r in data["by_month"]) == 2
    assert {r["name"] for r in data["by_district"]} == {"黄浦区", "徐汇区"}
    assert [r["name"] for r in data["by_outcome"]] == ["办理中"]


POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")


@pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed")
def test_investigation_report_pdf_renders_signed_with_chinese_text(app, clue_process, client_for, tmp_path):
    from app.reports.services import read_document, sm3_hex

    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    to_review(app, client_for, officer)
    act(client_for("chief"), open_row(app, "review"), "approve", comment="同意调查结论和处理意见。")
    assert jobs.wait_for_jobs(60)
    with app.app_context():
        doc = db.session.get(Document, clue_row(app, clue_id)["report"])
        data = read_document(doc)
        assert doc.status == "signed" and doc.sm3 == sm3_hex(data) and doc.number
        number = doc.number
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "调查报告",
        "上海申江化工贸易有限公司",
        "调查核实情况",
        "乙醇超量储存",
        "重大",
        "核查结论：属实",
        number,
    ):
        assert expected in flat, expected
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) >= 1
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), "/tmp/ducha-clue-report"], check=True
    )
    assert Path("/tmp/ducha-clue-report-1.png").exists()
    # The download is the sealed original: the verify page recognises it.
    resp = officer.post(
        "/documents/verify", data={"file": (io.BytesIO(data), "report.pdf")}, content_type="multipart/form-data"
    )
    assert number in page_text(resp)
