"""Pickers, dates, the organisation tree, the 工作台 and the instance diagram in a real browser: names shown
with codes kept in hidden fields, a Chinese date picker, a collapsible searchable tree, counts that say what
to do next, a diagram readable at its first view. Screenshots go to test-output/e2e/."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.conftest import deploy_test_process
from tests.test_process_admin import FILL, start_demo


def _demo(app, overdue: bool = True) -> int:
    with app.app_context():
        deploy_test_process("approval_demo")
    instance_id = start_demo(app, fill=FILL)
    if overdue:
        with app.app_context():
            row = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
            row.due_at = utcnow() - timedelta(hours=2)
            db.session.commit()
    return instance_id


def test_workbench_and_instance_diagram(app, browser_page, console_errors, output_dir):
    instance_id = _demo(app)
    leader = browser_page("hp_leader")
    leader.goto("/")
    assert "1" in leader.inner_text("#wb-todo") and "超期 1" in leader.inner_text("#wb-overdue")
    assert "大队审核" in leader.inner_text("#wb-next") and "黄浦" in leader.inner_text("#wb-units")
    leader.screenshot(path=str(output_dir / "workbench-leader.png"), full_page=True)
    leader.click("#wb-next a")
    leader.wait_for_selector('.diagram[data-import="ok"]')
    scale = float(leader.get_attribute(".diagram", "data-scale"))
    assert scale >= 0.6, scale  # readable: never fitted down to a few pixels
    assert leader.locator(".diagram .djs-element.ducha-current").count() == 1
    assert leader.locator(".diagram .djs-element.ducha-system").count() >= 1  # the rule task, drawn lighter
    leader.click('.diagram-controls [aria-label="放大"]')
    assert float(leader.get_attribute(".diagram", "data-scale")) > scale
    leader.click('.diagram-controls [aria-label="缩略图"]')
    leader.wait_for_selector(".diagram .djs-minimap.open")
    leader.screenshot(path=str(output_dir / "instance-diagram.png"), full_page=True)
    officer = browser_page("hp_officer")
    officer.goto("/")
    assert "测试审批" in officer.inner_text("#wb-start")
    officer.screenshot(path=str(output_dir / "workbench-officer.png"), full_page=True)
    assert console_errors == [], "\n".join(console_errors)
    assert instance_id


def test_date_picker_in_chinese_and_user_picker_shows_names(app, browser_page, console_errors):
    with app.app_context():
        deploy_test_process("approval_demo")
    start_demo(app)  # the first step, 填写申请, is the officer's: its form has a date field
    with app.app_context():
        fill_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "fill"))
    officer = browser_page("hp_officer")
    officer.goto(f"/inbox/tasks/{fill_id}")
    due = officer.locator("#f-due")
    due.click()
    officer.wait_for_selector(".flatpickr-calendar.open")
    assert "月" in officer.inner_text(".flatpickr-calendar.open .flatpickr-current-month")
    assert "周" in officer.inner_text(".flatpickr-calendar.open .flatpickr-weekdays")
    due.fill("2026-12-24")
    due.press("Tab")
    assert officer.inner_text("#f-due + .date-cn") == "2026年12月24日" and due.input_value() == "2026-12-24"

    officer.fill("#f-subject", "日期与人员选择")
    officer.fill("#f-amount", "100")
    officer.select_option("#f-category", "a")
    officer.click("button[name=action][value=complete]")
    officer.wait_for_url("**/inbox/")
    leader = browser_page("hp_leader")
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "review"))
    leader.goto(f"/inbox/tasks/{task_id}")
    leader.click("button[data-bs-target='#panel-transfer']")
    picker = leader.locator("#user-transfer")
    picker.wait_for(state="visible")
    picker.type("黄浦队")
    leader.wait_for_function("() => document.querySelectorAll('#dl-user-transfer option').length > 0")
    login = leader.eval_on_selector("#dl-user-transfer option", "o => o.value")
    label = leader.eval_on_selector("#dl-user-transfer option", "o => o.label")
    picker.fill(login)  # what choosing the option does: the option's value lands in the field
    picker.dispatch_event("input")
    assert picker.input_value() == label and login not in label  # the name is shown
    hidden = leader.locator('#panel-transfer input[type=hidden][name="user"]')
    assert hidden.input_value() == login  # the code is sent
    assert console_errors == [], "\n".join(console_errors)


def test_organisation_tree_collapses_and_searches(app, browser_page, console_errors, output_dir):
    admin = browser_page("admin")
    admin.goto("/admin/orgs")
    table = admin.locator("table[data-org-tree]")
    total = admin.locator("table[data-org-tree] tbody tr").count()
    shown = int(table.get_attribute("data-shown"))
    assert 0 < shown < total
    admin.fill("#org-tree-search", "徐汇")
    found = admin.locator("table[data-org-tree] tbody tr.table-warning")
    assert found.count() >= 1 and "徐汇" in found.first.inner_text()
    assert int(table.get_attribute("data-shown")) < total
    admin.fill("#org-tree-search", "")
    admin.click("#org-tree-expand")
    assert int(table.get_attribute("data-shown")) == total
    admin.screenshot(path=str(output_dir / "org-tree.png"), full_page=True)
    assert console_errors == [], "\n".join(console_errors)
