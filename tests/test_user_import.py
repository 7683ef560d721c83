"""账号批量导入 from XLSX: roles and organisations by name, a row-level Chinese report, nothing half-imported,
and bad files refused in Chinese (app/tabular/imports.py, app/admin/user_import.py)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from tests.conftest import page_text, xlsx_bytes

HEADER = [
    "登录名（必填）",
    "姓名（必填）",
    "机构（必填）",
    "角色（必填）",
    "初始密码（必填）",
    "手机",
    "职务",
    "是否领导",
]


def _xlsx(rows) -> bytes:
    return xlsx_bytes(HEADER, rows)


def _upload(client, data: bytes):
    return client.post(
        "/admin/users/import", data={"file": (io.BytesIO(data), "users.xlsx")}, content_type="multipart/form-data"
    )


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


GOOD = ["imp_one", "导入一", "310101", "大队执法人员", "Import@2026pw", "13900001111", "执法队员", "否"]
GOOD2 = ["imp_two", "导入二", "310101", "大队领导、大队执法人员", "Import@2026pw", None, None, "是"]


def test_a_clean_sheet_imports_every_row(app, client_for):
    admin = client_for("admin")
    resp = _upload(admin, _xlsx([GOOD, GOOD2]))
    assert resp.status_code == 200 and "已导入 2 个账号" in page_text(resp)
    with app.app_context():
        two = db.session.scalar(select(User).where(User.login == "imp_two"))
        assert two.is_leader and {r.code for r in two.roles} == {"district_leader", "district_officer"}
        assert two.must_change_password and two.org.code == "310101"


def test_one_bad_row_imports_nothing_and_says_why(app, client_for):
    admin = client_for("admin")
    before = _count(app)
    bad = ["imp_bad", "", "不存在的机构", "外星人", "Import@2026pw", None, None, "也许"]
    dup = ["admin", "重复", "310101", "大队执法人员", "Import@2026pw", None, None, None]
    resp = _upload(admin, _xlsx([GOOD, bad, dup]))
    text = page_text(resp)
    assert resp.status_code == 422 and "本次没有导入任何账号" in text
    assert "第 3 行" in text and "姓名" in text and "必填" in text
    assert "第 4 行" in text and "已被使用" in text
    assert _count(app) == before  # GOOD (row 2) was valid, yet not imported


def test_unknown_role_and_organisation_are_named(app, client_for):
    admin = client_for("admin")
    resp = _upload(admin, _xlsx([["imp_x", "某人", "不存在的机构", "大队执法人员", "Import@2026pw"]]))
    assert resp.status_code == 422 and "没有名称或编码为“不存在的机构”的机构" in page_text(resp)
    resp = _upload(admin, _xlsx([["imp_y", "某人", "310101", "外星人", "Import@2026pw"]]))
    assert "未知角色：外星人" in page_text(resp)


def test_bad_files_are_refused_in_chinese(app, client_for):
    admin = client_for("admin")
    resp = _upload(admin, b"login,name\nx,y\n")
    assert resp.status_code == 422 and "不是 Excel" in page_text(resp)
    wb = Workbook()
    wb.active.append(["姓名"])
    wb.active.append(["某人"])
    out = io.BytesIO()
    wb.save(out)
    assert "缺少必填列「登录名」" in page_text(_upload(admin, out.getvalue()))
    template = admin.get("/admin/users/import-template.xlsx")
    header = [c.value for c in next(load_workbook(io.BytesIO(template.get_data())).active.iter_rows())]
    assert header[0] == "登录名（必填）" and "角色（必填）" in header
    assert client_for("hp_officer").get("/admin/users/import").status_code == 403
