"""The visual form designer: add a field from the palette, set its title, name and required, edit the choices
of another, drag a field to the top; the JSON Schema file (what the runtime reads) and the live preview follow,
and the draft validates."""

from __future__ import annotations

import json

from app.extensions import db
from app.processes import workspace
from tests.e2e.test_modeler import _demo


def test_design_a_form_by_clicking_and_dragging(app, browser_page, console_errors, output_dir):
    _demo(app)
    page = browser_page("procadmin")
    page.goto("/admin/processes/approval_demo/edit?file=demo_fill.schema.json")
    page.wait_for_selector('#form-designer[data-import="ok"]')
    fields = page.eval_on_selector_all("#form-designer [data-field]", "els => els.map(e => e.dataset.field)")
    assert fields[:3] == ["subject", "amount", "category"]

    page.click('#form-designer [data-add-kind="date"]')
    editor = page.locator("#form-designer .fd-editor")
    editor.locator("[name=fd-title]").fill("检查日期")
    editor.locator("[name=fd-title]").press("Tab")
    page.locator("#form-designer .fd-editor [name=fd-key]").fill("check_date")
    page.locator("#form-designer .fd-editor [name=fd-key]").press("Tab")
    page.check("#form-designer .fd-editor [name=fd-required]")
    page.wait_for_selector("#form-preview-body #f-check_date")
    assert "检查日期" in page.inner_text("#form-preview-body")

    page.click('#form-designer [data-field="category"]')
    options = page.locator("#form-designer .fd-editor [name=fd-options]")
    options.fill("a=甲类\nb=乙类\nc=丙类")
    options.press("Tab")
    page.wait_for_selector("#form-preview-body #f-category option[value=c]", state="attached")

    page.drag_and_drop('#form-designer [data-field="check_date"]', '#form-designer [data-field="subject"]')
    page.wait_for_function("() => document.querySelector('#form-designer [data-field]').dataset.field === 'check_date'")
    page.screenshot(path=str(output_dir / "form-designer.png"), full_page=True)

    page.click("#btn-validate")
    page.wait_for_selector("#editor-message.alert-success")
    with app.app_context():
        text = workspace.load("approval_demo").get("demo_fill.schema.json").text
        db.session.rollback()
    schema = json.loads(text)
    assert next(iter(schema["properties"])) == "check_date"
    assert schema["properties"]["check_date"] == {"type": "string", "format": "date", "title": "检查日期"}
    assert "check_date" in schema["required"]
    assert {"const": "c", "title": "丙类"} in schema["properties"]["category"]["oneOf"]
    assert console_errors == [], "\n".join(console_errors)
