"""Request parameters of the enterprise pages: a malformed number or date is a Chinese 422, never a 500."""

from __future__ import annotations

from datetime import date

from app.errors import ValidationFailed


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
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(f"{label}格式应为 YYYY-MM-DD", errors={field: "日期格式不正确"}) from exc
