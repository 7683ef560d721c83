"""Picker look-ups for forms and action panels, always inside the user's data scope."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.auth.models import User
from app.enterprises.credit_code import is_valid as is_valid_credit_code
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox import targets
from app.orgs.models import Organisation
from app.security.scope import scope_for

LIMIT = 20


def search(kind: str, q: str, user, *, instance=None) -> list[dict]:
    """Up to LIMIT matches; with `instance`, users are only those it may be handed or copied to."""
    q = (q or "").strip()
    if not q:
        return []
    like = f"%{q}%"
    scope = scope_for(user)
    if kind == "user":
        stmt = (
            select(User)
            .join(User.org)
            .where(User.status != "disabled", or_(User.name.like(like), User.login.like(like)))
        )
        if not scope.all:
            # Colleagues in scope, plus the city corps (work is escalated and transferred upwards).
            stmt = stmt.where(or_(scope.org_clause(User.org_id), Organisation.kind.in_(("city", "section"))))
        if instance is not None:
            stmt = stmt.where(targets.picker_clause(instance))
        found = db.session.scalars(stmt.order_by(User.login).limit(LIMIT * 5 if instance else LIMIT))
        if instance is not None:
            found = [u for u in found if targets.allowed(instance, u)][:LIMIT]
        return [{"value": u.login, "label": f"{u.name}（{u.org.short_name or u.org.name}）"} for u in found]
    if kind == "org":
        stmt = scope.filter_org(select(Organisation), Organisation.id).where(
            or_(Organisation.name.like(like), Organisation.code == q)
        )
        return [
            {"value": o.code, "label": o.name}
            for o in db.session.scalars(stmt.order_by(Organisation.path).limit(LIMIT))
        ]
    if kind == "enterprise":
        code = q.upper()
        # A whole 统一社会信用代码 is answered from its unique index (no name contains one); anything
        # else also searches the names, which scans the table.
        match = Enterprise.credit_code == code
        stmt = scope.filter_org(select(Enterprise), Enterprise.org_id).where(
            match if is_valid_credit_code(code) else or_(Enterprise.name.like(like), match)
        )
        return [
            {"value": e.credit_code, "label": e.name}
            for e in db.session.scalars(stmt.order_by(Enterprise.name).limit(LIMIT))
        ]
    return []
