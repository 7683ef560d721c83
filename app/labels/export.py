"""风险标签查询结果导出 (XLSX or CSV) through the one export helper."""

from __future__ import annotations

from datetime import date

from app.enterprises.reference import districts, industry_name
from app.extensions import db
from app.labels.models import EnterpriseLabel
from app.tabular.export import Column

MAX_ROWS = 50_000


def rows(stmt, today: date) -> list[dict]:
    from sqlalchemy import select

    from app.labels.services import active_clause

    ents = list(db.session.scalars(stmt.limit(MAX_ROWS)))
    held: dict[int, list[str]] = {}
    ids = [e.id for e in ents]
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for row in db.session.scalars(
            select(EnterpriseLabel).where(EnterpriseLabel.enterprise_id.in_(chunk), active_clause(today))
        ):
            held.setdefault(row.enterprise_id, []).append(row.label.name)
    names = districts()
    return [
        {
            "name": e.name,
            "credit_code": e.credit_code,
            "district": names.get(e.district_code or "", ""),
            "industry": industry_name(e.industry_code),
            "grade": e.grade or "",
            "address": e.address or "",
            "labels": "、".join(sorted(held.get(e.id, []))),
        }
        for e in ents
    ]


COLUMNS = [
    Column("企业名称", "name", width=32),
    Column("统一社会信用代码", "credit_code", width=22),
    Column("所属区", "district", width=10),
    Column("行业", "industry", width=14),
    Column("监管等级", "grade", width=8),
    Column("标签", "labels", width=30),
    Column("地址", "address", width=40),
]
