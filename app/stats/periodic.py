"""月报、季报、年报: statistics reports generated on schedule as PDF with SVG charts, reviewed and signed
off in the inbox (periodic_report.bpmn), numbered at sign-off and listed in 文书管理 (app/reports)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.efficiency.models import EffScore
from app.engine import runtime
from app.engine.services import service
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.reports.models import Document
from app.security.scope import DataScope
from app.stats import query, svg
from app.stats.summary import SUBJECTS

KINDS = {"stats_monthly": "月报", "stats_quarterly": "季报", "stats_yearly": "年报"}
NUMBER_PREFIX = "沪应急执统"
PROCESS_ID = "periodic_report"
ENTRY = "stats_schedule"


def period_bounds(kind: str, key: str) -> tuple[date, date, str, str]:
    """(first day, last day, the sub-period used in its trend chart, a Chinese label) of '2026-03', '2026Q1', '2026'."""
    try:
        if kind == "stats_monthly":
            y, m = (int(x) for x in key.split("-"))
            first = date(y, m, 1)
            last = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
            return first, last, "day", f"{y}年{m}月"
        if kind == "stats_quarterly":
            y, q = int(key[:4]), int(key[5:])
            first = date(y, 3 * q - 2, 1)
            last = date(y + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
            return first, last, "month", f"{y}年第{q}季度"
        if kind == "stats_yearly":
            y = int(key)
            return date(y, 1, 1), date(y, 12, 31), "month", f"{y}年"
    except (ValueError, IndexError):
        pass
    raise ValidationFailed("统计期间格式不正确（月报 2026-03，季报 2026Q1，年报 2026）")


def _shift_back(kind: str, first: date) -> tuple[date, date]:
    """The period before (环比) as first and last day."""
    last = first - timedelta(days=1)
    if kind == "stats_monthly":
        return last.replace(day=1), last
    if kind == "stats_quarterly":
        return date(last.year, last.month - 2, 1), last
    return date(last.year, 1, 1), last


def _total(scope: DataScope, subject: str, first: date, last: date) -> dict:
    q = query.Query(subject=subject, period="year", start=first, end=last, measures=["n", "closed", "overdue"])
    s = query.run(scope, q)["series"]
    out = {"n": 0, "closed": 0, "overdue": 0}
    for e in s:
        for k in out:
            out[k] += e[k]
    return out


def _pct(now: int, before: int) -> float | None:
    return round(100 * (now - before) / before, 1) if before else None


def context_for(scope: DataScope, kind: str, key: str) -> dict:
    first, last, sub, label = period_bounds(kind, key)
    p0, p1 = _shift_back(kind, first)
    y0 = first.replace(year=first.year - 1)
    y1 = (
        last.replace(year=last.year - 1, day=min(last.day, 28)) if last.month == 2 else last.replace(year=last.year - 1)
    )
    rows = []
    for subject, name in SUBJECTS.items():
        now, prev, ly = (
            _total(scope, subject, first, last),
            _total(scope, subject, p0, p1),
            _total(scope, subject, y0, y1),
        )
        rows.append({"subject": name, **now, "mom": _pct(now["n"], prev["n"]), "yoy": _pct(now["n"], ly["n"])})
    trend_q = query.Query(subject="clue", period=sub, start=first, end=last, measures=["n", "closed"])
    trend = query.run(scope, trend_q)["series"]
    labels = [e["bucket"][-2:] if sub == "day" else e["bucket"] for e in trend]
    trend_svg = svg.chart(
        labels,
        [("登记", [e["n"] for e in trend]), ("办结", [e["closed"] for e in trend])],
        kind="line",
        title="线索登记与办结趋势",
    )
    by_district = query.run(
        scope,
        query.Query(subject="inspection", period="year", start=first, end=last, groups=["district"], measures=["n"]),
    )["rows"]
    dist: dict[str, int] = {}
    for r in by_district:
        dist[r["groups"][0]] = dist.get(r["groups"][0], 0) + r["n"]
    ranked = sorted(dist.items(), key=lambda kv: -kv[1])[:16]
    district_svg = svg.chart([k for k, _ in ranked], [("检查次数", [v for _, v in ranked])], title="各区检查次数")
    periods = [f"{d.year}-{d.month:02d}" for d in (first, last)]
    eff = db.session.scalars(
        scope.filter_org(
            select(EffScore).where(EffScore.level == "district", EffScore.period.between(*periods)), EffScore.org_id
        )
    ).all()
    eff_rows: dict[str, list[float]] = {}
    for s in eff:
        eff_rows.setdefault(s.org.short_name or s.org.name, []).append(s.final_total)
    efficiency = sorted(((k, round(sum(v) / len(v), 1)) for k, v in eff_rows.items()), key=lambda kv: -kv[1])
    return {
        "kind_label": KINDS[kind],
        "period_label": label,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "scope_label": scope.label or "全市",
        "subjects": rows,
        "trend_svg": trend_svg,
        "district_svg": district_svg,
        "efficiency": efficiency,
    }


def _city() -> Organisation:
    city = db.session.scalar(select(Organisation).where(Organisation.kind == "city"))
    if city is None:
        raise NotFound("未找到市执法总队机构")
    return city


def existing(kind: str, key: str) -> Document | None:
    return db.session.scalar(select(Document).where(Document.kind == kind, Document.business_key == key).limit(1))


def generate(kind: str, key: str, *, actor=None) -> Document:
    """The report's draft PDF (rendered by the job worker) and its review process; one per period."""
    from app.reports import services as reports

    if kind not in KINDS:
        raise ValidationFailed("报告类型不存在")
    period_bounds(kind, key)
    found = existing(kind, key)
    if found is not None:
        return found
    from app.stats.summary import refresh

    refresh()  # the figures include everything committed so far
    city = _city()
    ctx = context_for(DataScope(all=True, label="全市"), kind, key)
    title = f"{ctx['period_label']}监督执法统计{KINDS[kind]}"
    doc = reports.store_document(
        kind=kind,
        title=title,
        template="periodic_stats.html",
        context=ctx,
        org_id=city.id,
        created_by=actor,
        business_key=key,
        defer=True,
    )
    data = {
        "document_id": doc.id,
        "report_title": title,
        "report_url": f"/documents/{doc.id}/download?inline=1",
        "period_label": ctx["period_label"],
        "subject": f"统计报告审核签发：{title}",
    }
    inst = runtime.start(PROCESS_ID, actor=actor, org=city, data=data, business_key=f"{kind}:{key}", entry=ENTRY)
    doc.instance_id = inst.id
    return doc


def due_reports(today: date) -> list[tuple[str, str]]:
    """The reports whose period ended before `today`: last month, last quarter (in its first month), last year."""
    last = today.replace(day=1) - timedelta(days=1)
    out = [("stats_monthly", f"{last.year}-{last.month:02d}")]
    if today.month in (1, 4, 7, 10):
        out.append(("stats_quarterly", f"{last.year}Q{(last.month - 1) // 3 + 1}"))
    if today.month == 1:
        out.append(("stats_yearly", str(last.year)))
    return out


def _doc(data: dict) -> Document:
    doc = db.session.get(Document, int(data.get("document_id") or 0))
    if doc is None:
        raise NotFound("流程关联的统计报告不存在")
    return doc


@service("stats.sign_periodic")
def sign_periodic(data: dict) -> dict:
    """签发: the leader signs; the report gets its number (沪应急执统〔2026〕N号) and is sealed with SM3."""
    from app.auth.models import User
    from app.reports import services as reports

    doc = _doc(data)
    signer = db.session.scalar(select(User).where(User.login == data.get("last_actor")))
    if signer is None:
        raise NotFound("签发人不存在")
    number = reports.allocate_number(NUMBER_PREFIX, utcnow().year)
    signed = reports.sign_document(doc, signer=signer, number=number, defer=True)
    return {"document_id": signed.id, "number": signed.number}


@service("stats.periodic_rejected")
def periodic_rejected(data: dict) -> str:
    doc = _doc(data)
    doc.context = {**doc.context, "rejected": data.get("last_comment") or "退回"}
    return data.get("last_comment") or ""
