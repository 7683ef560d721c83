"""Render a Jinja template from templates/reports/ to PDF with WeasyPrint, offline.

Fonts come from the system (fontconfig: Debian's fonts-noto-cjk) and are embedded as subsets.
Resources the template links to may only be local files under the static folder or the
report templates, or `data:` URIs (a handwritten signature); anything else is refused, so a
render never reaches the network (the government network has none, and a URL in user data must
not make the server fetch it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app

from app.config import PROJECT_ROOT
from app.errors import ValidationFailed

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]
REPORT_TEMPLATES = PROJECT_ROOT / "templates" / "reports"
DEFAULT_ISSUER = "上海市应急管理局执法总队"

_DIGITS = "〇一二三四五六七八九"


def _cn_number(n: int) -> str:
    """1..31 in Chinese counting form: 十, 十一, 二十, 二十八, 三十一."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "" if tens == 1 else _DIGITS[tens]
    return head + "十" + ("" if ones == 0 else _DIGITS[ones])


def _coerce(value: date | datetime | str) -> date | datetime:
    """Dates arrive as objects or, from stored JSON contexts, as ISO strings."""
    if isinstance(value, str):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    return value


def _local(value: date | datetime | str) -> date | datetime:
    value = _coerce(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai")))
    return value


def chinese_date(value: date | datetime | str | None) -> str:
    """二〇二六年十一月二十八日 (an aware datetime is read in the configured local time zone)."""
    if value is None or value == "":
        return ""
    value = _local(value)
    year = "".join(_DIGITS[int(c)] for c in f"{value.year:04d}")
    return f"{year}年{_cn_number(value.month)}月{_cn_number(value.day)}日"


def numeric_date(value: date | datetime | str | None, sep: str | None = None) -> str:
    """2026年11月28日, or with `sep` 2026.11.28: the compact forms for table cells."""
    if value is None or value == "":
        return ""
    value = _local(value)
    if sep:
        return f"{value.year}{sep}{value.month:02d}{sep}{value.day:02d}"
    return f"{value.year}年{value.month}月{value.day}日"


def chinese_datetime(value: datetime | str | None) -> str:
    """二〇二六年十一月二十八日 14:30 (local time)."""
    if value is None or value == "":
        return ""
    local = _local(value)
    if not isinstance(local, datetime):
        return chinese_date(local)
    return f"{chinese_date(local)} {local:%H:%M}"


def paragraphs(value) -> list[str]:
    """A text with line breaks, or a list of texts, as a list of non-empty paragraphs."""
    if not value:
        return []
    items = value if isinstance(value, list | tuple) else str(value).splitlines()
    return [str(p).strip() for p in items if str(p).strip()]


def _allowed_roots() -> list[Path]:
    return [Path(current_app.static_folder).resolve(), REPORT_TEMPLATES.resolve()]


@cache
def _weasyprint():
    """Import WeasyPrint on first use (it is slow to import and only report jobs need it)."""
    # WeasyPrint logs each layout step at INFO; our own log line says what matters.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    import weasyprint
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        """Fetch `data:` URIs and local files under the allowed folders; refuse everything else."""

        def __init__(self, roots: list[Path]):
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self._roots = roots

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if not any(path.is_relative_to(root) for root in self._roots):
                    raise ValueError(f"refused local file outside the report folders: {path}")
            elif scheme != "data":
                raise ValueError(f"refused non-local URL: {url[:100]}")
            return super().fetch(url, headers)

    return weasyprint, LocalOnlyFetcher


def local_only_fetcher():
    """The URL fetcher every render uses (exposed for tests)."""
    _, fetcher_class = _weasyprint()
    return fetcher_class(_allowed_roots())


def render_html(template_name: str, context: dict) -> str:
    """Render the report template to HTML (the PDF's source; useful for previews and tests)."""
    if "/" in template_name.removeprefix("reports/") or ".." in template_name or "\\" in template_name:
        raise ValidationFailed("报告模板名称不合法")
    name = template_name if template_name.startswith("reports/") else f"reports/{template_name}"
    template = current_app.jinja_env.get_template(name)
    values = {
        "issuer": current_app.config.get("DOCUMENT_ISSUER", DEFAULT_ISSUER),
        "date": None,
        "draft": False,
        "signature": None,
        **context,
        "cn_date": chinese_date,
        "cn_datetime": chinese_datetime,
        "ymd": numeric_date,
        "paras": paragraphs,
    }
    values["shown_number"] = (values["signature"] or {}).get("number") or values.get("number")
    return template.render(**values)


def render_pdf(template_name: str, context: dict, *, progress: Progress | None = None) -> bytes:
    """Render `templates/reports/<template_name>` with `context` to PDF bytes (A4, fonts embedded).

    Every template extends `base_document.html`; its context keys are described there and in
    each template's header comment. `progress(percent, message)` is told how far it has got.
    """
    report = progress or (lambda _p, _m: None)
    started = time.perf_counter()
    report(5, "正在准备文书内容")
    source = render_html(template_name, context)
    weasyprint, _ = _weasyprint()
    fetcher = local_only_fetcher()
    static = Path(current_app.static_folder).resolve()
    html = weasyprint.HTML(string=source, base_url=static.as_uri() + "/", url_fetcher=fetcher)
    report(20, "正在排版")
    document = html.render()
    report(70, f"正在生成 PDF（共 {len(document.pages)} 页）")
    data = document.write_pdf()
    elapsed = (time.perf_counter() - started) * 1000
    log.info("rendered %s: %d pages, %d bytes in %.0f ms", template_name, len(document.pages), len(data), elapsed)
    report(100, "文书已生成")
    return data
