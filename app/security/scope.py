"""Data scope: which organisations' data a user may see.

One function computes the scope from the user's organisation; every query of scoped data goes
through `DataScope.filter_org` (or `org_ids`), so the rule lives in one place:

- city corps and its sections: everything;
- district brigade: its own subtree (the district and its streets);
- street office: its own subtree;
- SOE group: the group and its member units; a member unit: itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, select, true
from sqlalchemy.orm import InstrumentedAttribute

from app.orgs.models import Organisation

CITY_KINDS = {"city", "section"}


@dataclass(frozen=True)
class DataScope:
    """A user's data scope: everything, or the subtree below one organisation path."""

    all: bool
    path: str | None = None
    label: str = ""

    def org_ids(self) -> Select:
        """A subquery of the organisation ids inside the scope."""
        stmt = select(Organisation.id)
        if not self.all:
            # No path: match nothing (PostgreSQL refuses a NUL byte as a "never matches" prefix).
            stmt = stmt.where(Organisation.path.startswith(self.path, autoescape=True) if self.path else false())
        return stmt

    def filter_org(self, stmt: Select, org_id_column: InstrumentedAttribute) -> Select:
        """Restrict a query on a table with an organisation id column to this scope."""
        if self.all:
            return stmt
        return stmt.where(org_id_column.in_(self.org_ids()))

    def org_clause(self, org_id_column: InstrumentedAttribute):
        """The scope as a boolean SQL clause (for OR-ing with other visibility rules)."""
        if self.all:
            return true()
        if not self.path:
            return false()
        return org_id_column.in_(self.org_ids())

    def contains(self, org: Organisation | None) -> bool:
        if org is None:
            return False
        return self.all or (self.path is not None and org.path.startswith(self.path))


NO_SCOPE = DataScope(all=False, path=None, label="无")


def scope_for(user) -> DataScope:
    """Compute the data scope of a user from their organisation."""
    # An API token's scope (inside the account's own, checked when it was issued) replaces the account's.
    org = getattr(user, "token_scope_org", None) or getattr(user, "org", None)
    if user is None or org is None or not getattr(user, "is_authenticated", True):
        return NO_SCOPE
    if org.kind in CITY_KINDS:
        return DataScope(all=True, label="全市")
    return DataScope(all=False, path=org.path, label=org.name)
