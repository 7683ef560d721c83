"""A person in a real browser: start a process, fill the form, send it on, approve it from the inbox
with the diagram, history and common phrases on the page."""

from __future__ import annotations

from tests.conftest import deploy_test_process


def test_start_fill_and_approve_in_browser(app, browser_page, output_dir, console_errors):
    with app.app_context():
        deploy_test_process("approval_demo")
    officer = browser_page("hp_officer")
    officer.goto("/inbox/start")
    officer.click("text=测试审批")
    officer.click("main button[type=submit]")  # no start form: straight to the first task
    officer.wait_for_url("**/inbox/tasks/*")
    officer.fill("#f-subject", "检")
    officer.fill("#f-amount", "12000")
    officer.select_option("#f-category", "a")
    officer.click("button[name=action][value=complete]")
    assert officer.locator("text=事项至少 2 个字").is_visible()  # the server's Chinese field message
    officer.fill("#f-subject", "浏览器端到端检查")
    officer.click("button[name=action][value=complete]")
    officer.wait_for_url("**/inbox/")
    officer.screenshot(path=str(output_dir / "inbox-officer-after-submit.png"), full_page=True)

    leader = browser_page("hp_leader")
    leader.goto("/inbox/")
    assert leader.locator("#inbox-badge").inner_text().strip() == "1"
    leader.click("text=浏览器端到端检查")
    leader.wait_for_url("**/inbox/tasks/*")
    # The diagram is drawn by bpmn-js with the current step marked.
    leader.wait_for_selector(".diagram .djs-element.ducha-current", timeout=15_000)
    assert leader.locator("#history").inner_text().count("提交") >= 1
    leader.fill("#comment", "同意，按期办理")
    leader.screenshot(path=str(output_dir / "inbox-leader-task.png"), full_page=True)
    leader.click("button[name=action][value=approve]")
    leader.wait_for_url("**/inbox/")
    leader.goto("/inbox/?tab=done")
    assert leader.locator("#inbox-table tbody tr").count() == 1  # one effect, in 已办 once
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
