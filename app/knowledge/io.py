"""XLSX import (one sheet, one library, a row-level Chinese report, all or nothing) and export."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.knowledge import services
from app.knowledge.models import LIBRARIES, STATUSES, KnowledgeEntry
from app.tabular.export import Column
from app.tabular.imports import ImportColumn, ImportReport, read_xlsx, run_rows

COMMON = [
    ImportColumn("编号", "code"),
    ImportColumn("标题", "title", required=True),
    ImportColumn("摘要", "summary"),
    ImportColumn("适用行业", "industries", aliases=("行业",)),
    ImportColumn("标签", "tags"),
]
COLUMNS = {
    "violation": [
        *COMMON,
        ImportColumn("法律法规", "law", required=True),
        ImportColumn("条款", "article", required=True),
        ImportColumn("项", "clause"),
        ImportColumn("违法行为描述", "description", required=True),
        ImportColumn("处罚幅度", "penalty_range"),
        ImportColumn("裁量基准", "tiers", aliases=("裁量基准（等级｜情形｜处罚，每行一档）",)),
        ImportColumn("相关法律法规", "related_laws"),
    ],
    "case": [
        *COMMON,
        ImportColumn("案情事实", "facts", required=True),
        ImportColumn("法律依据", "legal_basis"),
        ImportColumn("处罚结果", "penalty"),
        ImportColumn("区", "district", aliases=("所在区",)),
        ImportColumn("年份", "year"),
    ],
    "guide": [*COMMON, ImportColumn("主题", "topic", required=True), ImportColumn("正文", "html", required=True)],
}
EXAMPLES = {
    "violation": [
        "WF-EX-001",
        "未对有限空间作业进行审批",
        "进入有限空间作业前未履行审批手续",
        "有限空间作业、危险化学品",
        "有限空间,审批",
        "中华人民共和国安全生产法",
        "第四十三条",
        "",
        "生产经营单位进行有限空间作业未安排专门人员进行现场安全管理",
        "责令限期改正，处十万元以下的罚款",
        "一般｜首次发现并立即改正｜警告或一万元以下罚款",
        "",
    ],
    "case": [
        "",
        "某公司有限空间作业未审批案",
        "",
        "有限空间作业",
        "",
        "……",
        "安全生产法第九十九条",
        "罚款五万元",
        "黄浦区",
        "2025",
    ],
    "guide": ["", "有限空间作业合规指引", "", "有限空间作业", "", "有限空间", "<h2>一、作业审批</h2><p>……</p>"],
}


def _district_code(name: str) -> str | None:
    from app.enterprises.reference import districts

    if not name:
        return None
    by = {v: k for k, v in districts().items()}
    code = name if name in districts() else by.get(name) or by.get(name.removesuffix("区"))
    if code is None:
        raise ValidationFailed(f"区「{name}」不存在", errors={"district": f"区「{name}」不存在"})
    return code


def import_rows(actor, library: str, data: bytes) -> ImportReport:
    """Every row is created as a draft; the caller commits only when the report is ok."""
    if library not in LIBRARIES:
        raise ValidationFailed("请选择要导入的知识库", errors={"library": "知识库类别无效"})
    columns = COLUMNS[library]
    rows = read_xlsx(data, columns)
    codes_seen: set[str] = set()

    def handle(row: dict):
        code = row.get("code") or ""
        if code and code in codes_seen:
            raise ValidationFailed("编号在文件中重复", errors={"code": f"编号「{code}」在文件中出现多次"})
        codes_seen.add(code)
        values = dict(row)
        if library == "violation":
            values["tiers"] = "\n".join(x for x in (row.get("tiers") or "").replace("；", "\n").splitlines())
        if library == "case":
            values["district_code"] = _district_code(row.get("district") or "")
        return services.create_entry(actor, library, values, note="批量导入")

    return run_rows(rows, columns, handle)


def template(library: str) -> bytes:
    from app.tabular.imports import template_xlsx

    if library not in LIBRARIES:
        raise ValidationFailed("知识库类别无效", errors={"library": "知识库类别无效"})
    return template_xlsx(COLUMNS[library], EXAMPLES[library])


def export_columns() -> list[Column]:
    from app.enterprises.reference import industry_name

    def f(key):
        return lambda e: (e.fields or {}).get(key, "")

    return [
        Column("编号", "code"),
        Column("知识库", "library_label", width=12),
        Column("标题", "title", width=36),
        Column("状态", lambda e: STATUSES.get(e.status, e.status), width=8),
        Column("法律法规/依据", lambda e: e.article_label, width=36),
        Column("描述/案情", lambda e: f("description")(e) or f("facts")(e) or e.summary, width=50),
        Column("处罚幅度/结果", lambda e: f("penalty_range")(e) or f("penalty")(e), width=30),
        Column(
            "裁量基准",
            lambda e: "\n".join(f"{t['level']}｜{t['circumstance']}｜{t['penalty']}" for t in f("tiers")(e) or []),
            width=50,
        ),
        Column("适用行业", lambda e: "、".join(industry_name(c) for c in e.industries or []), width=20),
        Column("标签", lambda e: "、".join(e.tags or [])),
        Column("年份", "year", kind="number", width=8),
        Column("版本", "version", kind="number", width=6),
        Column("有帮助", "helpful_count", kind="number", width=8),
        Column("更新时间", "updated_at", kind="datetime", width=18),
    ]


def export_rows(where: list) -> list[KnowledgeEntry]:
    return list(db.session.scalars(select(KnowledgeEntry).where(*where).order_by(KnowledgeEntry.id)))


def report_json(report: ImportReport) -> str:
    return json.dumps([p.__dict__ for p in report.problems], ensure_ascii=False)
