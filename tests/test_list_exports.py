"""Lists officers export (alerts, plans, process instances) come out as XLSX with Chinese headers, names
instead of codes, typed dates, the formula guard, and only what the user's scope shows."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.conftest import deploy_test_process
from tests.test_process_admin import FILL, start_demo


def _sheet(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def _demo(app, subject="仓库检查"):
    with app.app_context():
        deploy_test_process("approval_demo")
    start_demo(app, fill={**FILL, "subject": subject})
    with app.app_context():
        row = db.session.scalar(select(HumanTask).where(HumanTask.status == "open"))
        row.due_at = utcnow() - timedelta(hours=1)
        db.session.commit()


def test_task_board_export_in_scope_with_names(app, client_for):
    _demo(app, subject="=HYPERLINK(1)")
    resp = client_for("hp_leader").get("/alerts/export.xlsx?tab=board")
    assert load_workbook(io.BytesIO(resp.get_data())).active.cell(row=2, column=2).data_type == "s"
    rows = _sheet(resp)
    assert rows[0][:4] == ["预警", "事项", "流程", "步骤"]
    assert rows[1][0] == "超期" and rows[1][2] == "测试审批" and rows[1][3] == "大队审核"
    assert rows[1][1].startswith("=HYPERLINK(1)")  # kept as text: the helper's quote-prefix guard, never a formula
    other = _sheet(client_for("xh_leader").get("/alerts/export.xlsx?tab=board"))
    assert len(other) == 1  # another district's leader: header only


def test_instance_export_for_process_admin(app, client_for):
    _demo(app)
    rows = _sheet(client_for("procadmin").get("/admin/processes/instances/export.xlsx"))
    assert rows[0][:5] == ["流程编号", "标题", "流程", "版本", "状态"]
    assert rows[1][2] == "测试审批" and "approval_demo" not in [str(v) for v in rows[1]]
    assert rows[1][7] == "黄浦队员"  # the initiator by name
    assert client_for("hp_officer").get("/admin/processes/instances/export.xlsx").status_code in (403, 404)


def test_plan_export_has_chinese_headers(app, client_for):
    rows = _sheet(client_for("hp_officer").get("/plans/export.xlsx"))
    assert rows[0] == ["计划", "大队", "年", "月", "事项数", "状态", "发布时间"]
    assert client_for("hp_officer").get("/plans/export.pdf").status_code == 422  # unknown format, in Chinese
