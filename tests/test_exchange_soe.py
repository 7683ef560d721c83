"""R2.6.4 数据归集－国有集团系统: the reporting API with API tokens, XLSX/CSV upload with a row-level
report in Chinese, all or nothing, and each group reaching only its own data."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import func, select

from app.exchange.fakes.data import credit_code
from app.exchange.models import ExchangeRecord, Submission
from app.extensions import db
from app.orgs.models import Organisation
from tests.api_helpers import Bearer, issue_token
from tests.conftest import page_text

UNITS = [
    {
        "unit_code": "SOE-JS-05",
        "unit_name": "久事测试场站公司",
        "credit_code": credit_code(501),
        "parent_code": "SOE-JS",
    },
    {
        "unit_code": "SOE-JS-06",
        "unit_name": "久事测试维修公司",
        "credit_code": credit_code(502),
        "parent_code": "SOE-JS-05",
    },
]
GOOD = {
    "record_no": "JS-2026-001",
    "unit_code": "SOE-JS-01",
    "inspected_on": "2026-11-20",
    "inspector": "王伟",
    "hazards": 2,
}


def _count(dataset: str) -> int:
    return db.session.scalar(select(func.count()).where(ExchangeRecord.dataset == dataset))


def test_api_structure_records_and_attachments_all_or_nothing(app):
    token = issue_token(app, "svc_js", org="SOE-JS", roles=["soe_officer"])
    api = Bearer(app, token)
    made = api.post("/api/v1/exchange/soe/units", json={"items": UNITS})
    assert made.status_code == 200, made.get_json()
    with app.app_context():
        unit = db.session.scalar(select(Organisation).where(Organisation.code == "SOE-JS-06"))
        assert unit.kind == "soe_unit" and unit.path.startswith("/SOE-JS/SOE-JS-05/")
    bad = [
        GOOD,
        {**GOOD, "record_no": "JS-2026-002", "inspected_on": "2026-13-01", "inspector": ""},
        {**GOOD, "record_no": "JS-2026-003", "unit_code": "SOE-CT-01"},
        {**GOOD, "record_no": "JS-2026-004", "hazards": "两处"},
    ]
    refused = api.post("/api/v1/exchange/soe/inspections", json={"items": bad})
    body = refused.get_json()
    assert refused.status_code == 422 and "本次报送未入库" in body["message"]
    messages = {(p["row"], p["message"]) for p in body["problems"]}
    assert (2, "「检查日期」日期格式应为 YYYY-MM-DD") in messages and (2, "缺少必填项「检查人员」") in messages
    assert (3, "受检单位不在本集团架构内（请先报送集团架构）") in messages and (4, "「发现隐患数」应为整数") in messages
    with app.app_context():
        assert _count("soe_inspection") == 0  # the good first row was not kept either
        assert db.session.scalar(select(Submission.status).order_by(Submission.id.desc())) == "refused"
    ok = api.post("/api/v1/exchange/soe/inspections", json={"items": [GOOD, {**GOOD, "record_no": "JS-2026-009"}]})
    assert ok.status_code == 200 and ok.get_json()["accepted"] == 2
    again = api.post("/api/v1/exchange/soe/inspections", json={"items": [{**GOOD, "hazards": 3}]})
    assert again.status_code == 200
    listed = api.get("/api/v1/exchange/soe/inspections").get_json()
    first = next(i for i in listed["items"] if i["record_no"] == "JS-2026-001")
    assert listed["count"] == 2 and first["hazards"] == 3 and first["version"] == 2  # a correction, versioned
    files = {"record_no": "JS-2026-001", "file": (io.BytesIO(b"%PDF-1.4 test"), "检查照片.pdf")}
    attached = api.post("/api/v1/exchange/soe/attachments", data=files, content_type="multipart/form-data")
    assert attached.status_code == 200 and attached.get_json()["size"] == 13
    foreign = {"record_no": "CT-1", "file": (io.BytesIO(b"x"), "a.txt")}
    assert (
        api.post("/api/v1/exchange/soe/attachments", data=foreign, content_type="multipart/form-data").status_code
        == 422
    )
    # Another group's account sees none of it and cannot attach to it.
    other = Bearer(app, issue_token(app, "svc_ct", org="SOE-CT", roles=["soe_officer"]))
    assert other.get("/api/v1/exchange/soe/inspections").get_json()["count"] == 0
    files = {"record_no": "JS-2026-001", "file": (io.BytesIO(b"x"), "a.txt")}
    assert (
        other.post("/api/v1/exchange/soe/attachments", data=files, content_type="multipart/form-data").status_code
        == 422
    )
    stolen = other.post("/api/v1/exchange/soe/units", json={"items": [{**UNITS[0], "unit_name": "抢注"}]})
    assert stolen.status_code == 422 and "单位编码已被其他单位使用" in str(stolen.get_json()["problems"])
    # A district account is not a group: refused.
    district = Bearer(app, issue_token(app, "svc_hp", org="310101", roles=["district_officer"]))
    assert district.post("/api/v1/exchange/soe/units", json={"items": UNITS}).status_code == 403


def test_api_refuses_a_body_that_is_not_a_list(app):
    api = Bearer(app, issue_token(app, "svc_js2", org="SOE-JS", roles=["soe_officer"]))
    assert api.post("/api/v1/exchange/soe/units", data="{", content_type="application/json").status_code == 400
    assert api.post("/api/v1/exchange/soe/units", json={"items": "x"}).status_code == 400
    assert api.get("/api/v1/exchange/soe/nothing").status_code == 404
    assert api.get("/api/v1/exchange/soe/units").get_json()["count"] == 0


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["记录编号", "受检单位编码", "检查日期", "检查人员", "发现隐患数", "检查情况"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_upload_xlsx_and_csv_with_a_row_level_report(app, client_for):
    page = client_for("soe")
    assert page.get("/exchange/soe").status_code == 200
    template = page.get("/exchange/soe/template/soe_inspection.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    data = _xlsx(
        [["R1", "SOE-JS-01", "2026-11-01", "李强", 1, "消防通道堵塞"], ["R2", "SOE-JS-02", "昨天", "张敏", 0, ""]]
    )
    refused = page.post(
        "/exchange/soe/upload",
        data={"dataset": "soe_inspection", "file": (io.BytesIO(data), "检查.xlsx")},
        content_type="multipart/form-data",
    )
    text = page_text(refused)
    assert refused.status_code == 422 and "本次报送未入库" in text and "日期格式应为 YYYY-MM-DD" in text
    with app.app_context():
        assert _count("soe_inspection") == 0
    data = _xlsx(
        [["R1", "SOE-JS-01", "2026-11-01", "李强", 1, "消防通道堵塞"], ["R2", "SOE-JS-02", "2026-11-02", "张敏", 0, ""]]
    )
    done = page.post(
        "/exchange/soe/upload",
        data={"dataset": "soe_inspection", "file": (io.BytesIO(data), "检查.xlsx")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    csv_body = "记录编号,受检单位编码,检查日期,检查人员,发现隐患数\nR3,SOE-JS-03,2026-11-03,赵六,4\n".encode("gb18030")
    done = page.post(
        "/exchange/soe/upload",
        data={"dataset": "soe_inspection", "file": (io.BytesIO(csv_body), "检查.csv")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    html = page_text(page.get("/exchange/soe"))
    assert "已入库" in html and "未通过校验（1 处问题）" in html and "R3" in html
    missing = page.post(
        "/exchange/soe/upload",
        data={"dataset": "soe_inspection", "file": (io.BytesIO("记录编号\nR9\n".encode()), "x.csv")},
        content_type="multipart/form-data",
    )
    assert missing.status_code in (303, 422)
    # A member unit sees only its own unit's records.
    unit_page = page_text(client_for("soe_unit").get("/exchange/soe"))
    assert "R1" in unit_page and "R2" not in unit_page
    assert client_for("hp_officer").get("/exchange/soe").status_code == 403
