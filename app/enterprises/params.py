"""Request parameters of the enterprise pages: a malformed number or date is a Chinese 422, never a 500.
Dates go through the one date check (app/portal/params.py `day`: format and range); the pages keep their 422."""

from __future__ import annotations

from datetime import date

from app.errors import BadParameter, NotFound, ValidationFailed
from app.portal import params


def parse_int(
    value: str | None, *, field: str, label: str, default: int | None = None, low: int = 0, high: int = 10**9
) -> int | None:
    raw = (value or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationFailed(f"{label}应为 {low}–{high} 之间的整数", errors={field: "格式不正确"})
    return int(raw)


def parse_date(value: str | None, *, field: str, label: str) -> date | None:
    try:
        return params.day(value, field)
    except BadParameter as exc:
        raise ValidationFailed(
            f"{label}格式应为 YYYY-MM-DD（{params.RANGE_TEXT}）", errors={field: "日期格式不正确"}
        ) from exc


def form_row(model, form, *, label: str, field: str = "id"):
    """The row an edit form posts back (`form[field]` is its id), or None for a new one; a Chinese 404 when
    the id is given but the row is gone (never a new row in its place)."""
    from app.extensions import db

    if not (form.get(field) or "").strip():
        return None
    row = db.session.get(model, parse_int(form.get(field), field=field, label=label) or 0)
    if row is None:
        raise NotFound(f"{label}不存在")
    return row
