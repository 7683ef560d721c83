"""A page of a list in the API (as the task list has it): the schema's common part and the body."""

from __future__ import annotations

from marshmallow import Schema, fields


class Paged(Schema):
    """Subclass with ``items = fields.List(fields.Nested(ItemSchema))``."""

    page = fields.Int(metadata={"description": "页码"})
    pages = fields.Int(metadata={"description": "总页数"})
    total = fields.Int(metadata={"description": "总条数"})


def page_body(page) -> dict:
    """The body of a ``paginate()`` page for a Paged schema."""
    return {"items": page.items, "page": page.page, "pages": page.pages, "total": page.total}
