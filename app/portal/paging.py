"""Pagination of SELECT statements (the filter is in the query, never applied after paging)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, func, select

from app.extensions import db
from app.portal.params import page_number


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


_pages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _page_of(stmt: Select, size: int, offset: int) -> Select:
    """`stmt` limited to one page; kept with a statement that is itself kept (app/inbox/queries.todo), so
    neither is built nor keyed for SQLAlchemy's statement cache again."""
    try:
        kept = _pages.setdefault(stmt, {})
    except TypeError:  # not weakly referenceable
        return stmt.limit(size).offset(offset)
    page = kept.get((size, offset))
    if page is None:
        if len(kept) >= 20:
            kept.clear()
        page = kept[(size, offset)] = stmt.limit(size).offset(offset)
    return page


def paginate(stmt: Select, page: str | int | None, per_page: int | None = None, *, scalars: bool = True) -> Page:
    """One page of `stmt` and the total.

    The page is read first; a page that is not full (most inbox lists: fewer open tasks than a page)
    gives the total without a second statement, so only full pages and pages past the end count.
    (`count(*) OVER ()` would also be one statement, but it makes the database read and sort every
    matching row of a long list, e.g. the done tab or the audit log, before it can stop at the page.)
    A page number past params.MAX_PAGE is a Chinese 400 (app/portal/params.py).
    """
    number = page if isinstance(page, int) else page_number(page)
    size = per_page or current_app.config["PAGE_SIZE"]
    offset = (number - 1) * size
    result = db.session.execute(_page_of(stmt, size, offset))
    items = list(result.scalars() if scalars else result.all())
    if 0 < len(items) < size or (number == 1 and not items):
        total = offset + len(items)
    else:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return Page(items=items, page=number, per_page=size, total=total)
