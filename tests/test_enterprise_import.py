"""企业批量导入 from XLSX: districts, industries and organisations by name, a row-level Chinese report, an
existing credit code updated, nothing half-imported, bad files refused in Chinese (app/enterprises/imports.py)."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.enterprises.models import Enterprise
from app.extensions import db
from tests.conftest import page_text, xlsx_bytes
from tests.enterprise_fixtures import credit, make_enterprise

HEADER = [
    "企业名称（必填）",
    "统一社会信用代码（必填）",
    "所属区（必填）",
    "行业",
    "属地监管单位",
    "地址",
    "从业人员",
    "成立日期",
]


def _xlsx(rows) -> bytes:
    return xlsx_bytes(HEADER, rows)


def _upload(client, data: bytes):
    return client.post(
        "/enterprises/import", data={"file": (io.BytesIO(data), "企业.xlsx")}, content_type="multipart/form-data"
    )


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Enterprise.id)))


def _district_name(app, code: str) -> str:
    from app.enterprises.reference import districts

    with app.app_context():
        return districts()[code]


def test_a_clean_sheet_creates_and_updates(app, client_for):
    with app.app_context():
        make_enterprise("310101", 9, "上海旧名称有限公司")
        db.session.commit()
    hp, xh = _district_name(app, "310101"), _district_name(app, "310104")
    admin = client_for("admin")
    template = admin.get("/enterprises/import-template.xlsx")
    assert load_workbook(io.BytesIO(template.data)).active["A1"].value == "企业名称（必填）"
    rows = [
        [
            "上海新导入化工有限公司",
            credit("310104", 1),
            xh,
            "危险化学品",
            None,
            "上海市徐汇区导入路 1 号",
            35,
            "2019-05-06",
        ],
        ["上海新名称有限公司", credit("310101", 9), hp, None, None, None, None, None],
    ]
    resp = _upload(admin, _xlsx(rows))
    assert resp.status_code == 200, page_text(resp)
    assert "已导入 2 家企业（新增 1 家，更新 1 家）" in page_text(resp)
    with app.app_context():
        new = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == credit("310104", 1)))
        assert new.district_code == "310104" and new.org.code == "310104" and new.employees == 35
        assert new.industry_code and new.established_on.isoformat() == "2019-05-06"
        old = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == credit("310101", 9)))
        assert old.name == "上海新名称有限公司" and old.address  # blank cells keep what was there
        assert db.session.scalar(select(func.count(Enterprise.id))) == 2


def test_one_bad_row_imports_nothing_and_says_why_per_row(app, client_for):
    hp = _district_name(app, "310101")
    rows = [
        ["上海甲有限公司", credit("310101", 21), hp, None, None, None, None, None],
        ["上海乙有限公司", "91310101MA0000000Z", hp, "不存在的行业", None, None, "很多", "2019/13/40"],
        ["上海丙有限公司", credit("310101", 21), "火星区", None, None, None, None, None],
        [None, credit("310101", 23), hp, None, None, None, None, None],
    ]
    resp = _upload(client_for("admin"), _xlsx(rows))
    text = page_text(resp)
    assert resp.status_code == 422 and "共 4 行，3 行有问题，本次没有导入任何企业" in text
    assert "第 3 行" in text and "不是有效的统一社会信用代码" in text and "未知行业“不存在的行业”" in text
    assert "请填写人数" in text and "日期格式应为" in text
    assert "第 4 行" in text and "没有名为“火星区”的区" in text and "第 5 行" in text and "必填，不能为空" in text
    assert _count(app) == 0  # the valid first row was not kept either


def test_scope_permission_and_bad_files(app, client_for):
    assert client_for("hp_officer").get("/enterprises/import").status_code == 403
    resp = _upload(client_for("admin"), b"not a workbook")
    assert resp.status_code == 422 and "不是 Excel" in page_text(resp)
    wb = Workbook()
    wb.active.append(["企业名称", "地址"])
    wb.active.append(["上海某公司", "某路"])
    out = io.BytesIO()
    wb.save(out)
    missing = _upload(client_for("admin"), out.getvalue())
    assert missing.status_code == 422 and "缺少必填列「统一社会信用代码」" in page_text(missing)
    assert _count(app) == 0
