"""XLSX import of cases (the city enforcement system's exchange records carry inspections, not cases:
no case numbers, penalties or procedure dates, so cases come in by spreadsheet). Re-importing the same
file updates the same cases (keyed by 案件编号); any bad row rolls the whole file back."""

from __future__ import annotations

import re

from app.cases import services
from app.cases.models import DOC_TYPES, STEPS
from app.errors import ValidationFailed
from app.tabular.export import Column
from app.tabular.imports import ImportColumn, read_xlsx, run_rows

COLUMNS = [
    ImportColumn("案件编号", "number", required=True),
    ImportColumn("案件名称", "title", required=True),
    ImportColumn("程序类型", "case_type", required=True),
    ImportColumn("办案单位", "org", required=True, aliases=("办案单位编码",)),
    ImportColumn("主办人", "officer"),
    ImportColumn("当事单位", "unit_name"),
    ImportColumn("统一社会信用代码", "unit_code"),
    ImportColumn("单位罚款（元）", "unit_penalty", aliases=("单位罚款",)),
    ImportColumn("责任人", "person_name"),
    ImportColumn("责任人职务", "person_position"),
    ImportColumn("个人罚款（元）", "person_penalty", aliases=("个人罚款",)),
    ImportColumn("违法行为编号", "violations"),
    ImportColumn("发现日期", "discovered_on"),
    ImportColumn("立案日期", "filed_on"),
    ImportColumn("调查日期", "investigated_on"),
    ImportColumn("告知日期", "notified_on"),
    ImportColumn("决定日期", "decided_on"),
    ImportColumn("送达日期", "served_on"),
    ImportColumn("执行日期", "executed_on"),
    ImportColumn("结案日期", "closed_on"),
    ImportColumn("案卷文书", "documents"),
    ImportColumn("案情摘要", "facts"),
]
EXAMPLE = [
    "沪黄应急罚〔2026〕12号",
    "某化工公司未按规定开展安全培训案",
    "一般程序",
    "310101",
    "",
    "上海某化工有限公司",
    "91310101MA1234567X",
    "30000",
    "张某",
    "总经理",
    "10000",
    "WF-01003",
    "2026-03-02",
    "2026-03-06",
    "2026-03-10",
    "2026-04-01",
    "2026-04-20",
    "2026-04-22",
    "2026-05-10",
    "2026-05-20",
    "立案审批表、询问笔录、行政处罚告知书、行政处罚决定书、送达回证",
    "",
]


def _party(case, kind: str):
    return next((p for p in case.parties if p.kind == kind), None)


def _party_value(kind: str, attr: str):
    def get(case):
        party = _party(case, kind)
        return getattr(party, attr) if party is not None else None

    return get


# The case list export (app/tabular/export.py): headers as the import's where they mean the same.
EXPORT_COLUMNS = [
    Column("案件编号", "number", width=26),
    Column("案件名称", "title", width=36),
    Column("程序类型", lambda c: c.type_label, width=10),
    Column("办案单位", lambda c: c.org.name, width=22),
    Column("主办人", lambda c: c.officer.name if c.officer else "", width=10),
    Column("状态", lambda c: c.status_label, width=8),
    Column("当事单位", _party_value("unit", "name"), width=30),
    Column("统一社会信用代码", _party_value("unit", "id_code"), width=22),
    Column("单位罚款（元）", _party_value("unit", "penalty_yuan"), kind="number", width=12),
    Column("责任人", _party_value("person", "name"), width=10),
    Column("个人罚款（元）", _party_value("person", "penalty_yuan"), kind="number", width=12),
    Column("违法行为编号", lambda c: "、".join(v.entry.code or "" for v in c.violations), width=20),
    *[Column(f"{name}日期", key, kind="date", width=12) for key, name in STEPS],
    Column("案卷文书", lambda c: "、".join(DOC_TYPES.get(d.doc_type, d.doc_type) for d in c.documents), width=40),
    Column("合格案卷报送时间", "submitted_at", kind="datetime", width=18),
]


def export_stmt(stmt):
    """The case list's select with what EXPORT_COLUMNS read loaded per chunk of rows (not per case)."""
    from sqlalchemy.orm import selectinload

    from app.cases.models import Case, CaseViolation

    return stmt.options(
        selectinload(Case.parties),
        selectinload(Case.violations).selectinload(CaseViolation.entry),
        selectinload(Case.documents),
    )


def _doc_types(raw: str, errors: dict) -> list[str]:
    by_name = {v: k for k, v in DOC_TYPES.items()}
    names = [n for n in re.split(r"[,，、;；\s]+", raw or "") if n]
    unknown = [n for n in names if n not in by_name and n not in DOC_TYPES]
    if unknown:
        errors["documents"] = "文书类型不认识：" + "、".join(unknown)
    return [by_name.get(n, n) for n in names if n not in unknown]


def import_cases(data: bytes, actor):
    """Returns the tabular ImportReport; the caller commits only when `report.ok`."""
    rows = read_xlsx(data, COLUMNS)
    seen: dict[str, int] = {}

    def handle(row: dict):
        number = row["number"].strip()
        if number in seen:
            raise ValidationFailed(
                f"案件编号与第 {seen[number]} 行重复", errors={"number": f"与第 {seen[number]} 行重复"}
            )
        seen[number] = row["_row"]
        errors: dict = {}
        docs = _doc_types(row.get("documents", ""), errors)
        try:
            values = services.clean(row, actor)
        except ValidationFailed as exc:
            errors = {**exc.errors, **errors}
        if errors:  # every problem of the row at once, before anything is written
            raise ValidationFailed("；".join(errors.values()), errors=errors)
        case, _ = services.save_case(actor, row, source="xlsx", values=values)
        services.register_documents(case, docs, actor)

    return run_rows(rows, COLUMNS, handle)
