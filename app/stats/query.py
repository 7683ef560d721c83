"""监督统计分析: one query over the summary table (period, subject, grouping fields, measures) with
同比 (year-on-year) and 环比 (previous period) for each time bucket, always inside the data scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from app.enterprises.models import GRADES
from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import DataScope
from app.stats.models import StatsDaily, StatsMonthly
from app.stats.summary import SUBJECTS

PERIODS = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年"}
GROUPS = {"district": "区", "street": "街镇", "industry": "行业", "grade": "分级", "source": "来源"}
MEASURES = {
    "n": "数量",
    "closed": "办结数",
    "overdue": "超期数",
    "closed_rate": "办结率(%)",
    "overdue_rate": "超期率(%)",
    "avg_hours": "平均办结时长(小时)",
}
DEFAULT_SPAN = {"day": 30, "week": 7 * 12, "month": 365, "quarter": 730, "year": 365 * 3}
MAX_DAYS = 366 * 5
_COLUMN = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}
_GROUP_COLUMN = {
    "district": "district_org_id",
    "street": "org_id",
    "industry": "industry",
    "grade": "grade",
    "source": "source",
}


@dataclass
class Query:
    subject: str = "clue"
    period: str = "month"
    start: date | None = None
    end: date | None = None
    groups: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=lambda: ["n", "closed", "overdue"])

    def as_params(self) -> dict:
        return {
            "subject": self.subject,
            "period": self.period,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "group": list(self.groups),
            "measure": list(self.measures),
        }


def _date(text: str | None, label: str, errors: dict, key: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = f"{label}格式应为 年-月-日"
        return None


def parse(args, today: date) -> Query:
    """A Query from request arguments (a MultiDict or a dict of lists); bad input -> one Chinese message each."""
    get = args.get
    getlist = args.getlist if hasattr(args, "getlist") else (lambda k: args.get(k) or [])
    errors: dict[str, str] = {}
    q = Query()
    q.subject = get("subject") or "clue"
    if q.subject not in SUBJECTS:
        errors["subject"] = "统计对象不存在"
    q.period = get("period") or "month"
    if q.period not in PERIODS:
        errors["period"] = "统计周期只能是日、周、月、季度或年"
    q.groups = [g for g in getlist("group") if g][:2]
    if any(g not in GROUPS for g in q.groups):
        errors["group"] = "分组字段不存在"
    q.measures = [m for m in getlist("measure") if m] or ["n", "closed", "overdue"]
    if any(m not in MEASURES for m in q.measures):
        errors["measure"] = "统计指标不存在"
    q.end = _date(get("end"), "结束日期", errors, "end") or today
    q.start = _date(get("start"), "开始日期", errors, "start") or q.end - timedelta(
        days=DEFAULT_SPAN.get(q.period, 365)
    )
    if q.start and q.end and q.start > q.end:
        errors["start"] = "开始日期不能晚于结束日期"
    elif q.start and q.end and (q.end - q.start).days > MAX_DAYS:
        errors["start"] = "查询范围不能超过 5 年"
    if errors:
        raise ValidationFailed("；".join(errors.values()), errors=errors)
    return q


def bucket_of(period: str, d: date) -> int | date:
    if period == "day":
        return d
    if period == "week":
        iso = d.isocalendar()
        return iso.year * 100 + iso.week
    if period == "month":
        return d.year * 100 + d.month
    if period == "quarter":
        return d.year * 10 + (d.month - 1) // 3 + 1
    return d.year


def label_of(period: str, key) -> str:
    if period == "day":
        return key.isoformat()
    if period == "week":
        return f"{key // 100}-W{key % 100:02d}"
    if period == "month":
        return f"{key // 100}-{key % 100:02d}"
    if period == "quarter":
        return f"{key // 10}Q{key % 10}"
    return str(key)


def buckets(period: str, start: date, end: date) -> list:
    keys, d = [], start
    while d <= end:
        k = bucket_of(period, d)
        if not keys or keys[-1] != k:
            keys.append(k)
        d += timedelta(days=1)
    return keys


def _year_before(period: str, key):
    if period == "day":
        try:
            return key.replace(year=key.year - 1)
        except ValueError:
            return None
    return {"week": key - 100, "month": key - 100, "quarter": key - 10, "year": key - 1}[period]


def _measures(n: float, closed: float, overdue: float, hours: float) -> dict:
    return {
        "n": int(n),
        "closed": int(closed),
        "overdue": int(overdue),
        "closed_rate": round(100 * closed / n, 1) if n else None,
        "overdue_rate": round(100 * overdue / closed, 1) if closed else None,
        "avg_hours": round(hours / closed, 1) if closed else None,
    }


def _change(now, before) -> float | None:
    if now is None or not before:
        return None
    return round(100 * (now - before) / before, 1)


def _names(groups: list[str], raw: list[tuple]) -> dict:
    """Display names for the raw group values (organisations by name, industries and grades by label)."""
    from app.enterprises.reference import industry_name

    org_ids = {v for row in raw for g, v in zip(groups, row, strict=False) if g in ("district", "street") and v}
    orgs = {}
    if org_ids:
        for oid, name, short, kind in db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.short_name, Organisation.kind).where(
                Organisation.id.in_(org_ids)
            )
        ):
            orgs[oid] = (short or name, kind)

    def name(g, v):
        if g == "district":
            return orgs.get(v, ("未归属区", ""))[0] if v else "未归属区"
        if g == "street":
            return orgs[v][0] if v in orgs and orgs[v][1] == "street" else "区级（无街镇）"
        if g == "industry":
            return industry_name(v) if v else "未分类"
        if g == "grade":
            return GRADES.get(v, "未分级") if v else "未分级"
        return v or "未注明"

    return name


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _parts(scope: DataScope, q: Query, first: date) -> list[tuple]:
    """Where to read [first, end] from: whole months from the monthly roll-up when the city groups by month,
    quarter or year without streets; the partial months at either end (and everything else) from stats_daily."""
    if not (scope.all and q.period in ("month", "quarter", "year") and "street" not in q.groups):
        return [(StatsDaily, first - timedelta(days=7), q.end)]
    m0 = first if first.day == 1 else (_month_start(first) + timedelta(days=32)).replace(day=1)
    after_end = q.end + timedelta(days=1)
    m1 = _month_start(after_end) - timedelta(days=1)  # the last day of the last whole month
    if m0 > m1:
        return [(StatsDaily, first, q.end)]
    parts = [(StatsMonthly, m0, m1)]
    if first < m0:
        parts.append((StatsDaily, first, m0 - timedelta(days=1)))
    if m1 < q.end:
        parts.append((StatsDaily, m1 + timedelta(days=1), q.end))
    return parts


def _fetch(scope: DataScope, q: Query, model, d0: date, d1: date) -> list:
    col = getattr(model, _COLUMN[q.period])
    gcols = [getattr(model, _GROUP_COLUMN[g]) for g in q.groups]
    sums = (func.sum(model.n), func.sum(model.closed), func.sum(model.overdue), func.sum(model.hours))
    stmt = select(col, *gcols, *sums).where(model.subject == q.subject)
    if model is StatsMonthly:
        stmt = stmt.where(model.month >= d0.year * 100 + d0.month, model.month <= d1.year * 100 + d1.month)
    else:
        stmt = scope.filter_org(stmt.where(model.day >= d0, model.day <= d1), model.org_id)
    return db.session.execute(stmt.group_by(col, *gcols)).all()


def run(scope: DataScope, q: Query) -> dict:
    """The table (bucket x groups -> measures), the totals per bucket with 同比/环比, ready for charts."""
    first = (
        q.start.replace(year=q.start.year - 1)
        if not (q.start.month == 2 and q.start.day == 29)
        else q.start - timedelta(days=366)
    )
    rows = []
    for model, d0, d1 in _parts(scope, q, first):
        rows += _fetch(scope, q, model, d0, d1)
    ngroups = len(q.groups)
    keys = buckets(q.period, q.start, q.end)
    wanted = set(keys)
    totals: dict = {}
    table: dict[tuple, dict] = {}
    for row in rows:
        key, groups, (n, closed, late, hours) = row[0], tuple(row[1 : 1 + ngroups]), row[1 + ngroups :]
        t = totals.setdefault(key, [0, 0, 0, 0.0])
        for i, v in enumerate((n, closed, late, hours)):
            t[i] += v or 0
        if key in wanted:
            slot = table.setdefault((key, groups), [0, 0, 0, 0.0])
            for i, v in enumerate((n, closed, late, hours)):
                slot[i] += v or 0
    name = _names(q.groups, [g for (_, g) in table])
    out_rows = []
    for (key, groups), parts in sorted(table.items(), key=lambda kv: (str(kv[0][0]), [str(x) for x in kv[0][1]])):
        out_rows.append(
            {
                "bucket": label_of(q.period, key),
                "groups": [name(g, v) for g, v in zip(q.groups, groups, strict=False)],
                **_measures(*parts),
            }
        )
    series = []
    every = buckets(q.period, first, q.end)
    prev_of = {k: every[i - 1] for i, k in enumerate(every) if i}
    for key in keys:
        now = _measures(*totals.get(key, (0, 0, 0, 0.0)))
        before = _year_before(q.period, key)
        last_year = _measures(*totals.get(before, (0, 0, 0, 0.0))) if before is not None else None
        prev = _measures(*totals.get(prev_of[key], (0, 0, 0, 0.0))) if key in prev_of else None
        entry = {"bucket": label_of(q.period, key), **now}
        for m in q.measures:
            entry[f"{m}_yoy"] = _change(now[m], last_year[m]) if last_year else None
            entry[f"{m}_mom"] = _change(now[m], prev[m]) if prev else None
        series.append(entry)
    return {
        "query": q.as_params(),
        "subject_label": SUBJECTS[q.subject],
        "period_label": PERIODS[q.period],
        "group_labels": [GROUPS[g] for g in q.groups],
        "measures": [{"code": m, "label": MEASURES[m]} for m in q.measures],
        "rows": out_rows,
        "series": series,
    }
