"""Charts as SVG text, drawn in Python for the PDF reports (WeasyPrint renders inline SVG; no browser)."""

from __future__ import annotations

from html import escape

COLORS = ["#2f6fdf", "#e8833a", "#3aa76d", "#c94b4b", "#8a63d2"]
FONT = 'font-family="Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif"'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def chart(
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    kind: str = "bar",
    width: int = 640,
    height: int = 260,
    title: str = "",
) -> str:
    """A bar or line chart with axes, gridlines, value labels and a legend. Empty data draws "无数据"."""
    left, right, top, bottom = 48, 12, 34 if title else 24, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    box = f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" {box} {FONT} font-size="11">']
    if title:
        parts.append(
            f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{escape(title)}</text>"
        )
    values = [v for _, vs in series for v in vs if v is not None]
    if not labels or not values:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">无数据</text></svg>')
        return "".join(parts)
    top_value = _nice_max(max(values))
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{top_value * i / 4:g}</text>')
    slot = plot_w / len(labels)
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + slot * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" fill="#333">'
                f"{escape(str(label))}</text>"
            )
    bar_w = slot * 0.7 / max(1, len(series))
    for k, (name, vals) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points = []
        for i, v in enumerate(vals):
            if v is None:
                continue
            h = plot_h * v / top_value
            if kind == "bar":
                x = left + slot * i + slot * 0.15 + bar_w * k
                parts.append(
                    f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                    f'height="{h:.1f}" fill="{color}"/>'
                )
                if len(labels) <= 16:
                    parts.append(
                        f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                        f'text-anchor="middle" font-size="9">{v:g}</text>'
                    )
            else:
                points.append(f"{left + slot * (i + 0.5):.1f},{top + plot_h - h:.1f}")
        if points:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>')
        lx = left + k * 110
        parts.append(f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 7}">{escape(name)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333"/>')
    parts.append("</svg>")
    return "".join(parts)
