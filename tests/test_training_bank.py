"""技能拉练: the question bank (XLSX import with a row-level Chinese report and nothing half-imported,
export), practice with immediate feedback and the wrong-answer book, the versioned practice rules, the
records query through the data scope, the statistics and the pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.training import compete, practice
from app.training.models import PracticeRecord, Question, WrongAnswer
from tests.conftest import page_text, user
from tests.training_support import LAWS, START, deploy_marking, make_bank, make_competition

HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "所属法规", "行业", "难度"]
GOOD = [
    [
        "单选",
        "安全生产工作应当以人为本，坚持（　）。",
        "人民至上、生命至上",
        "效益优先",
        "速度优先",
        "规模优先",
        "A",
        "第三条",
        "中华人民共和国安全生产法",
        "通用",
        "易",
    ],
    [
        "多选",
        "从业人员享有下列哪些权利（　）？",
        "知情权",
        "建议权",
        "拒绝违章指挥",
        "随意离岗",
        "ABC",
        "",
        "中华人民共和国安全生产法",
        "通用",
        "中",
    ],
    [
        "判断",
        "生产经营单位可以与从业人员订立协议，免除其对从业人员因生产安全事故伤亡依法应承担的责任。",
        "",
        "",
        "",
        "",
        "错",
        "第五十二条",
        "中华人民共和国安全生产法",
        "",
        "难",
    ],
    [
        "案例分析",
        "某企业在有限空间作业前未检测即进入，造成一人中毒，请分析。",
        "",
        "",
        "",
        "",
        "未执行先通风、再检测、后作业；未设监护人",
        "",
        "工贸企业有限空间作业安全规定",
        "冶金",
        "难",
    ],
]


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count() -> int:
    return db.session.scalar(select(func.count(Question.id)))


def test_import_reports_each_bad_row_and_imports_nothing(app, client_for):
    c = client_for("leader")
    bad = [
        *GOOD,
        ["单选", "单选答案越界的题目（　）。", "甲", "乙", "", "", "E", "", "中华人民共和国安全生产法", "", "易"],
        [
            "判断",
            "判断题的答案写成了也许，这样不行。",
            "",
            "",
            "",
            "",
            "也许",
            "",
            "中华人民共和国安全生产法",
            "",
            "中",
        ],
        ["问答", "未知题型的一道题目内容。", "", "", "", "", "x", "", "中华人民共和国安全生产法", "", "中"],
        ["单选", GOOD[0][1], "a", "b", "", "", "A", "", "中华人民共和国安全生产法", "", "超难"],
    ]
    resp = c.post("/training/questions/import", data={"file": (io.BytesIO(_xlsx(bad)), "q.xlsx")})
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))
    assert resp.status_code == 422 and "共 8 行，4 行有问题，本次没有导入任何题目" in text
    assert "第 6 行 答案 答案应为选项字母（AB 之内）" in text
    assert "第 7 行 答案 判断题答案应为“对”或“错”" in text
    assert "第 8 行 题型 题型应为 单选、多选、判断 或 案例分析" in text
    assert "第 9 行 题干 与第 2 行题干重复" in text
    with app.app_context():
        assert _count() == 0  # nothing half-imported
    ok = c.post("/training/questions/import", data={"file": (io.BytesIO(_xlsx(GOOD)), "q.xlsx")})
    assert ok.status_code == 200 and "已导入 4 道题目" in page_text(ok)
    with app.app_context():
        judge = db.session.scalar(select(Question).where(Question.qtype == "judge"))
        assert judge.answer == "F" and judge.difficulty == 3 and judge.industry == "通用"
    not_xlsx = c.post("/training/questions/import", data={"file": (io.BytesIO(b"hello"), "q.xlsx")})
    assert not_xlsx.status_code == 422 and "文件不是 Excel" in page_text(not_xlsx)
    # Export and import again: the same headers, refused as duplicates (the bank keeps one copy).
    out = c.get("/training/questions/export.xlsx")
    sheet = load_workbook(io.BytesIO(out.data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["编号", "题型", "题干"] and "所属法规" in header
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == ["单选", "多选", "判断", "案例分析"]
    again = c.post("/training/questions/import", data={"file": (io.BytesIO(out.data), "q.xlsx")})
    assert again.status_code == 422 and re.search(r"与已有题目（编号 \d+）题干相同", page_text(again))
    template = c.get("/training/questions/import-template.xlsx")
    assert load_workbook(io.BytesIO(template.data)).active["A1"].value == "题型（必填）"
    assert client_for("hp_officer").get("/training/questions").status_code == 403
    with app.app_context():
        judge_id = db.session.scalar(select(Question.id).where(Question.qtype == "judge"))
    assert c.post(f"/training/questions/{judge_id}/active", data={"active": "0"}).status_code == 303
    listed = page_text(c.get("/training/questions?qtype=judge"))
    assert "没有符合条件的题目" in listed  # a disabled question is out of the bank's lists, papers and practice


def test_question_form_keeps_input_on_error(client_for):
    c = client_for("leader")
    resp = c.post(
        "/training/questions/new",
        data={
            "qtype": "multi",
            "stem": "多选题只给了一个答案的情况",
            "opt_A": "甲",
            "opt_B": "乙",
            "answer": "A",
            "law": "消防法",
        },
    )
    text = page_text(resp)
    assert resp.status_code == 422 and "多选题至少有两个正确答案" in text and "多选题只给了一个答案的情况" in text


def test_practice_feedback_wrong_book_and_versioned_rules(app, client_for):
    with app.app_context():
        make_bank(n_single=2, n_multi=0, n_judge=1, n_case=1)
        practice.save_settings(user("leader"), {"batch_size": "5", "clear_after": "2"}, "每次 5 题")
        db.session.commit()
        judge = db.session.scalar(select(Question).where(Question.qtype == "judge")).id
    c = client_for("hp_officer")
    run = page_text(c.get("/training/practice/run?law=中华人民共和国安全生产法"))
    assert "判断题第 1 题" in run and "案例分析" not in run  # case questions are left out by the rules
    wrong = page_text(c.post(f"/training/practice/answer/{judge}", data={"response": "T"}))
    assert "回答错误，已记入错题本" in wrong and "正确答案：错误" in wrong
    empty = c.post(f"/training/practice/answer/{judge}", data={})
    assert empty.status_code == 422
    book = page_text(c.get("/training/practice"))
    assert "判断题第 1 题" in book
    assert "判断题第 1 题" in page_text(c.get("/training/practice/run?book=1"))
    c.post(f"/training/practice/answer/{judge}", data={"response": "F"})
    last = page_text(c.post(f"/training/practice/answer/{judge}", data={"response": "F"}))
    assert "回答正确" in last and "移出错题本" in last
    with app.app_context():
        entry = db.session.scalar(select(WrongAnswer))
        assert entry.cleared and entry.wrong_count == 1
        assert db.session.scalar(select(func.count(PracticeRecord.id))) == 3
        assert practice.settings()["batch_size"] == 5
    bad = client_for("leader").post("/training/rules/practice", data={"batch_size": "0", "clear_after": "2"})
    assert bad.status_code == 422 and "每次练习题数应为 1–100 的整数" in page_text(bad)
    with app.app_context():
        assert practice.settings()["batch_size"] == 5  # the refused rules changed nothing
        assert len(practice.setting_history()) == 1


def _practise(login: str, correct: bool, when):
    me = user(login)
    q = db.session.scalar(select(Question).where(Question.qtype == "single").order_by(Question.id))
    practice.answer(me, q.id, "A" if correct else "B", when)


def test_records_query_by_scope_person_unit_and_period(app, client_for):
    with app.app_context():
        make_bank(n_single=2, n_multi=0, n_judge=0, n_case=0)
        _practise("hp_officer", True, START)
        _practise("hp_officer", False, START + timedelta(days=1))
        _practise("xh_officer", True, START)
        _practise("city_officer", True, START)
        db.session.commit()
        hp = {r["person"] for r in practice.records(user("hp_leader"))}
        city = {r["person"] for r in practice.records(user("leader"))}
        assert hp == {"黄浦队员"}  # a district sees its own
        assert city == {"黄浦队员", "徐汇队员", "李晓峰"}  # the city sees all
        [row] = practice.records(user("leader"), person="黄浦队员")
        assert row["answered"] == 2 and row["right"] == 1 and row["rate"] == 50.0
        [row] = practice.records(user("leader"), person="黄浦队员", start=START.date(), end=START.date())
        assert row["answered"] == 1
    page = page_text(client_for("xh_leader").get("/training/records"))
    assert "徐汇队员" in page and "黄浦队员" not in page and "数据范围：" in page
    bad = client_for("leader").get("/training/records?start=2026-13-01")
    assert bad.status_code == 422 and "日期格式不正确" in page_text(bad)
    out = client_for("leader").get("/training/records/export.xlsx")
    sheet = load_workbook(io.BytesIO(out.data)).active
    assert sheet["A1"].value == "姓名" and sheet.max_row == 4


def test_statistics_participation_average_and_weak_topics(app, client_for):
    with app.app_context():
        deploy_marking(app)
        make_bank()
        comp = make_competition(count_case="0", score_case="0")
        for login in ("hp_officer", "xh_officer"):
            me = user(login)
            p = compete.start_or_resume(comp, me, START)
            compete.submit(p, me, START + timedelta(minutes=1))  # nothing answered: 0 points
        for _ in range(3):
            _practise("hp_officer", False, START)
        db.session.commit()
    data = client_for("leader").get("/training/stats.json").get_json()
    assert data["districts"] == ["黄浦区", "徐汇区"] and data["people"] == [1, 1] and data["average"] == [0, 0]
    weakest = data["weak"][0][0]
    assert weakest["law"] in LAWS and weakest["rate"] == 0  # nothing right: every law is weak and weakest["count"] >= 3
    own = client_for("hp_leader").get("/training/stats.json").get_json()
    assert own["districts"] == ["黄浦区"]  # a district sees its own
    assert "薄弱知识点" in page_text(client_for("leader").get("/training/stats"))


@pytest.mark.parametrize(
    "login,path",
    [
        ("hp_officer", "/training/"),
        ("hp_officer", "/training/practice"),
        ("leader", "/training/questions"),
        ("leader", "/training/questions/new"),
        ("leader", "/training/questions/import"),
        ("leader", "/training/rules"),
        ("leader", "/training/rules/competitions/new"),
        ("city_officer", "/training/marking"),
    ],
)
def test_pages_render(client_for, login, path):
    assert client_for(login).get(path).status_code == 200


def test_competition_rules_page_saves_a_new_version(app, client_for):
    with app.app_context():
        make_bank()
        db.session.commit()
    c = client_for("leader")
    form = {
        "name": "黄浦区执法比武",
        "count_single": "2",
        "score_single": "5",
        "time_limit_minutes": "20",
        "max_attempts": "2",
        "starts_at": "2026-06-15T09:00",
        "ends_at": "2026-06-15T12:00",
    }
    assert c.post("/training/rules/competitions/new", data=form).status_code == 303
    bad = c.post("/training/rules/competitions/new", data={**form, "count_single": "abc"})
    assert bad.status_code == 422 and "单选题数应为整数" in page_text(bad) and "黄浦区执法比武" in page_text(bad)
    with app.app_context():
        from app.training.models import Competition

        [comp] = db.session.scalars(select(Competition)).all()
        assert comp.full_marks == 10 and comp.starts_at.hour == 1  # 09:00 Shanghai stored as UTC
        cid = comp.id
    assert c.post(f"/training/rules/competitions/{cid}", data={**form, "max_attempts": "3"}).status_code == 303
    with app.app_context():
        assert db.session.get(Competition, cid).version == 2
