"""企业批量导入 (XLSX): one row per enterprise, district, industry and organisation by name; a row already in the
库 (same 统一社会信用代码) is updated. A row-level report in Chinese; nothing is imported unless every row is
valid (app/tabular/imports.py)."""

from __future__ import annotations

from datetime import date

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import or_, select

from app.audit import services as audit
from app.enterprises.credit_code import is_valid
from app.enterprises.models import Enterprise
from app.enterprises.reference import district_org, industries
from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.access import permission_required
from app.security.scope import scope_for
from app.tabular.imports import ImportColumn, read_xlsx, run_rows, template_xlsx

# 企业维护, or the system administrator who keeps the base data (organisations, users, enterprises).
IMPORT = ("enterprise.edit", "org.admin")
COLUMNS = [
    ImportColumn("企业名称", "name", required=True),
    ImportColumn("统一社会信用代码", "credit_code", required=True, aliases=("信用代码",)),
    ImportColumn("所属区", "district", required=True),
    ImportColumn("行业", "industry"),
    ImportColumn("属地监管单位", "org"),
    ImportColumn("地址", "address"),
    ImportColumn("法定代表人", "legal_person"),
    ImportColumn("联系电话", "phone"),
    ImportColumn("从业人员", "employees"),
    ImportColumn("成立日期", "established_on"),
]
EXAMPLE = [
    "上海示例化工有限公司",
    "91310101MA1FL0000X",
    "黄浦区",
    "危险化学品",
    "",
    "上海市黄浦区示例路 1 号",
    "张三",
    "021-60000000",
    "120",
    "2015-03-01",
]


class Importer:
    """Checks every cell first and writes only a valid row; remembers the codes of the file (duplicates)."""

    def __init__(self, actor) -> None:
        self.actor = actor
        self.scope = scope_for(actor)
        self.seen: dict[str, int] = {}
        self.created = self.updated = 0
        self.industries = industries()
        self.industry_by_name = {name: code for code, name in self.industries.items()}

    def _district(self, text: str) -> Organisation:
        org = district_org(text) or db.session.scalar(
            select(Organisation).where(
                Organisation.kind == "district",
                or_(Organisation.name == text, Organisation.short_name == text, Organisation.short_name + "区" == text),
            )
        )
        if org is None:
            raise ValidationFailed(errors={"district": f"没有名为“{text}”的区"})
        return org

    def _org(self, text: str, district: Organisation) -> Organisation:
        if not text:
            return district
        org = db.session.scalar(
            select(Organisation).where(or_(Organisation.code == text, Organisation.name == text)).limit(1)
        )
        if org is None:
            raise ValidationFailed(errors={"org": f"没有名称或编码为“{text}”的机构"})
        return org

    def row(self, row: dict) -> None:
        errors = {}
        code = row["credit_code"].upper().replace(" ", "")
        if not is_valid(code):
            errors["credit_code"] = f"“{row['credit_code']}”不是有效的统一社会信用代码（18 位，校验位须正确）"
        elif code in self.seen:
            errors["credit_code"] = f"与第 {self.seen[code]} 行重复"
        try:
            district = self._district(row["district"])
            org = self._org(row.get("org", ""), district)
            if not self.scope.contains(org):
                errors["org"] = f"“{org.name}”不在您的数据范围内"
        except ValidationFailed as exc:
            errors.update(exc.errors)
            district = org = None
        industry = row.get("industry", "")
        if industry and industry not in self.industries and industry not in self.industry_by_name:
            errors["industry"] = f"未知行业“{industry}”"
        employees = row.get("employees", "")
        if employees and not (employees.isdigit() and int(employees) < 10_000_000):
            errors["employees"] = "请填写人数（非负整数）"
        established = None
        if row.get("established_on"):
            try:
                established = date.fromisoformat(row["established_on"][:10])
            except ValueError:
                errors["established_on"] = "日期格式应为 2015-03-01"
        if len(row["name"]) > 200:
            errors["name"] = "企业名称过长（最多 200 字）"
        existing = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code)) if not errors else None
        if existing is not None and not (self.scope.contains(existing.org) or self.scope.all):
            errors["credit_code"] = "该企业已在库中，但不在您的数据范围内，不能修改"
        if errors:
            raise ValidationFailed(errors=errors)
        self.seen[code] = row["_row"]
        ent = existing or Enterprise(credit_code=code)
        ent.name, ent.org_id, ent.district_code = row["name"], org.id, district.code
        ent.industry_code = self.industry_by_name.get(industry, industry) or ent.industry_code
        for key, attr in (("address", "address"), ("legal_person", "legal_person"), ("phone", "contact_phone")):
            if row.get(key):
                setattr(ent, attr, row[key][:300])
        if employees:
            ent.employees = int(employees)
        if established:
            ent.established_on = established
        if existing is None:
            db.session.add(ent)
            self.created += 1
        else:
            self.updated += 1


def register(bp) -> None:
    @bp.get("/import")
    @permission_required(*IMPORT)
    def import_form():
        return render_template("enterprises/import.html", report=None, columns=COLUMNS)

    @bp.get("/import-template.xlsx")
    @permission_required(*IMPORT)
    def import_template():
        return Response(
            template_xlsx(COLUMNS, EXAMPLE),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": "attachment; filename=enterprise-import-template.xlsx"},
        )

    @bp.post("/import")
    @permission_required(*IMPORT)
    def import_upload():
        file = request.files.get("file")
        rows = read_xlsx(file.read() if file else b"", COLUMNS)
        importer = Importer(current_user)
        report = run_rows(rows, COLUMNS, importer.row)
        if report.ok:
            db.session.flush()
            audit.record(
                "enterprise.import",
                actor=current_user,
                object_type="enterprise",
                object_id=report.imported,
                detail={"rows": report.imported, "count": importer.created, "changes": importer.updated},
            )
            db.session.commit()
        else:
            db.session.rollback()  # nothing half-imported
        counts = {"created": importer.created, "updated": importer.updated}
        return render_template("enterprises/import.html", report=report, columns=COLUMNS, counts=counts), (
            200 if report.ok else 422
        )
