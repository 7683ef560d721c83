"""计划事项批量导入 (XLSX) into a draft monthly plan: one row per enterprise (统一社会信用代码, or the exact name),
with the 超限检查说明 an enterprise at its annual limit needs and an optional date in the plan's month. A
row-level report in Chinese; nothing is imported unless every row is valid (app/tabular/imports.py)."""

from __future__ import annotations

from datetime import date

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.enterprises.models import Enterprise
from app.errors import ValidationFailed
from app.extensions import db
from app.plans import services
from app.security.access import permission_required
from app.tabular.imports import ImportColumn, read_xlsx, run_rows, template_xlsx

COLUMNS = [
    ImportColumn("统一社会信用代码", "credit_code", aliases=("信用代码",)),
    ImportColumn("企业名称", "name"),
    ImportColumn("超限检查说明", "note", aliases=("说明",)),
    ImportColumn("计划检查日期", "planned_on", aliases=("检查日期",)),
]
EXAMPLE = ["91310101MA1FL0000X", "上海示例化工有限公司", "", ""]


class Importer:
    def __init__(self, plan) -> None:
        self.plan = plan
        self.seen: dict[int, int] = {}

    def row(self, row: dict) -> None:
        code, name = row.get("credit_code", "").upper(), row.get("name", "")
        if not code and not name:
            raise ValidationFailed(errors={"credit_code": "请填写统一社会信用代码或企业名称"})
        ent = db.session.scalar(
            select(Enterprise).where(Enterprise.credit_code == code if code else Enterprise.name == name).limit(1)
        )
        if ent is None:
            raise ValidationFailed(errors={"credit_code": f"企业库中没有“{code or name}”"})
        if ent.id in self.seen:
            raise ValidationFailed(errors={"credit_code": f"{ent.name}与第 {self.seen[ent.id]} 行重复"})
        day = None
        if row.get("planned_on"):
            try:
                day = date.fromisoformat(row["planned_on"][:10])
            except ValueError:
                raise ValidationFailed(errors={"planned_on": "日期格式应为 2026-12-08"}) from None
            if (day.year, day.month) != (self.plan.year, self.plan.month):
                raise ValidationFailed(errors={"planned_on": f"日期须在 {self.plan.year} 年 {self.plan.month} 月内"})
        item = services.add_item(self.plan, current_user, credit_code=ent.credit_code, note=row.get("note"))
        item.planned_on = day
        self.seen[ent.id] = row["_row"]


def register(bp) -> None:
    @bp.get("/import-template.xlsx")
    @permission_required("plan.draft")
    def items_import_template():
        return Response(
            template_xlsx(COLUMNS, EXAMPLE),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": "attachment; filename=plan-items-template.xlsx"},
        )

    @bp.post("/<int:plan_id>/items/import")
    @permission_required("plan.draft")
    def items_import(plan_id: int):
        plan = services.get_visible(plan_id, current_user)
        services.ensure_editable(plan, current_user)
        file = request.files.get("file")
        rows = read_xlsx(file.read() if file else b"", COLUMNS)
        report = run_rows(rows, COLUMNS, Importer(plan).row)
        if report.ok:
            db.session.commit()
        else:
            db.session.rollback()  # nothing half-imported
        return render_template("plans/import.html", plan=plan, report=report), (200 if report.ok else 422)
