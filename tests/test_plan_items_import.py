"""计划事项批量导入 (XLSX) into a draft monthly plan: by credit code or name, the 超限检查说明 rule of the manual
add, dates inside the plan's month, a row-level Chinese report and nothing half-imported."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.conftest import page_text
from tests.test_plan_process import MONTH, YEAR, generate, plan_of, plan_setup  # noqa: F401  (fixture)

HEADER = ["统一社会信用代码", "企业名称", "超限检查说明", "计划检查日期"]


def _xlsx(rows) -> bytes:
    wb = Workbook()
    wb.active.append(HEADER)
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client, plan_id, data):
    return client.post(
        f"/plans/{plan_id}/items/import",
        data={"file": (io.BytesIO(data), "事项.xlsx")},
        content_type="multipart/form-data",
    )


def test_items_import_all_or_nothing(app, plan_setup, client_for):  # noqa: F811
    officer = client_for("hp_officer")
    plan_id = generate(officer, max_items=1)
    before = plan_of(app, plan_id)["items"]
    over = plan_setup["上海隆盛冷链食品有限公司"]  # at its annual limit: needs an explanation
    bad = [
        [plan_setup["上海嘉信仓储物流有限公司"], None, None, f"{YEAR}-{MONTH:02d}-08"],
        [over, None, None, None],
        [None, "上海不存在有限公司", None, None],
        [plan_setup["上海嘉信仓储物流有限公司"], None, None, None],
        [plan_setup["上海新华实业有限公司"], None, None, f"{YEAR}-01-05"],
    ]
    resp = _upload(officer, plan_id, _xlsx(bad))
    text = page_text(resp)
    assert resp.status_code == 422 and "共 5 行，4 行有问题，本次没有导入任何企业" in text
    assert "第 3 行" in text and "超限检查说明" in text and "企业库中没有“上海不存在有限公司”" in text
    assert "与第 2 行重复" in text and f"日期须在 {YEAR} 年 {MONTH} 月内" in text
    assert plan_of(app, plan_id)["items"] == before  # the valid first row was not kept
    good = [
        [plan_setup["上海嘉信仓储物流有限公司"], None, None, f"{YEAR}-{MONTH:02d}-08"],
        [None, "上海隆盛冷链食品有限公司", "群众举报需复查", None],
    ]
    resp = _upload(officer, plan_id, _xlsx(good))
    assert resp.status_code == 200 and "已导入 2 家企业到计划" in page_text(resp)
    items = plan_of(app, plan_id)["items"]
    assert ("上海嘉信仓储物流有限公司", "manual", False) in items and (
        "上海隆盛冷链食品有限公司",
        "manual",
        True,
    ) in items
    assert client_for("xh_officer").post(f"/plans/{plan_id}/items/import").status_code == 404
