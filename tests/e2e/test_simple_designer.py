"""The simple designer in a real browser: build a three-node approval with a condition branch by clicking,
deploy it, start it as an officer, and approve it through the inbox as two leaders."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask


def _blur(page, selector: str, value: str) -> None:
    """Type into a side-panel field and leave it (the designer applies a field on change)."""
    page.fill(selector, value)
    page.press(selector, "Tab")


def test_build_deploy_and_run_a_designed_approval(app, browser_page, output_dir, console_errors):
    admin = browser_page("procadmin")
    admin.goto("/admin/designer/")
    admin.click("[data-template=blank] >> text=使用此模板")
    admin.wait_for_url("**/admin/designer/new?template=blank")

    # 发起人: process name and id (the blank template starts with the 事项申请 form).
    admin.click(".dd-node.dd-type-start")
    _blur(admin, "#designer-panel [name=process-name]", "设计器端到端审批")
    _blur(admin, "#designer-panel [name=process-id]", "e2e_designer")

    # Node 1 is the template's 直属领导审批; add a condition branch after it.
    admin.locator(".dd-flow > .dd-add").nth(1).locator(".dd-add-btn").click()
    admin.click(".dd-menu [data-add-type=condition]")
    assert admin.locator(".dd-branch-block .dd-cond").count() == 2

    # 条件1 → 大额: amount > 10000.
    admin.click(".dd-cond:has-text('条件1')")
    _blur(admin, "#designer-panel [name=branch-name]", "大额")
    admin.click("#dd-add-rule")
    admin.select_option("#designer-panel [name=rule-field-0]", "amount")
    admin.select_option("#designer-panel [name=rule-op-0]", ">")
    _blur(admin, "#designer-panel [name=rule-value-0]", "10000")
    assert "金额（元） 大于 10000" in admin.locator(".dd-cond:has-text('大额')").inner_text()

    # Node 2, in the 大额 branch: the city leader.
    admin.locator(".dd-branch-col").nth(0).locator("> .dd-add .dd-add-btn").first.click()
    admin.click(".dd-menu [data-add-type=approval]")
    _blur(admin, "#designer-panel [name=name]", "市领导审批")
    admin.select_option("#designer-panel [name=assignee-kind]", "users")
    _blur(admin, "#designer-panel [name=assignee-users]", "leader")

    # Node 3, in 其他情况: the district leaders by role.
    admin.locator(".dd-branch-col").nth(1).locator("> .dd-add .dd-add-btn").first.click()
    admin.click(".dd-menu [data-add-type=approval]")
    _blur(admin, "#designer-panel [name=name]", "区级复核")
    admin.select_option("#designer-panel [name=assignee-kind]", "role")
    admin.select_option("#designer-panel [name=assignee-role]", "district_leader")

    # A delay added by mistake, then undone.
    admin.locator(".dd-flow > .dd-add").last.locator(".dd-add-btn").click()
    admin.click(".dd-menu [data-add-type=delay]")
    assert admin.locator(".dd-type-delay").count() == 1
    admin.click("#btn-undo")
    assert admin.locator(".dd-type-delay").count() == 0
    assert admin.locator(".dd-node.dd-type-approval").count() == 3

    admin.click("#btn-validate")
    admin.wait_for_selector("#designer-message.alert-success")
    assert "校验通过" in admin.inner_text("#designer-message")
    admin.click("#btn-deploy")
    admin.wait_for_selector("#designer-start-link")
    assert "已部署流程「设计器端到端审批」第 1 版" in admin.inner_text("#designer-message")
    admin.screenshot(path=str(output_dir / "designer-built-and-deployed.png"), full_page=True)
    admin.click("#btn-xml")
    admin.wait_for_selector("#designer-xml:has-text('bpmn:exclusiveGateway')")

    # An officer starts it with a large amount; two leaders approve through the inbox.
    officer = browser_page("hp_officer")
    officer.goto("/inbox/start/e2e_designer")
    officer.fill("#f-subject", "设计器流程端到端")
    officer.select_option("#f-category", "purchase")
    officer.fill("#f-amount", "20000")
    officer.click("main button[type=submit]")
    officer.wait_for_url("**/inbox/**")

    for login, shot in (("hp_leader", "designer-run-district-leader.png"), ("leader", "designer-run-city-leader.png")):
        leader = browser_page(login)
        leader.goto("/inbox/")
        leader.click("text=设计器流程端到端")
        leader.wait_for_url("**/inbox/tasks/*")
        leader.wait_for_selector(".diagram .djs-element.ducha-current", timeout=15_000)  # the generated layout draws
        leader.fill("#comment", "同意")
        leader.screenshot(path=str(output_dir / shot), full_page=True)
        leader.click("button[name=action][value=approve]")
        leader.wait_for_url("**/inbox/")

    with app.app_context():
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_id == "e2e_designer"))
        assert instance.status == "completed"
        steps = {r.step_name for r in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))}
        assert steps == {"直属领导审批", "市领导审批"}  # the 大额 branch, not 区级复核
    assert not console_errors, console_errors


def test_copy_move_delete_and_save_a_draft(app, browser_page, output_dir, console_errors):
    admin = browser_page("procadmin")
    admin.goto("/admin/designer/new?template=two_level")
    _blur(admin, "#designer-panel [name=process-id]", "e2e_ops")

    first = ".dd-node[data-node-id=approve_first]"
    admin.click(f"{first} [data-action=copy]")  # a copy right after the original
    titles = admin.locator(".dd-flow > .dd-node .dd-node-title").all_inner_texts()
    assert titles == ["发起人", "一级审批（直属领导）", "一级审批（直属领导）（副本）", "二级审批（上级领导）"]
    admin.click(".dd-node[data-node-id=approve_second] [data-action=up]")
    titles = admin.locator(".dd-flow > .dd-node .dd-node-title").all_inner_texts()
    assert titles[2] == "二级审批（上级领导）"
    admin.click("#btn-undo")
    admin.click("#btn-undo")
    assert admin.locator(".dd-flow > .dd-node").count() == 3  # start + the template's two approvals

    # A parallel branch with a cc on one side and a trigger on the other; then one branch deleted.
    admin.locator(".dd-flow > .dd-add").last.locator(".dd-add-btn").click()
    admin.click(".dd-menu [data-add-type=parallel]")
    admin.click(".dd-branch-head .dd-add-branch")
    assert admin.locator(".dd-branch-col").count() == 3
    admin.locator(".dd-branch-col").nth(0).locator("> .dd-add .dd-add-btn").click()
    admin.click(".dd-menu [data-add-type=cc]")
    _blur(admin, "#designer-panel [name=cc-users]", "leader,xh_leader")
    admin.locator(".dd-branch-col").nth(1).locator("> .dd-add .dd-add-btn").click()
    admin.click(".dd-menu [data-add-type=trigger]")
    admin.select_option("#designer-panel [name=trigger-mode]", "update")
    admin.click("#designer-panel >> text=添加字段")
    _blur(admin, "#designer-panel [name=assign-field-0]", "state")
    _blur(admin, "#designer-panel [name=assign-value-0]", "已送审")
    admin.locator(".dd-branch-col").nth(2).locator(".dd-cond [data-action=delete-branch]").click()
    assert admin.locator(".dd-branch-col").count() == 2
    admin.screenshot(path=str(output_dir / "designer-parallel-branches.png"), full_page=True)

    admin.click("#btn-save")
    admin.wait_for_selector("#designer-message.alert-success")
    admin.wait_for_url("**/admin/designer/edit/e2e_ops")
    with app.app_context():
        from app.designer import services

        tree = services.open_process("e2e_ops").tree
    kinds = [n["type"] for n in tree["nodes"]]
    assert kinds == ["approval", "approval", "parallel"]
    cc, update = (b["nodes"][0] for b in tree["nodes"][2]["branches"])
    assert cc["users"] == ["leader", "xh_leader"]
    assert update["assignments"] == [{"field": "state", "value": "已送审"}]
    assert not console_errors, console_errors


def test_first_click_on_plus_right_after_typing_in_a_side_field_works(app, browser_page, console_errors):
    admin = browser_page("procadmin")
    admin.goto("/admin/designer/new?template=blank")
    admin.click(".dd-node.dd-type-start")
    admin.fill("#designer-panel [name=process-name]", "刚输入未离开")  # no Tab: the field still has focus
    admin.locator(".dd-flow > .dd-add").last.locator(".dd-add-btn").click()  # one click: blur, re-render, menu
    admin.click(".dd-menu [data-add-type=cc]")
    admin.wait_for_selector(".dd-node.dd-type-cc")
    assert admin.inner_text("#designer-title") == "刚输入未离开"  # the typed value was applied too
    assert console_errors == [], "\n".join(console_errors)
