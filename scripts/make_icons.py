"""Draw the home-screen icons of the web app manifest with Pillow (no downloads): a white shield with
a check mark on the corps' blue, like the navbar's logo. Run once: .venv/bin/python scripts/make_icons.py"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (11, 61, 110, 255)
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parents[1] / "app" / "static" / "icons"


def draw(size: int, *, safe: float) -> Image.Image:
    """``safe`` is the fraction of the side the shield may use (maskable icons keep a 20% margin)."""
    scale = 4  # draw large, then downsample: smooth edges
    s = size * scale
    img = Image.new("RGBA", (s, s), BLUE)
    d = ImageDraw.Draw(img)
    w = s * safe
    x0, y0 = (s - w) / 2, (s - w) / 2 + w * 0.02
    top, mid, bottom = y0, y0 + w * 0.55, y0 + w
    shield = [
        (x0 + w * 0.5, top),
        (x0 + w * 0.9, top + w * 0.14),
        (x0 + w * 0.9, mid),
        (x0 + w * 0.5, bottom),
        (x0 + w * 0.1, mid),
        (x0 + w * 0.1, top + w * 0.14),
    ]
    d.polygon(shield, fill=WHITE)
    tick = [(x0 + w * 0.3, y0 + w * 0.5), (x0 + w * 0.45, y0 + w * 0.65), (x0 + w * 0.72, y0 + w * 0.36)]
    d.line(tick, fill=BLUE, width=int(w * 0.09), joint="curve")
    return img.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, safe in (
        ("icon-192.png", 192, 0.72),
        ("icon-512.png", 512, 0.72),
        ("icon-maskable-512.png", 512, 0.56),
        ("apple-touch-icon.png", 180, 0.66),
    ):
        draw(size, safe=safe).convert("RGB").save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
