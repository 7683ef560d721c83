"""Display masking of personal data for people without `sensitive.unmask`."""

from __future__ import annotations


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    hidden = len(value) - keep_start - keep_end
    if hidden <= 0:
        return "*" * len(value)
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")


def mask_id_number(value: str | None) -> str:
    """'310101199001011234' -> '310101********1234' (region code and last four stay)."""
    if not value:
        return ""
    value = value.strip()
    if len(value) < 10:
        return _mask(value, 1, 1)
    return _mask(value, 6, 4)


def mask_phone(value: str | None) -> str:
    """'13812345678' -> '138****5678'; landlines keep the area code and the last four."""
    if not value:
        return ""
    value = value.strip()
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) == 11 and digits.startswith("1"):
        return _mask(digits, 3, 4)
    if "-" in value:
        area, _, number = value.partition("-")
        return f"{area}-{_mask(number, 0, 4)}"
    return _mask(value, 0, 4) if len(value) > 4 else "*" * len(value)


def mask_name(value: str | None) -> str:
    """'张三' -> '张*', '欧阳娜娜' -> '欧***': the first character stays."""
    if not value:
        return ""
    value = value.strip()
    if len(value) == 1:
        return value
    return value[0] + "*" * (len(value) - 1)
