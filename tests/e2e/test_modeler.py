"""The process modeler in a real browser: change a task name in the side panel, validate, deploy, see the
new version; validation markers on the diagram; the other editors and viewers load without CSP errors."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import ProcessModel
from app.extensions import db
from app.processes import uploads, workspace
from tests.conftest import DATA, deploy_test_process, user
from tests.test_process_admin import FILL, start_demo


def _demo(app):
    with app.app_context():
        deploy_test_process("approval_demo")


def test_change_task_name_validate_deploy_and_see_new_version(app, browser_page, console_errors, output_dir):
    _demo(app)
    page = browser_page("procadmin")
    page.goto("/admin/processes/approval_demo/edit")
    page.wait_for_selector('#canvas[data-import="ok"]')
    assert "自动排布" in page.inner_text("#layout-note")  # the deployed file had no BPMNDI

    page.click('.djs-element[data-element-id="review"]')
    page.wait_for_selector('#side-panel[data-element-id="review"]')
    assert page.input_value('#side-panel select[name="kind"]') == "approval"
    assert page.input_value('#side-panel input[name="dueWorkingDays"]') == "2"
    name = page.locator('#side-panel [name="name"]')
    assert name.input_value() == "大队审核"
    name.fill("大队复核")
    name.press("Tab")
    page.wait_for_selector('.djs-element[data-element-id="review"] text:has-text("大队复核")')
    # A property through the panel as well: the due time in working days.
    due = page.locator('#side-panel input[name="dueWorkingDays"]')
    due.fill("3")
    due.press("Tab")
    page.wait_for_function("() => window.duchaModeler.get('commandStack').canUndo()")
    page.screenshot(path=str(output_dir / "modeler-properties.png"), full_page=True)

    page.click("#btn-validate")
    page.wait_for_selector("#editor-message.alert-success")
    assert "校验通过" in page.inner_text("#editor-message")
    page.screenshot(path=str(output_dir / "modeler-validated.png"), full_page=True)

    page.fill("#deploy-comment", "浏览器中修改节点名称")
    page.click("#btn-deploy")
    page.wait_for_url("**/admin/processes/approval_demo")
    row = page.locator('tr[data-version="2"]')
    row.wait_for()
    assert (
        "当前" in row.inner_text() and "流程管理员" in row.inner_text() and "浏览器中修改节点名称" in row.inner_text()
    )
    assert "已部署流程「测试审批」第 2 版" in page.inner_text("main")
    page.screenshot(path=str(output_dir / "modeler-deployed.png"), full_page=True)
    with app.app_context():
        model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == "approval_demo"))
        bpmn = model.current_version.bpmn
        assert model.current_version.version == 2 and 'name="大队复核"' in bpmn
        assert 'name="dueWorkingDays" value="3"' in bpmn and "BPMNShape" in bpmn
        assert "spiffworkflow:calledDecisionId" in bpmn and '"PT1H"' in bpmn  # extensions survive the modeler
    assert console_errors == [], "\n".join(console_errors)


def test_validation_marks_the_elements_and_selects_them(app, browser_page, console_errors):
    _demo(app)
    with app.app_context():
        ws = workspace.load("approval_demo")
        text = (DATA / "workflows" / "approval_demo.bpmn").read_text(encoding="utf-8").replace('"PT1H"', "PT1H")
        workspace.save_file(ws, "approval_demo.bpmn", text, user("procadmin"))
        db.session.commit()
    page = browser_page("procadmin")
    page.goto("/admin/processes/approval_demo/edit")
    page.wait_for_selector('#canvas[data-import="ok"]')
    page.click("#btn-validate")
    page.wait_for_selector("#editor-message.alert-danger")
    page.wait_for_selector('.djs-element.ducha-error[data-element-id="sign_timeout"]')
    item = page.locator('.problem[data-element-id="sign_timeout"]')
    assert "字面量需加引号" in item.inner_text()
    item.click()
    page.wait_for_selector('#side-panel[data-element-id="sign_timeout"]')
    timer = page.locator('#side-panel [name="timerEventDefinitionValue"]')
    assert timer.input_value() == "PT1H"
    timer.fill('"PT2H"')
    timer.press("Tab")
    page.click("#btn-validate")
    page.wait_for_selector("#editor-message.alert-success")
    assert page.locator(".djs-element.ducha-error").count() == 0
    assert console_errors == [], "\n".join(console_errors)


def test_dmn_and_form_editors_instance_viewer_heatmap_and_dry_run(app, browser_page, console_errors, output_dir):
    _demo(app)
    instance_id = start_demo(app, fill=FILL)
    page = browser_page("procadmin")
    page.goto("/admin/processes/approval_demo/edit?file=demo_priority.dmn")
    page.wait_for_selector('#dmn-canvas[data-import="ok"]')
    assert page.locator("#dmn-canvas .tjs-table").count() == 1  # the decision table view

    page.goto("/admin/processes/approval_demo/edit?file=demo_fill.schema.json")
    page.wait_for_selector('#form-designer[data-import="ok"]')  # the visual designer first, JSON one tab away
    page.wait_for_selector("#form-preview-body #f-subject")
    assert "事项" in page.inner_text("#form-preview-body")

    page.goto(f"/admin/processes/instances/{instance_id}")
    page.wait_for_selector('#instance-diagram[data-import="ok"]')
    assert page.locator('.djs-element.ducha-current[data-element-id="review"]').count() == 1
    assert page.locator('.djs-element.ducha-done[data-element-id="fill"]').count() == 1
    page.screenshot(path=str(output_dir / "instance.png"), full_page=True)

    page.goto("/admin/processes/approval_demo/heatmap")
    page.wait_for_selector('#heatmap[data-import="ok"]')
    assert "等待 1" in page.inner_text('.heat-badge[data-step="review"]')

    page.goto("/admin/processes/approval_demo/dryrun")
    page.wait_for_selector('#dryrun-diagram[data-import="ok"]')
    page.click('#dryrun-start button[type="submit"]')
    page.wait_for_selector('.dryrun-task[data-step="fill"]')
    page.fill('.dryrun-task[data-step="fill"] textarea', '{"subject": "试运行", "amount": 5, "category": "b"}')
    page.click('.dryrun-task[data-step="fill"] button[type="submit"]')
    page.wait_for_selector('.dryrun-task[data-step="review"]')
    page.wait_for_selector('.djs-element.ducha-current[data-element-id="review"]')
    page.fill('.dryrun-task[data-step="review"] textarea', "not json")
    page.click('.dryrun-task[data-step="review"] button[type="submit"]')
    page.wait_for_selector('#dryrun-error:has-text("数据不是有效的 JSON")')
    page.screenshot(path=str(output_dir / "dryrun.png"), full_page=True)
    assert console_errors == [], "\n".join(console_errors)


def test_every_miwg_file_displays_in_the_modeler(app, browser_page, console_errors, miwg):
    files = miwg
    page = browser_page("procadmin")
    shown = {}
    for path in files:  # one at a time: several files share a process id (WFP-6-), i.e. one workspace
        with app.app_context():
            pid, _note = uploads.upload_new(path.name, path.read_bytes(), user("procadmin"))
            db.session.commit()
        page.goto(f"/admin/processes/{pid}/edit")
        page.wait_for_selector("#canvas[data-import]")
        shown[path.name] = (page.get_attribute("#canvas", "data-import"), page.locator(".djs-element").count())
        with app.app_context():
            workspace.discard(workspace.load(pid), user("procadmin"))
            db.session.commit()
    assert {name: state for name, (state, _count) in shown.items() if state != "ok"} == {}
    assert all(count > 3 for _state, count in shown.values()), shown
    assert console_errors == [], "\n".join(console_errors)


ENGLISH = r"[A-Za-z]{3,}"


def _english(texts: list[str]) -> list[str]:
    import re

    return [t for t in texts if re.search(ENGLISH, t.replace("BPMN", "").replace("DMN", ""))]


def test_modeler_speaks_chinese_and_its_pickers_show_names(app, browser_page, console_errors, output_dir):
    _demo(app)
    page = browser_page("procadmin")
    page.goto("/admin/processes/approval_demo/edit")
    page.wait_for_selector('#canvas[data-import="ok"]')
    # The palette covers nothing: every shape starts right of it.
    covered = page.evaluate(
        """() => { const right = document.querySelector('.djs-palette').getBoundingClientRect().right;
        const shapes = [...document.querySelectorAll('.djs-shape')];
        return shapes.filter(s => s.getBoundingClientRect().left < right).length; }"""
    )
    assert covered == 0
    palette = page.eval_on_selector_all(".djs-palette .entry[aria-label]", "els => els.map(e => e.ariaLabel)")
    assert len(palette) > 10 and _english(palette) == [], palette

    page.click('.djs-element[data-element-id="review"]')
    page.wait_for_selector('#side-panel[data-element-id="review"]')
    pad = page.eval_on_selector_all(".djs-context-pad .entry[title]", "els => els.map(e => e.title)")
    assert len(pad) > 4 and _english(pad) == [], pad
    groups = page.eval_on_selector_all(".bio-properties-panel-group-header-title", "els => els.map(e => e.textContent)")
    assert "办理人" in groups and "期限与超时" in groups and _english(groups) == [], groups
    labels = page.eval_on_selector_all("#side-panel label", "els => els.map(e => e.textContent)")
    assert _english(labels) == [], labels
    assert "用户任务" in page.inner_text(".bio-properties-panel-header-type")

    # Assignee: a role picked by name, stored as its code.
    page.select_option('#side-panel select[name="assigneeKind"]', "role")
    role = page.locator('#side-panel select[name="assigneeRole"]')
    role.wait_for()
    assert "总队领导" in role.inner_text() and "city_leader" not in role.inner_text()
    role.select_option(label="总队领导")
    # People: names with their organisation, logins only in the file.
    page.select_option('#side-panel select[name="assigneeKind"]', "users")
    add = page.locator('#side-panel select[name="assigneeUsers-add"]')
    add.wait_for()
    option = add.locator("option").nth(1)
    login, text = option.get_attribute("value"), option.inner_text()
    assert login not in text and "（" in text
    add.select_option(login)
    page.wait_for_selector(f'#side-panel .ducha-chips[data-people="{login}"]')
    assert text.split("（")[0] in page.inner_text("#side-panel .ducha-chips")
    # The method 会签 and a button label.
    page.select_option('#side-panel select[name="method"]', "all")
    page.click('[data-group-id="group-ducha-buttons"] .bio-properties-panel-group-header')
    page.fill('#side-panel input[name="button-label-approve"]', "同意")
    page.press('#side-panel input[name="button-label-approve"]', "Tab")
    xml = page.evaluate("() => window.duchaModeler.saveXML().then(r => r.xml)")
    assert f'name="assignee" value="users:{login}"' in xml and 'name="method" value="all"' in xml
    assert "approve:同意" in xml
    page.screenshot(path=str(output_dir / "modeler-properties-panel.png"), full_page=True)

    # A lane says the role it stands for, by name.
    page.click('.djs-element[data-element-id="Lane_leader"] .djs-hit', position={"x": 10, "y": 40}, force=True)
    page.wait_for_selector('#side-panel[data-element-id="Lane_leader"]')
    assert "大队领导" in page.inner_text('#side-panel select[name="laneRole"]')
    assert console_errors == [], "\n".join(console_errors)


def test_prefixed_references_draw_and_validate_keeps_the_upload(app, browser_page, console_errors):
    """bpmnElement="bpmn2:_x" files draw every shape; 校验 validates the stored file, nothing is re-saved."""
    text = (DATA / "interop" / "prefixed_refs.bpmn").read_text(encoding="utf-8")
    with app.app_context():
        pid, _note = uploads.upload_new("prefixed_refs.bpmn", text.encode(), user("procadmin"))
        db.session.commit()
    page = browser_page("procadmin")
    page.goto(f"/admin/processes/{pid}/edit")
    page.wait_for_selector("#canvas[data-import]")
    assert page.get_attribute("#canvas", "data-import") == "ok"
    for element in ("_start", "_review", "_gw", "_done", "_refused", "_f3"):
        assert page.locator(f'.djs-element[data-element-id="{element}"]').count() == 1, element
    page.click("#btn-validate")
    page.wait_for_selector("#problems .problem-list, #problems p")
    assert "引用的元素" not in page.inner_text("#problems")
    with app.app_context():
        assert workspace.load(pid).files["prefixed_refs.bpmn"].text == text  # 校验 saved nothing over the upload
    assert console_errors == [], "\n".join(console_errors)


def test_import_problems_of_other_modelers_are_explained_in_chinese(app, browser_page, console_errors):
    text = (DATA / "interop" / "prefixed_refs.bpmn").read_text(encoding="utf-8")
    ghost = text.replace(
        "</bpmndi:BPMNPlane>",
        '<bpmndi:BPMNShape id="_ghost_di" bpmnElement="_ghost"><dc:Bounds x="0" y="0" width="10" height="10" />'
        "</bpmndi:BPMNShape></bpmndi:BPMNPlane>",
    )
    with app.app_context():
        pid, _note = uploads.upload_new("ghost.bpmn", ghost.encode(), user("procadmin"))
        db.session.commit()
    page = browser_page("procadmin")
    page.goto(f"/admin/processes/{pid}/edit")
    page.wait_for_selector("#canvas[data-import]")
    assert page.get_attribute("#canvas", "data-import") == "ok"
    assert int(page.get_attribute("#canvas", "data-import-warnings")) >= 1
    message = page.inner_text("#editor-message")
    assert "导入提示" in message and "_ghost" in message and "unresolved" not in message
    assert console_errors == [], "\n".join(console_errors)
