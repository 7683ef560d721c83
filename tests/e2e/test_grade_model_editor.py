"""In a real browser: a process administrator edits the grade model's decision tables as tables (dmn-js in
Chinese) instead of XML; the edit is saved, validated and stored as DMN; a published version is read-only."""

from __future__ import annotations

import html

from sqlalchemy import select

from app.extensions import db
from app.grading import services
from app.grading.models import GradeModel


def test_grade_model_tables_are_edited_as_tables(app, browser_page, output_dir, console_errors):
    with app.app_context():
        published = services.published_model()
        db.session.commit()
        published_id = published.id
    admin = browser_page("procadmin")
    admin.goto("/grading/models")
    admin.click("form[action$='/grading/models/new'] button[type=submit]")
    admin.wait_for_url("**/grading/models/*")
    draft_id = int(admin.url.rstrip("/").rsplit("/", 1)[1])
    for field in ("points_dmn", "grade_dmn"):
        admin.wait_for_selector(f"[data-dmn-for={field}][data-import=ok]")
    assert not admin.is_visible("textarea#grade_dmn")  # the table stands in for the XML
    grade_table = admin.locator("[data-dmn-for=grade_dmn]")
    assert "A" in grade_table.inner_text()
    # Change the first rule's input entry (its score threshold) by typing into the table cell.
    cell = grade_table.locator("td.input-cell").first
    before = cell.inner_text().strip()
    cell.click()
    admin.keyboard.press("End")
    admin.keyboard.type("0")
    grade_table.locator("th").first.click()  # leave the cell: the edit is committed to the table
    admin.screenshot(path=str(output_dir / "grade-model-editor.png"), full_page=True)
    with admin.expect_navigation():
        admin.click(f"form[action$='/grading/models/{draft_id}'] button[type=submit]")
    page = admin.inner_text("body")
    with app.app_context():
        draft = db.session.get(GradeModel, draft_id)
        assert "草稿已保存并通过校验" in page, page[:400]
        assert html.escape(before + "0", quote=False) in draft.grade_dmn  # the typed edit, stored as DMN
        assert draft.points_dmn.lstrip().startswith("<?xml") or "<definitions" in draft.points_dmn
    # A published version: the tables are shown, nothing is editable, no save button.
    admin.goto(f"/grading/models/{published_id}")
    admin.wait_for_selector("[data-dmn-for=grade_dmn][data-import=ok]")
    assert admin.locator("button:has-text('校验并保存草稿')").count() == 0
    assert not console_errors, console_errors
    with app.app_context():
        assert db.session.scalar(select(GradeModel.status).where(GradeModel.id == published_id)) == "published"
