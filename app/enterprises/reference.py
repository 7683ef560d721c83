"""Names for codes on enterprise pages: districts and industries (pages show names, never codes)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select

from app.extensions import db
from app.orgs.models import Organisation


@lru_cache(maxsize=1)
def industries() -> dict[str, str]:
    from app.demo.reference import load_json

    return {i["code"]: i["name"] for i in load_json("industries.json")}


def industry_name(code: str | None) -> str:
    return industries().get(code or "", code or "未分类")


def districts() -> dict[str, str]:
    rows = db.session.execute(
        select(Organisation.code, Organisation.short_name, Organisation.name)
        .where(Organisation.kind == "district")
        .order_by(Organisation.sort, Organisation.code)
    )
    return {code: short or name for code, short, name in rows}


def district_org(code: str | None) -> Organisation | None:
    if not code:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.code == code, Organisation.kind == "district"))
