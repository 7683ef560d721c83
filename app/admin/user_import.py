"""账号批量导入 (XLSX): one row per account, roles and organisation by name, a row-level report in Chinese;
nothing is imported unless every row is valid (app/tabular/imports.py)."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.auth import services as accounts
from app.auth.models import Role
from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.access import permission_required
from app.security.scope import scope_for
from app.tabular.imports import ImportColumn, read_xlsx, run_rows, template_xlsx

COLUMNS = [
    ImportColumn("登录名", "login", required=True),
    ImportColumn("姓名", "name", required=True),
    ImportColumn("机构", "org", required=True, aliases=("机构编码", "机构名称")),
    ImportColumn("角色", "roles", required=True),
    ImportColumn("初始密码", "password", required=True),
    ImportColumn("手机", "phone"),
    ImportColumn("职务", "position"),
    ImportColumn("是否领导", "leader"),
]
EXAMPLE = [
    "zhang_san",
    "张三",
    "黄浦区应急管理局执法大队",
    "大队执法人员",
    "Init@2026pass",
    "13900000000",
    "执法队员",
    "否",
]


def _org(text: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where((Organisation.code == text) | (Organisation.name == text)))
    if org is None:
        raise ValidationFailed(errors={"org": f"没有名称或编码为“{text}”的机构"})
    if not scope_for(current_user).contains(org):
        raise ValidationFailed(errors={"org": f"“{org.name}”不在您的数据范围内"})
    return org


def _roles(text: str) -> list[str]:
    by_name = {r.name: r.code for r in db.session.scalars(select(Role))}
    codes = set(by_name.values())
    out, unknown = [], []
    for part in text.replace("，", "、").replace(",", "、").split("、"):
        part = part.strip()
        if part:
            code = by_name.get(part) or (part if part in codes else None)
            (out if code else unknown).append(code or part)
    if unknown:
        raise ValidationFailed(errors={"roles": "未知角色：" + "、".join(unknown)})
    return out


def _create(row: dict) -> None:
    leader = row.get("leader", "")
    if leader not in ("", "是", "否"):
        raise ValidationFailed(errors={"leader": "请填写“是”或“否”"})
    accounts.create_user(
        login=row["login"],
        name=row["name"],
        org=_org(row["org"]),
        password=row["password"],
        roles=_roles(row["roles"]),
        phone=row.get("phone") or None,
        position=row.get("position") or None,
        is_leader=leader == "是",
        must_change_password=True,
        actor=current_user,
    )


def register(bp) -> None:
    @bp.get("/users/import")
    @permission_required("user.admin")
    def user_import_form():
        return render_template("admin/user_import.html", report=None, columns=COLUMNS)

    @bp.get("/users/import-template.xlsx")
    @permission_required("user.admin")
    def user_import_template():
        data = template_xlsx(COLUMNS, EXAMPLE)
        return Response(
            data,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": "attachment; filename=user-import-template.xlsx"},
        )

    @bp.post("/users/import")
    @permission_required("user.admin")
    def user_import():
        file = request.files.get("file")
        rows = read_xlsx(file.read() if file else b"", COLUMNS)
        report = run_rows(rows, COLUMNS, _create)
        if report.ok:
            db.session.commit()
        else:
            db.session.rollback()  # nothing half-imported
        status = 200 if report.ok else 422
        return render_template("admin/user_import.html", report=report, columns=COLUMNS), status
