"""案卷评查: cases entered and imported (bad input in Chinese, nothing half-imported, idempotent re-import),
data scope (district, city, SOE group), the review through the inbox (assign → score → sign), versioned
checklists, review_scores for appraisal, 合格案卷 reminders and 行刑衔接."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.cases.models import Case, CaseReferral, CaseReview, ReviewRuleSet
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from tests.cases_support import GOOD, deploy_review, make_entries
from tests.conftest import page_text, user, xlsx_bytes


@pytest.fixture
def kb(app):
    with app.app_context():
        make_entries()
        db.session.commit()


@pytest.fixture
def deployed(app):
    with app.app_context():
        deploy_review()


def _create(client, **over) -> int:
    resp = client.post("/cases/new", data={**GOOD, **over})
    assert resp.status_code == 302, page_text(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def test_bad_input_is_refused_in_chinese_and_kept(app, kb, client_for):
    officer = client_for("hp_officer")
    resp = officer.post(
        "/cases/new",
        data={
            **GOOD,
            "number": "",
            "case_type": "特别程序",
            "filed_on": "2026-02-30",
            "decided_on": "2026-03-01",
            "served_on": "2026-02-01",
            "unit_penalty": "五万",
            "violations": "T-97、NOPE-1",
            "officer": "nobody",
        },
    )
    text = page_text(resp)
    assert resp.status_code == 422
    for message in (
        "请填写案件编号",
        "程序类型应为：简易程序、一般程序",
        "立案日期不是有效日期",
        "送达日期不能早于决定日期",
        "单位罚款应为数字（元）",
        "违法行为库中没有编号：NOPE-1",
        "主办人「nobody」不存在",
    ):
        assert message in text, message
    assert GOOD["title"] in text  # what was typed is kept
    # A district officer cannot file a case for another district.
    other = officer.post("/cases/new", data={**GOOD, "org": "310104"})
    assert other.status_code == 422 and "不在您的数据范围内" in page_text(other)
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0


def test_scope_district_city_and_soe_group(app, kb, deployed, client_for):
    case_id = _create(client_for("hp_officer"))
    xh_id = _create(client_for("xh_officer"), number="沪徐应急罚〔2026〕1号", org="310104", title="徐汇案件")
    hp_list = page_text(client_for("hp_leader").get("/cases/"))
    assert GOOD["title"] in hp_list and "徐汇案件" not in hp_list
    assert client_for("xh_officer").get(f"/cases/{case_id}").status_code == 403
    city = page_text(client_for("chief").get("/cases/"))
    assert GOOD["title"] in city and "徐汇案件" in city
    # Names, not codes, on the pages.
    assert "黄浦区应急管理局执法大队" in city and "一般程序" in city
    for login in ("soe", "soe_unit"):
        soe = client_for(login)
        assert "没有符合条件的案件" in page_text(soe.get("/cases/"))
        assert soe.get(f"/cases/{case_id}").status_code == 403
        assert soe.get(f"/cases/{xh_id}").status_code == 403
    # A street office sees its own subtree only: the brigade's case is outside it.
    assert client_for("hp_street").get(f"/cases/{case_id}").status_code == 403
    assert client_for("hp_street").post("/cases/new", data=GOOD).status_code == 403  # read only
    detail = page_text(client_for("hp_leader").get(f"/cases/{case_id}"))
    assert "上海某化工有限公司" in detail and "50,000 元" in detail and "测试违法行为第九十七条" in detail
    assert "缺少必备文书" in detail  # the automatic checks on the page


HEADER = [
    "案件编号",
    "案件名称",
    "程序类型",
    "办案单位",
    "当事单位",
    "单位罚款（元）",
    "责任人",
    "个人罚款（元）",
    "违法行为编号",
    "发现日期",
    "立案日期",
    "决定日期",
    "送达日期",
    "案卷文书",
]
ROW = [
    "沪黄应急罚〔2026〕7号",
    "导入案件一",
    "一般程序",
    "310101",
    "上海甲公司",
    "30000",
    "李某",
    "12000",
    "T-97",
    "2026-03-02",
    "2026-03-05",
    "2026-04-10",
    "2026-04-12",
    "立案审批表、询问笔录、行政处罚决定书",
]


def test_xlsx_import_row_report_nothing_half_imported_and_idempotent(app, kb, client_for):
    officer = client_for("hp_officer")
    bad_rows = [
        ROW,
        [
            *ROW[:0],
            "沪黄应急罚〔2026〕8号",
            "导入案件二",
            "听证程序",
            "310101",
            "上海乙公司",
            "abc",
            "",
            "",
            "T-404",
            "",
            "2026-03-05",
            "",
            "",
            "判决书",
        ],
        ROW,
    ]
    resp = officer.post("/cases/import", data={"file": (io.BytesIO(xlsx_bytes(HEADER, bad_rows)), "cases.xlsx")})
    text = page_text(resp)
    assert resp.status_code == 422 and "整份文件未导入" in text
    assert (
        "第 3 行" in text and "文书类型不认识：判决书" in text and "程序类型应为" in text and "单位罚款应为数字" in text
    )
    assert "与第 2 行重复" in text and "违法行为库中没有编号：T-404" in text
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0  # the good first row was rolled back too
    second = [*ROW]
    second[0], second[1] = "沪黄应急罚〔2026〕9号", "导入案件二"
    body = xlsx_bytes(HEADER, [ROW, second])
    assert officer.post("/cases/import", data={"file": (io.BytesIO(body), "cases.xlsx")}).status_code == 302
    again = officer.post("/cases/import", data={"file": (io.BytesIO(body), "cases.xlsx")})
    assert again.status_code == 302  # the same file again: the same cases, updated, no duplicates
    with app.app_context():
        cases = db.session.scalars(select(Case).order_by(Case.number)).all()
        assert [c.number for c in cases] == ["沪黄应急罚〔2026〕7号", "沪黄应急罚〔2026〕9号"]
        assert cases[0].source == "xlsx" and len(cases[0].parties) == 2 and len(cases[0].documents) == 3
    nofile = officer.post("/cases/import", data={})
    assert nofile.status_code == 422 and "文件不是 Excel" in page_text(nofile)
    template = officer.get("/cases/import/template")
    assert load_workbook(io.BytesIO(template.data)).active["A1"].value == "案件编号（必填）"


def _task(app, step):
    with app.app_context():
        return db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == step))


def _review(app) -> CaseReview:
    with app.app_context():
        r = db.session.scalar(select(CaseReview).order_by(CaseReview.id.desc()))
        db.session.expunge_all()
        return r


def run_review(app, client_for, case_id, *, override_reason="文书齐全，原件已补充归档"):
    chief = client_for("chief")
    assert chief.post(f"/cases/{case_id}/review").status_code == 302
    assert "案卷评查：" in page_text(chief.get("/inbox/"))
    task = _task(app, "assign")
    resp = chief.post(f"/inbox/tasks/{task}/act", data={"action": "complete", "reviewer_login": "city_officer"})
    assert resp.status_code == 302, page_text(resp)
    review = _review(app)
    assert review.status == "scoring"
    reviewer = client_for("city_officer")
    # Completing the inbox task before scoring is refused, and the task stays open.
    early = reviewer.post(f"/inbox/tasks/{_task(app, 'score')}/act", data={"action": "complete"})
    assert early.status_code == 422 and "评查打分结果（在评查打分页提交后自动填入）为必填项" in page_text(early)
    assert _task(app, "score") is not None
    page = page_text(reviewer.get(f"/cases/reviews/{review.id}/score"))
    assert "缺少必备文书" in page and "人工评查" in page
    # Another officer is not the reviewer.
    assert client_for("hp_officer").get(f"/cases/reviews/{review.id}/score").status_code == 403
    scores = {f"score_{s['code']}": s["score"] if s["score"] is not None else s["points"] for s in review.scores}
    docs = next(s for s in review.scores if s["check"] == "docs_required")
    assert docs["auto"] is False and docs["score"] == 0
    scores[f"score_{docs['code']}"] = docs["points"]  # an override of the automatic result ...
    bad = reviewer.post(f"/cases/reviews/{review.id}/score", data={**scores, "conclusion": ""})
    assert bad.status_code == 422
    assert "改变了自动检查结果，请说明理由" in page_text(bad) and "请选择评查结论" in page_text(bad)
    data = {**scores, f"reason_{docs['code']}": override_reason, "conclusion": "qualified", "remark": "总体规范"}
    ok = reviewer.post(f"/cases/reviews/{review.id}/score", data=data)
    assert ok.status_code == 302, page_text(ok)
    assert _review(app).status == "signoff"
    return review.id


def test_review_from_assignment_to_signed_conclusion(app, kb, deployed, client_for):
    case_id = _create(client_for("hp_officer"))
    review_id = run_review(app, client_for, case_id)
    leader = client_for("leader")
    task = _task(app, "signoff")
    assert "合格" in page_text(leader.get(f"/inbox/tasks/{task}"))
    # Sent back: the reviewer scores again, then the leader signs.
    resp = leader.post(f"/inbox/tasks/{task}/act", data={"action": "reject", "comment": "第七项评分偏高"})
    assert resp.status_code == 302
    assert _review(app).status == "returned" and _review(app).remark == "第七项评分偏高"
    reviewer = client_for("city_officer")
    review = _review(app)
    scores = {f"score_{s['code']}": s["score"] for s in review.scores}
    scores |= {f"reason_{s['code']}": s["reason"] for s in review.scores}
    assert (
        reviewer.post(f"/cases/reviews/{review_id}/score", data={**scores, "conclusion": "excellent"}).status_code
        == 302
    )
    task = _task(app, "signoff")
    assert leader.post(f"/inbox/tasks/{task}/act", data={"action": "approve", "comment": "同意"}).status_code == 302
    review = _review(app)
    with app.app_context():
        rv = db.session.get(CaseReview, review_id)
        assert rv.status == "signed" and rv.signed_by.login == "leader" and rv.rule_set.version == 1
        assert rv.total_score == 100 and rv.conclusion == "excellent"
    detail = page_text(client_for("hp_leader").get(f"/cases/{case_id}"))
    assert "已签发" in detail and "优秀" in detail and "改判理由：文书齐全" in detail
    # review_scores for the appraisal module: per reviewed unit and per officer (主办人).
    from app.cases.review import review_scores
    from app.orgs.models import Organisation

    with app.app_context():
        hp = db.session.scalar(select(Organisation.id).where(Organisation.code == "310101"))
        from datetime import datetime

        from app.engine.runtime import SHANGHAI

        today = datetime.now(SHANGHAI).date()  # the period is read in Shanghai time
        got = review_scores([hp], today - timedelta(days=1), today + timedelta(days=1))
        assert got["units"] == {hp: {"average": 100.0, "count": 1}}
        assert got["officers"] == {user("hp_officer").id: {"average": 100.0, "count": 1}}
        assert review_scores([hp], today - timedelta(days=30), today - timedelta(days=2)) == {
            "units": {},
            "officers": {},
        }
        from app.security.scope import scope_for

        scoped = review_scores(scope_for(user("hp_leader")).org_ids(), today, today + timedelta(days=1))
        assert list(scoped["units"]) == [hp]  # a scope's subquery works as org_ids
        assert review_scores(None, today, today + timedelta(days=1))["units"][hp]["count"] == 1
        # The appraisal module's data-source contract: fn(user_ids, start, end) -> {user_id: value}.
        from app.cases.services import review_scores as for_appraisal

        start = datetime.combine(today, datetime.min.time(), SHANGHAI)
        officer = user("hp_officer").id
        assert for_appraisal([officer, user("xh_officer").id], start, start + timedelta(days=1)) == {officer: 100.0}
        assert for_appraisal([], start, start + timedelta(days=1)) == {}
        xh = db.session.scalar(select(Organisation.id).where(Organisation.code == "310104"))
        assert review_scores([xh], today - timedelta(days=1), today + timedelta(days=1))["units"] == {}
    # A second review while one runs is refused; a new one after signing is allowed.
    chief = client_for("chief")
    assert chief.post(f"/cases/{case_id}/review").status_code == 302
    assert chief.post(f"/cases/{case_id}/review", follow_redirects=True).status_code == 409


def test_checklist_versions_are_edited_published_and_recorded(app, kb, deployed, client_for):
    chief = client_for("chief")
    assert "第 1 版" in page_text(chief.get("/cases/rules"))
    bad = chief.post(
        "/cases/rules/general/edit",
        data={"items": "G1｜立案及时｜十\nG2｜x｜5｜不存在的检查", "limits": "{", "note": ""},
    )
    assert bad.status_code == 422 and "第 1 行分值应为数字" in page_text(bad)
    bad_json = chief.post("/cases/rules/general/edit", data={"items": "G1｜立案及时｜10｜立案期限", "limits": "{"})
    assert bad_json.status_code == 422 and "规则表不是有效的 JSON" in page_text(bad_json)
    limits = (
        '{"deadlines": [{"code": "deadline_file", "from": "discovered_on", "to": "filed_on", "days": 1, '
        '"working": true}], "required_docs": []}'
    )
    resp = chief.post(
        "/cases/rules/general/edit",
        data={"items": "G1｜立案及时｜60｜立案期限\nG2｜事实清楚｜40", "limits": limits, "note": "立案期限收紧"},
    )
    assert resp.status_code == 302
    with app.app_context():
        rows = db.session.scalars(
            select(ReviewRuleSet).where(ReviewRuleSet.case_type == "general").order_by(ReviewRuleSet.version)
        ).all()
        assert [(r.version, r.status) for r in rows] == [(1, "published"), (2, "draft")]
        draft_id = rows[1].id
    assert chief.post(f"/cases/rules/{draft_id}/publish").status_code == 302
    with app.app_context():
        assert [
            r.status
            for r in db.session.scalars(
                select(ReviewRuleSet).where(ReviewRuleSet.case_type == "general").order_by(ReviewRuleSet.version)
            )
        ] == ["retired", "published"]
    case_id = _create(client_for("hp_officer"))  # discovered 2 March, filed 4 March: 2 working days > 1
    detail = page_text(client_for("hp_officer").get(f"/cases/{case_id}"))
    assert "一般程序评查规则第 2 版" in detail and "超期 1 个工作日" in detail
    chief.post(f"/cases/{case_id}/review")
    with app.app_context():
        assert db.session.scalar(select(CaseReview)).rule_set.version == 2
    assert client_for("hp_officer").get("/cases/rules").status_code == 403  # administrators only


def test_qualified_file_reminders_before_and_after_the_due_date(app, kb, deployed, client_for):
    from app.cases.jobs import remind

    case_id = _create(client_for("hp_officer"))
    run_review(app, client_for, case_id)
    client_for("leader").post(f"/inbox/tasks/{_task(app, 'signoff')}/act", data={"action": "approve"})
    chief = client_for("chief")
    bad = chief.post(
        "/cases/settings",
        data={"qualified_due_date": "2026-13-01", "remind_days_before": "x", "referral_answer_days": "3"},
        follow_redirects=True,
    )
    assert "报送截止日期格式应为" in page_text(bad) and "提前提醒天数应为" in page_text(bad)
    chief.post(
        "/cases/settings",
        data={"qualified_due_date": "2026-12-20", "remind_days_before": "5", "referral_answer_days": "3"},
    )
    with app.app_context():
        assert remind(date(2026, 12, 10)) == 0  # too early
        assert remind(date(2026, 12, 16)) == 1
        assert remind(date(2026, 12, 17)) == 0  # told once
        assert remind(date(2026, 12, 21)) == 1  # after the due date: once more
        db.session.commit()
        titles = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_officer").id).order_by(Notification.id)
        ).all()
        assert any("合格案卷报送提醒" in t for t in titles) and any("合格案卷逾期未报送" in t for t in titles)
        assert (
            db.session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == user("hp_leader").id, Notification.title.like("合格案卷%")
                )
            )
            == 2
        )
        assert (
            db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user("xh_officer").id))
            == 0
        )
    officer = client_for("hp_officer")
    assert officer.post(f"/cases/{case_id}/submit").status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).submitted_at is not None
        db.session.execute(db.delete(__import__("app.cases.models", fromlist=["CaseReminder"]).CaseReminder))
        db.session.commit()
        assert remind(date(2026, 12, 21)) == 0  # submitted: no more reminders


def test_referral_tracking_overdue_filters_and_export(app, kb, client_for):
    officer = client_for("hp_officer")
    case_id = _create(officer)
    bad = officer.post(
        f"/cases/{case_id}/referrals", data={"referred_on": "2026-01-01", "receiver": ""}, follow_redirects=True
    )
    assert "请填写接收单位" in page_text(bad) and "移送日期不能早于立案日期" in page_text(bad)
    old = (date.today() - timedelta(days=10)).isoformat()
    officer.post(f"/cases/{case_id}/referrals", data={"referred_on": old, "receiver": "黄浦公安分局"})
    officer.post(
        f"/cases/{case_id}/referrals", data={"referred_on": date.today().isoformat(), "receiver": "上海市公安局"}
    )
    page = page_text(officer.get("/cases/referrals"))
    assert "黄浦公安分局" in page and "上海市公安局" in page and page.count("badge text-bg-danger") == 1
    only = page_text(officer.get("/cases/referrals?overdue=1"))
    assert "黄浦公安分局" in only and "上海市公安局" not in only
    with app.app_context():
        rid = db.session.scalar(select(CaseReferral.id).where(CaseReferral.receiver == "黄浦公安分局"))
    wrong = officer.post(
        f"/cases/referrals/{rid}/answer", data={"acceptance": "accepted", "answered_on": ""}, follow_redirects=True
    )
    assert "请填写答复日期" in page_text(wrong)
    officer.post(
        f"/cases/referrals/{rid}/answer",
        data={"acceptance": "accepted", "answered_on": date.today().isoformat(), "outcome": "已立案侦查"},
    )
    accepted = page_text(officer.get("/cases/referrals?acceptance=accepted"))
    assert "已立案侦查" in accepted and "上海市公安局" not in accepted
    export = officer.get("/cases/referrals?format=xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert [c.value for c in sheet[1]][:5] == ["案件编号", "案件名称", "办案单位", "移送日期", "接收单位"]
    assert sheet.max_row == 3 and sheet["C2"].value == "黄浦区应急管理局执法大队"
    assert page_text(client_for("xh_officer").get("/cases/referrals")).count("黄浦公安分局") == 0  # scoped


def test_document_upload_checks_the_real_type(app, kb, deployed, client_for):
    officer = client_for("hp_officer")
    case_id = _create(officer)
    bad = officer.post(
        f"/cases/{case_id}/documents",
        data={"doc_type": "decision", "file": (io.BytesIO(b"MZ\x90 not a pdf"), "a.pdf")},
        follow_redirects=True,
    )
    assert "只能上传 PDF、Word 文档或图片" in page_text(bad)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for t in ("filing_approval", "inquiry", "notice", "decision", "service_receipt"):
        officer.post(f"/cases/{case_id}/documents", data={"doc_type": t, "file": (io.BytesIO(pdf), f"{t}.pdf")})
    detail = page_text(officer.get(f"/cases/{case_id}"))
    assert "必备文书齐全" in detail
    with app.app_context():
        doc_id = db.session.get(Case, case_id).documents[0].id
    download = officer.get(f"/cases/documents/{doc_id}")
    assert download.data.startswith(b"%PDF")
    download.close()
    assert client_for("xh_officer").get(f"/cases/documents/{doc_id}").status_code == 403
    # The file is in the object store (app/storage), under uploads/cases/<case>/; a lost object is a Chinese 404.
    from app.storage import files, get_storage

    with app.app_context():
        key = files.UPLOADS + db.session.get(Case, case_id).documents[0].path
        assert key.startswith("uploads/cases/") and get_storage().get(key).startswith(b"%PDF")
        get_storage().delete(key)
    gone = officer.get(f"/cases/documents/{doc_id}")
    assert gone.status_code == 404 and "文书文件不存在或已被移除" in page_text(gone)


def test_review_start_needs_a_published_rule_set_and_permission(app, kb, client_for):
    case_id = _create(client_for("hp_officer"))
    assert client_for("hp_officer").post(f"/cases/{case_id}/review").status_code == 403
    resp = client_for("chief").post(f"/cases/{case_id}/review", follow_redirects=True)
    assert "还没有发布的评查规则" in page_text(resp)


def test_demo_cases_reviews_in_every_state(app):
    from app.auth.services import create_user
    from app.cases import review as review_service
    from app.cases.models import CaseReferral
    from app.demo.cases import seed_cases
    from app.demo.knowledge import ARTICLES
    from app.knowledge.models import KnowledgeEntry
    from app.orgs.models import Organisation
    from tests.conftest import TEST_PASSWORD

    with app.app_context():
        orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
        for login, org, roles in (
            ("dcc_chief", "SHYJ-DC", ["section_chief"]),
            ("city_officer2", "SHYJ-DC", ["city_officer"]),
            ("d01_officer", "310101", ["district_officer"]),
            ("d04_officer", "310104", ["district_officer"]),
            ("d05_officer", "310105", ["district_officer"]),
            ("d06_officer", "310106", ["district_officer"]),
        ):
            create_user(login=login, name=login, org=orgs[org], password=TEST_PASSWORD, roles=roles)
        for j, (article, clause, title, _summary, penalty, _tags) in enumerate(ARTICLES):
            db.session.add(
                KnowledgeEntry(
                    library="violation",
                    code=f"WF-01{j + 1:03d}",
                    title=title,
                    status="published",
                    org_id=orgs["SHYJ"].id,
                    fields={
                        "law": "中华人民共和国安全生产法",
                        "article": article,
                        "clause": clause,
                        "penalty_range": penalty,
                    },
                )
            )
        db.session.flush()
        result = seed_cases()
        db.session.commit()
        assert result["cases"] == 9 and result["case_reviews"] == 7
        reviews = db.session.scalars(select(CaseReview)).all()
        assert {r.status for r in reviews} == {"assigning", "scoring", "returned", "signoff", "signed"}
        assert {r.conclusion for r in reviews if r.status == "signed"} == {"excellent", "qualified", "unqualified"}
        by_number = {c.number: c for c in db.session.scalars(select(Case))}
        double = review_service.check_case(by_number["沪徐应急罚〔2026〕201号"])
        assert next(r for r in double if r["check"] == "double_penalty")["auto"] is False
        late = {r["check"]: r for r in review_service.check_case(by_number["沪徐应急罚〔2026〕202号"])}
        assert late["deadline_file"]["auto"] is False and late["deadline_serve"]["auto"] is False
        assert late["docs_required"]["auto"] is False
        over = review_service.check_case(by_number["沪静应急罚〔2026〕401号"])
        assert next(r for r in over if r["check"] == "penalty_range")["auto"] is False
        assert {r.acceptance for r in db.session.scalars(select(CaseReferral))} == {"pending", "accepted", "rejected"}
        assert seed_cases() == {}  # idempotent


def _visible_texts(html: str) -> list[str]:
    """Text of a page as the names walk reads it (tests/e2e/test_names_walk.py), without a browser."""
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    for bad in root.xpath(
        "//script|//style|//code|//pre|//textarea|//*[contains(@class,'font-monospace')]|//*[@data-code]|//template"
    ):
        bad.drop_tree()
    texts = [t.strip() for t in root.xpath("//body//text()") if t.strip()]
    return texts + [o.text_content().strip() for o in root.xpath("//select/option")]


def test_pages_show_names_not_codes(app, kb, deployed, client_for):
    from tests.e2e.test_names_walk import findings_in

    case_id = _create(client_for("hp_officer"))
    review_id = run_review(app, client_for, case_id)
    client_for("hp_officer").post(f"/cases/{case_id}/referrals", data={"referred_on": "2026-05-01", "receiver": "公安"})
    with app.app_context():
        from app.auth.models import Role, User

        codes = {c: "代码" for c in db.session.scalars(select(Role.code))}
        codes |= {login: "登录名" for login in db.session.scalars(select(User.login)) if len(login) > 2}
        rule_set_id = db.session.scalar(select(ReviewRuleSet.id))
    pages = {
        "chief": [
            "/cases/",
            f"/cases/{case_id}",
            "/cases/rules",
            f"/cases/rules/{rule_set_id}",
            "/cases/rules/general/edit",
            "/cases/referrals",
        ],
        "hp_officer": ["/cases/import", f"/cases/{case_id}/edit", "/cases/new"],
        "leader": [f"/inbox/tasks/{_task(app, 'signoff')}"],
    }
    problems = []
    for login, urls in pages.items():
        for url in urls:
            resp = client_for(login).get(url)
            assert resp.status_code == 200, url
            problems += [f"{url} {p}" for p in findings_in(_visible_texts(resp.get_data(as_text=True)), codes)]
    assert review_id
    assert problems == [], "\n".join(problems)
