"""Which enterprises a user may see, and the search over them (every list goes through here).

An enterprise is inside a user's data scope when its supervising organisation (a street or district)
is, or when it belongs to an SOE group inside the scope (SOE group and member-unit accounts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select

from app.enterprises.models import Enterprise
from app.errors import NotFound
from app.extensions import db
from app.security.scope import scope_for


def visible_clause(user):
    scope = scope_for(user)
    return or_(scope.org_clause(Enterprise.org_id), scope.org_clause(Enterprise.soe_group_id))


def visible(user, stmt: Select | None = None) -> Select:
    return (stmt if stmt is not None else select(Enterprise)).where(visible_clause(user))


def get_visible(enterprise_id: int, user) -> Enterprise:
    ent = db.session.scalar(visible(user).where(Enterprise.id == enterprise_id))
    if ent is None:
        raise NotFound("企业不存在或不在您的数据范围内")
    return ent


@dataclass
class Filters:
    q: str = ""
    district: str = ""
    industry: str = ""
    grade: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        return cls(
            q=(args.get("q") or "").strip()[:100],
            district=(args.get("district") or "").strip(),
            industry=(args.get("industry") or "").strip(),
            grade=(args.get("grade") or "").strip().upper()[:1],
        )


def search(user, f: Filters) -> Select:
    """Search by name, credit code or address (one box), narrowed by district, industry, grade."""
    stmt = visible(user)
    if f.q:
        code = f.q.upper()
        if len(code) == 18 and code.isalnum():
            stmt = stmt.where(Enterprise.credit_code == code)  # exact: uses the unique index
        else:
            like = f"%{f.q}%"
            stmt = stmt.where(
                or_(
                    Enterprise.name.ilike(like),
                    Enterprise.address.ilike(like),
                    Enterprise.credit_code.ilike(f"{code}%"),
                )
            )
    if f.district:
        stmt = stmt.where(Enterprise.district_code == f.district)
    if f.industry:
        stmt = stmt.where(Enterprise.industry_code == f.industry)
    if f.grade:
        stmt = stmt.where(Enterprise.grade == f.grade)
    return stmt.order_by(Enterprise.name, Enterprise.id)
