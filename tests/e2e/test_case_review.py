"""A case-file review (案卷评查) in a real browser: 督查处 starts it from the case page and assigns a reviewer in
the inbox; the reviewer scores each item on the scoring page (an override needs a reason, refused in Chinese
without one); the leader signs the conclusion off in the inbox; the case page shows the signed review."""

from __future__ import annotations

from sqlalchemy import select

from app.cases import services
from app.cases.models import Case, CaseReview
from app.extensions import db
from tests.cases_support import GOOD, deploy_review, make_entries
from tests.conftest import user


def test_review_from_assignment_to_signed_conclusion(app, browser_page, output_dir, console_errors):
    with app.app_context():
        make_entries()
        deploy_review()
        case, _ = services.save_case(user("hp_officer"), GOOD)
        db.session.commit()
        case_id = case.id

    chief = browser_page("chief")
    chief.goto(f"/cases/{case_id}")
    assert "缺少必备文书" in chief.locator("#checks").inner_text()
    chief.click("#start-review")
    chief.wait_for_selector("text=已发起评查")
    chief.goto("/inbox/")
    chief.click("text=案卷评查：")
    chief.wait_for_url("**/inbox/tasks/*")
    chief.fill("#f-reviewer_login", "city_officer")
    chief.click("button[name=action][value=complete]")
    chief.wait_for_url("**/inbox/")

    reviewer = browser_page("city_officer")
    reviewer.goto("/inbox/")
    reviewer.click("text=案卷评查：")
    reviewer.wait_for_url("**/inbox/tasks/*")
    href = reviewer.locator("#f-score_url a").get_attribute("href")
    reviewer.goto(href)
    # The documents item failed its automatic check: giving full points needs a reason.
    reviewer.fill("#score-G4", "20")
    reviewer.fill("#score-G7", "9")
    reviewer.fill("#score-G8", "8")
    reviewer.select_option("#conclusion", "qualified")
    reviewer.click("#submit-scores")
    assert "改变了自动检查结果，请说明理由" in reviewer.locator("#score-errors").inner_text()
    reviewer.fill("#score-G4", "20")
    reviewer.fill("#reason-G4", "文书原件已在档案室核实")
    reviewer.select_option("#conclusion", "qualified")
    reviewer.screenshot(path=str(output_dir / "case-review-scoring.png"), full_page=True)
    reviewer.click("#submit-scores")
    reviewer.wait_for_url("**/inbox/")

    leader = browser_page("leader")
    leader.goto("/inbox/")
    leader.click("text=案卷评查：")
    leader.wait_for_url("**/inbox/tasks/*")
    assert "合格" in leader.locator("#f-conclusion_label").inner_text()
    leader.fill("#comment", "同意，结论生效")
    leader.click("button[name=action][value=approve]")
    leader.wait_for_url("**/inbox/")

    with app.app_context():
        review = db.session.scalar(select(CaseReview).where(CaseReview.case_id == case_id))
        assert review.status == "signed" and review.conclusion == "qualified" and review.total_score == 97
        assert review.signed_by.login == "leader" and db.session.get(Case, case_id) is not None
    chief.goto(f"/cases/{case_id}")
    reviews = chief.locator("#reviews").inner_text()
    assert "已签发" in reviews and "合格" in reviews and "周建国" in reviews
    chief.screenshot(path=str(output_dir / "case-review-signed.png"), full_page=True)
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
