"""案卷评查 over /api/v1: the list and a case in the data scope of the token (district, city, SOE group), the
filters and bad parameters in Chinese, a document's download, and the XLSX import (row-level report, nothing
half-imported)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseDocument
from app.extensions import db
from tests.api_helpers import Bearer, issue_token
from tests.cases_support import GOOD, deploy_review, make_entries
from tests.conftest import xlsx_bytes
from tests.test_cases import HEADER, ROW

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def cases(app, client_for):
    """A 黄浦 case with a document and a 徐汇 case, entered on the pages; their ids."""
    with app.app_context():
        make_entries()
        db.session.commit()
        deploy_review()
    hp = client_for("hp_officer")
    resp = hp.post("/cases/new", data=GOOD)
    assert resp.status_code == 302
    hp_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    up = hp.post(f"/cases/{hp_id}/documents", data={"doc_type": "decision", "file": (io.BytesIO(PDF), "决定书.pdf")})
    assert up.status_code == 302
    xh = client_for("xh_officer").post(
        "/cases/new", data={**GOOD, "number": "沪徐应急罚〔2026〕1号", "org": "310104", "title": "徐汇案件"}
    )
    assert xh.status_code == 302
    return hp_id, int(xh.headers["Location"].rsplit("/", 1)[1])


def _api(app, login, org, roles, **kw) -> Bearer:
    return Bearer(app, issue_token(app, login, org=org, roles=roles, **kw))


def test_list_and_case_follow_the_tokens_scope(app, cases):
    hp_id, xh_id = cases
    hp = _api(app, "svc_hp", "310101", ["district_officer"])
    listed = hp.get("/api/v1/cases")
    assert listed.status_code == 200
    body = listed.get_json()
    assert [c["id"] for c in body["items"]] == [hp_id] and body["total"] == 1  # 徐汇's case is outside the scope
    assert body["items"][0]["org_name"] == "黄浦区应急管理局执法大队" and body["items"][0]["type_label"] == "一般程序"
    assert hp.get(f"/api/v1/cases/{xh_id}").status_code == 403
    city = _api(app, "svc_city", "SHYJ-ZH", ["section_chief"])
    assert {c["id"] for c in city.get("/api/v1/cases").get_json()["items"]} == {hp_id, xh_id}
    # A city token narrowed to 徐汇 sees 徐汇 only.
    narrowed = _api(app, "svc_city_xh", "SHYJ-ZH", ["section_chief"], scope="310104")
    assert [c["id"] for c in narrowed.get("/api/v1/cases").get_json()["items"]] == [xh_id]
    assert narrowed.get(f"/api/v1/cases/{hp_id}").status_code == 403
    # An SOE group never sees enforcement cases.
    soe = _api(app, "svc_soe", "SOE-JS", ["soe_officer"])
    assert soe.get("/api/v1/cases").get_json()["total"] == 0
    assert soe.get(f"/api/v1/cases/{hp_id}").status_code == 403
    # Filters as on the page.
    assert city.get("/api/v1/cases", query_string={"q": "徐汇"}).get_json()["total"] == 1
    assert city.get("/api/v1/cases", query_string={"type": "simple"}).get_json()["total"] == 0
    bad = city.get("/api/v1/cases", query_string={"type": "特别程序", "page": "0"})
    assert bad.status_code == 422
    err = bad.get_json()
    assert set(err) == {"code", "message", "errors"} and err["code"] == "invalid"
    assert err["errors"]["type"].startswith("应为 simple") and err["errors"]["page"] == "页码应为 1 到 100000"


def test_case_detail_has_parties_violations_documents_checks_and_reviews(app, cases, client_for):
    hp_id, _ = cases
    assert client_for("chief").post(f"/cases/{hp_id}/review").status_code == 302
    hp = _api(app, "svc_hp", "310101", ["district_officer"])
    case = hp.get(f"/api/v1/cases/{hp_id}").get_json()
    assert case["number"] == GOOD["number"] and case["dates"]["filed_on"] == "2026-03-04"
    assert {(p["kind"], p["name"], p["penalty_yuan"]) for p in case["parties"]} == {
        ("unit", "上海某化工有限公司", 50000),
        ("person", "张某", 15000),
    }
    assert [v["code"] for v in case["violations"]] == ["T-97"]
    [doc] = case["documents"]
    assert doc["type_label"] == "行政处罚决定书" and doc["downloadable"] and len(doc["sm3"]) == 64
    assert case["checks"] and all({"code", "title", "auto", "auto_message"} <= set(c) for c in case["checks"])
    assert any(c["auto"] is False for c in case["checks"])  # the sample case misses required documents
    assert [(r["status"], r["rule_version"]) for r in case["reviews"]] == [("assigning", 1)]
    # The document's file, in scope only.
    got = hp.get(f"/api/v1/cases/documents/{doc['id']}")
    assert got.status_code == 200 and got.mimetype == "application/pdf" and got.data == PDF
    xh = _api(app, "svc_xh", "310104", ["district_officer"])
    assert xh.get(f"/api/v1/cases/documents/{doc['id']}").status_code == 403
    missing = hp.get("/api/v1/cases/documents/999999")
    assert missing.status_code == 404 and missing.get_json()["message"] == "文书不存在"
    with app.app_context():  # an imported document has no file: a Chinese 404, not a 500
        db.session.get(CaseDocument, doc["id"]).path = None
        db.session.commit()
    gone = hp.get(f"/api/v1/cases/documents/{doc['id']}")
    assert gone.status_code == 404 and "原件保存在源系统" in gone.get_json()["message"]


def test_import_reports_every_bad_row_and_imports_nothing(app, client_for):
    with app.app_context():
        make_entries()
        db.session.commit()
    api = _api(app, "svc_import", "310101", ["district_officer"])
    bad_row = [*ROW]
    bad_row[0], bad_row[2], bad_row[7] = "沪黄应急罚〔2026〕8号", "听证程序", "五万"
    resp = api.post(
        "/api/v1/cases/import",
        data={"file": (io.BytesIO(xlsx_bytes(HEADER, [ROW, bad_row])), "cases.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    err = resp.get_json()
    assert err["message"] == "1 行有问题，整个文件没有导入，请修改后重新上传"
    assert (
        err["errors"]["第 3 行 程序类型"].startswith("程序类型应为")
        and err["errors"]["第 3 行 个人罚款（元）"] == "个人罚款应为数字（元）"
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(Case.id))) == 0  # the good row 2 was rolled back too
    not_xlsx = api.post(
        "/api/v1/cases/import", data={"file": (io.BytesIO(b"a,b\n"), "x.csv")}, content_type="multipart/form-data"
    )
    assert not_xlsx.status_code == 422 and not_xlsx.get_json()["errors"] == {"file": "不是 .xlsx 文件"}
    empty = api.post(
        "/api/v1/cases/import",
        data={"file": (io.BytesIO(xlsx_bytes(HEADER, [])), "x.xlsx")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422 and "没有数据行" in empty.get_json()["message"]
    nofile = api.post("/api/v1/cases/import", data={}, content_type="multipart/form-data")
    assert nofile.status_code == 422 and nofile.get_json()["errors"] == {"file": "必填项"}
    ok = api.post(
        "/api/v1/cases/import",
        data={"file": (io.BytesIO(xlsx_bytes(HEADER, [ROW])), "cases.xlsx")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 201 and ok.get_json() == {
        "message": "已导入 1 件案件（已有编号的案件已更新）",
        "total": 1,
        "imported": 1,
    }
    # A read-only token cannot import.
    street = _api(app, "svc_street", "310101", ["district_officer"], permissions=["case.read"])
    refused = street.post(
        "/api/v1/cases/import",
        data={"file": (io.BytesIO(xlsx_bytes(HEADER, [ROW])), "cases.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403 and set(refused.get_json()) == {"code", "message", "errors"}


def test_openapi_lists_the_case_operations_in_chinese(app, client_for):
    doc = client_for("hp_officer").get("/api/v1/openapi.json").get_json()
    for path in ("/cases", "/cases/{case_id}", "/cases/documents/{doc_id}", "/cases/import"):
        assert path in doc["paths"], path
    assert doc["paths"]["/cases"]["get"]["summary"] == "案件列表"
    assert doc["paths"]["/cases/import"]["post"]["tags"] == ["案卷评查"]
