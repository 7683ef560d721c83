"""In a real browser: a candidate starts a competition paper, answers (autosaved), loses the connection
while answering (the answer waits in the browser), reloads the page, finds every answer again with the
server's clock still running, and submits once."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models_base import utcnow
from app.training.models import Paper
from tests.conftest import user
from tests.training_support import deploy_marking, make_bank, make_competition


def test_take_a_paper_lose_the_connection_resume_and_submit(app, browser_page, output_dir, console_errors):
    with app.app_context():
        deploy_marking(app)
        make_bank()
        now = utcnow().replace(microsecond=0)
        comp = make_competition(
            count_case="0",
            score_case="0",
            count_multi="1",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
        ).id
        db.session.commit()

    page = browser_page("hp_officer")
    page.goto(f"/training/competitions/{comp}")
    page.click("#start-paper")
    page.wait_for_url("**/training/papers/*")
    assert "剩余 29:" in page.inner_text("#clock") or "剩余 30:00" in page.inner_text("#clock")
    questions = page.locator(".question")
    assert questions.count() == 3 + 1 + 2
    first, second = questions.nth(0), questions.nth(1)
    first.locator("input[value=A]").check()
    expect(page.locator("#save-state")).to_contain_text("已自动保存", timeout=15_000)

    # The connection drops: the next answer cannot be sent and waits in the browser.
    page.context.set_offline(True)
    second.locator("input[value=B]").check()
    expect(page.locator("#save-state")).to_contain_text("网络中断", timeout=15_000)
    page.screenshot(path=str(output_dir / "training-paper-offline.png"), full_page=True)
    url = page.url
    # The tab is closed while still offline; the connection comes back and the candidate opens the paper
    # again: the saved answer comes from the server, the waiting one from the browser and is sent at once;
    # the clock still counts on the server's time.
    context = page.context
    page.close()
    context.set_offline(False)
    page = context.new_page()
    page.goto(url)
    assert page.locator(".question").nth(0).locator("input[value=A]").is_checked()
    assert page.locator(".question").nth(1).locator("input[value=B]").is_checked()
    expect(page.locator("#save-state")).to_contain_text("已自动保存", timeout=15_000)
    with app.app_context():
        paper = db.session.scalar(select(Paper).where(Paper.user_id == user("hp_officer").id))
        saved = {a.position: a.response for a in paper.answers}
        assert saved[1] == "A" and saved[2] == "B" and paper.status == "answering"
    page.reload()  # a plain reload (lost connection, F5): everything is on the server now
    assert page.locator(".question").nth(1).locator("input[value=B]").is_checked()

    page.on("dialog", lambda d: d.accept())
    page.click("#submit-paper")
    page.wait_for_selector("#paper-result")
    assert "已评分" in page.inner_text("#paper-result")
    page.screenshot(path=str(output_dir / "training-paper-submitted.png"), full_page=True)
    with app.app_context():
        paper = db.session.scalar(select(Paper).where(Paper.user_id == user("hp_officer").id))
        assert paper.status == "scored" and paper.submit_note == "手动交卷"
        assert [a.response for a in paper.answers][:2] == ["A", "B"]
    assert console_errors == []
