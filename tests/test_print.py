"""打印 and print.pdf: the forms' fields with their titles in order, values formatted for reading, the history
in Chinese, and no internal keys."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from app.clues.models import Clue
from app.extensions import db
from tests.conftest import page_text
from tests.test_clue_process import clue_process, fast_pdf, registered, to_review  # noqa: F401  (fixtures)

INTERNAL = (
    "clue_id",
    "last_actor",
    "handle_role",
    "feedback_role",
    "order_doc",
    "_approvals",
    "step_result",
    "approved",
)


@pytest.mark.usefixtures("clue_process")  # real PDFs: the record is read back below
def test_print_page_and_pdf_show_labelled_formatted_fields_and_chinese_history(app, client_for):
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    to_review(app, client_for, officer)
    with app.app_context():
        inst = db.session.get(Clue, clue_id).instance_id
    html = officer.get(f"/inbox/instances/{inst}/print").get_data(as_text=True)
    page = page_text(officer.get(f"/inbox/instances/{inst}/print"))
    # Forms as sections, fields by their titles, in the form's order.
    assert "<h2>线索研判</h2>" in html and "<h2>派单</h2>" in html and "<h2>线索处理</h2>" in html
    assert page.index("涉及企业") < page.index("是否具备核查条件") < page.index("风险等级") < page.index("研判意见")
    # Values for reading: option titles, dates, units by name.
    assert "具备核查条件" in page and "<td>高</td>" in html and "<td>high</td>" not in html
    assert "2026年11月20日" in page and "2026-11-20" not in page
    assert "黄浦区" in page.split("承办单位（机构代码）")[1][:40]
    assert "属实" in page and "substantiated" not in page
    # The history in Chinese; no internal keys anywhere.
    assert "审批通过" in page and "提交" in page and "approve" not in page and "complete" not in page
    for key in INTERNAL:
        assert key not in html, key
    # The PDF is the same record.
    assert officer.get(f"/inbox/instances/{inst}/print.pdf").status_code == 202  # rendered by the job worker
    from app.reports import jobs

    assert jobs.wait_for_jobs(60)
    pdf = officer.get(f"/inbox/instances/{inst}/print.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "风险等级" in text and "具备核查条件" in text and "审批通过" in text
    assert "clue_id" not in text and "high" not in text


@pytest.mark.usefixtures("clue_process", "fast_pdf")
def test_clue_page_says_which_deadline_is_which(app, client_for):
    from tests.test_clue_process import accept, dispatch, judge

    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    accept(app, client_for)
    judge(app, client_for, risk="low")  # the DMN gives the clue its deadline
    dispatch(app, client_for)
    with app.app_context():
        clue = db.session.get(Clue, clue_id)
        deadline = clue.deadline.isoformat()
    page = page_text(officer.get(f"/clues/{clue_id}"))
    assert f"线索办结期限 {deadline}" in page
    assert "本环节期限" in page  # the current step's own time limit, named as such
    step_due = page.split("本环节期限 ")[1][:10]
    assert step_due != deadline  # 处理 has 10 working days; a low-risk clue more
    assert "「本环节期限」是当前这一步的办理时限" in page and f"「线索办结期限」{deadline}" in page
    assert "办结期限" in page_text(officer.get("/clues/"))
    # The task form names the clue's deadline as the clue's, the header the step's.
    from tests.test_clue_process import open_row

    task = page_text(client_for("hp_officer").get(f"/inbox/tasks/{open_row(app, 'handle')}"))
    assert "线索办结期限" in task and "本步骤期限" in task
