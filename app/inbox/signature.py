"""Handwritten signatures: only a bounded PNG data URI, decoded and re-encoded on the server.

The browser's signature pad posts ``data:image/png;base64,...``. Anything else (a URL such as
``/clues/8?reveal=1``, which a print page would load with the reader's cookies, SVG, a polyglot file) is
refused with a Chinese message; an accepted image is decoded with Pillow and written again as a fresh PNG,
so only pixels are stored.
"""

from __future__ import annotations

import base64
import binascii
import io

from app.errors import ValidationFailed

PREFIX = "data:image/png;base64,"
MAX_BYTES = 256 * 1024
MAX_WIDTH, MAX_HEIGHT = 2000, 1000


def _refuse(message: str):
    raise ValidationFailed(message, errors={"signature": message})


def clean(value: str | None) -> str | None:
    """The signature to store (a re-encoded PNG data URI), None when empty; a Chinese 422 otherwise."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not value.startswith(PREFIX):
        _refuse("手写签名格式无效：只接受签名板生成的 PNG 图片")
    if len(value) > len(PREFIX) + (MAX_BYTES * 4) // 3 + 4:
        _refuse("手写签名图片过大（不能超过 256 KB）")
    try:
        raw = base64.b64decode(value[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        _refuse("手写签名格式无效：图片数据已损坏")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw), formats=["PNG"]) as img:
            if img.width > MAX_WIDTH or img.height > MAX_HEIGHT or img.width < 1 or img.height < 1:
                _refuse(f"手写签名图片尺寸无效（最大 {MAX_WIDTH}×{MAX_HEIGHT} 像素）")
            img.load()
            pixels = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        _refuse("手写签名格式无效：不是有效的 PNG 图片")
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    return PREFIX + base64.b64encode(out.getvalue()).decode("ascii")


def is_clean(value: str | None) -> bool:
    """Only data URIs are ever put into an <img src> (rows stored before this check included)."""
    return bool(value) and value.startswith(PREFIX)
