"""国有集团监督检查数据 (R2.5.3): the groups' structure (组织架构), their inspection records over their units
and the 典型隐患 / 典型违法行为 queries across groups. The data is what the groups submit through the
data-exchange API or an XLSX upload (app/exchange/sources/soe.py, records under source "soe:<group>").

Scope: the city sees every group; a group account its own group; a member unit itself (and below); any
other account (a district) no group at all.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.errors import NotFound, ValidationFailed
from app.exchange.models import ExchangeRecord
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import scope_for

SPLIT = re.compile(r"[；;、\n]+")
KINDS = {"hazard": ("hazard_items", "典型隐患"), "violation": ("violation_items", "典型违法行为")}
MAX_ROWS = 20000  # records read for one query (the groups report hundreds a month)


def _group_of(org: Organisation | None) -> Organisation | None:
    while org is not None and org.kind != "soe_group":
        org = org.parent
    return org


def visible_groups(user) -> list[Organisation]:
    """The SOE groups whose data the user may see (their own, or all for the city)."""
    scope = scope_for(user)
    if scope.all:
        return list(
            db.session.scalars(select(Organisation).where(Organisation.kind == "soe_group").order_by(Organisation.sort))
        )
    group = _group_of(getattr(user, "token_scope_org", None) or user.org)
    return [group] if group is not None else []


def get_group(user, group_id: int) -> Organisation:
    for g in visible_groups(user):
        if g.id == group_id:
            return g
    raise NotFound("集团不存在或不在您的数据范围内")


def tree(user, group: Organisation) -> list[dict]:
    """The group's units as nested nodes, limited to the user's scope, with each unit's record count."""
    scope = scope_for(user)
    units = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.path.startswith(group.path, autoescape=True))
            .order_by(Organisation.path, Organisation.sort)
        )
    )
    counts = Counter(
        db.session.scalars(
            select(ExchangeRecord.org_id).where(
                ExchangeRecord.source == f"soe:{group.code}"[:32], ExchangeRecord.dataset == "soe_inspection"
            )
        )
    )
    nodes = {
        u.id: {"org": u, "children": [], "records": counts.get(u.id, 0), "visible": scope.contains(u)} for u in units
    }
    roots = []
    for u in units:
        node = nodes[u.id]
        if u.parent_id in nodes and u.id != group.id:
            nodes[u.parent_id]["children"].append(node)
        elif u.id == group.id:
            roots.append(node)
    return [_prune(n) for n in roots if _prune(n)]


def _prune(node: dict) -> dict | None:
    """Keep visible nodes and the path down to them."""
    children = [c for c in (_prune(c) for c in node["children"]) if c]
    if not node["visible"] and not children:
        return None
    return {**node, "children": children}


@dataclass
class Filters:
    group_id: int | None = None
    unit_id: int | None = None
    start: date | None = None
    end: date | None = None
    q: str = ""


def parse_filters(args) -> Filters:
    f = Filters(q=(args.get("q") or "").strip()[:50])
    for key in ("group_id", "unit_id"):
        raw = (args.get(key) or "").strip()
        if raw:
            if not raw.isdigit():
                raise ValidationFailed("筛选条件有误", errors={key: "请选择有效的单位"})
            setattr(f, key, int(raw))
    for key, label in (("start", "开始日期"), ("end", "结束日期")):
        raw = (args.get(key) or "").strip()
        if raw:
            try:
                setattr(f, key, date.fromisoformat(raw))
            except ValueError:
                raise ValidationFailed(f"{label}格式应为 YYYY-MM-DD", errors={key: f"{label}格式有误"}) from None
    if f.start and f.end and f.start > f.end:
        raise ValidationFailed("开始日期不能晚于结束日期", errors={"start": "开始日期晚于结束日期"})
    return f


def records(user, f: Filters) -> list[ExchangeRecord]:
    """Inspection records the user may see, filtered, newest inspection first."""
    groups = visible_groups(user)
    if f.group_id is not None:
        groups = [g for g in groups if g.id == f.group_id]
    if not groups:
        return []
    stmt = select(ExchangeRecord).where(
        ExchangeRecord.dataset == "soe_inspection",
        ExchangeRecord.source.in_([f"soe:{g.code}"[:32] for g in groups]),
    )
    stmt = scope_for(user).filter_org(stmt, ExchangeRecord.org_id)
    if f.unit_id is not None:
        unit = db.session.get(Organisation, f.unit_id)
        if unit is None:
            return []
        stmt = stmt.where(
            ExchangeRecord.org_id.in_(
                select(Organisation.id).where(Organisation.path.startswith(unit.path, autoescape=True))
            )
        )
    rows = list(db.session.scalars(stmt.order_by(ExchangeRecord.id.desc()).limit(MAX_ROWS)))
    out = []
    for r in rows:
        day = _day(r.data.get("inspected_on"))
        if (f.start and (day is None or day < f.start)) or (f.end and (day is None or day > f.end)):
            continue
        if f.q and f.q not in " ".join(str(v) for v in r.data.values() if v):
            continue
        out.append(r)
    out.sort(key=lambda r: (str(r.data.get("inspected_on") or ""), r.id), reverse=True)
    return out


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def get_record(user, record_id: int) -> ExchangeRecord:
    r = db.session.get(ExchangeRecord, record_id)
    groups = {f"soe:{g.code}"[:32] for g in visible_groups(user)}
    if (
        r is None
        or r.dataset != "soe_inspection"
        or r.source not in groups
        or not scope_for(user).contains(db.session.get(Organisation, r.org_id))
    ):
        raise NotFound("检查记录不存在或不在您的数据范围内")
    return r


def attachments(record: ExchangeRecord) -> list[dict]:
    return [
        x.data
        for x in db.session.scalars(
            select(ExchangeRecord).where(
                ExchangeRecord.source == record.source, ExchangeRecord.dataset == "soe_attachment"
            )
        )
        if x.data.get("record_no") == record.source_id
    ]


def items(value) -> list[str]:
    return [x.strip() for x in SPLIT.split(str(value or "")) if x.strip()]


def typical(user, kind: str, f: Filters, top: int = 15) -> dict:
    """典型隐患 / 典型违法行为: how often each item was found, by group, with the records behind the top ones."""
    if kind not in KINDS:
        raise NotFound("查询类型不存在")
    field, label = KINDS[kind]
    rows = records(user, f)
    groups = {f"soe:{g.code}"[:32]: g for g in visible_groups(user)}
    total: Counter = Counter()
    by_group: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, list] = defaultdict(list)
    for r in rows:
        g = groups.get(r.source)
        for item in items(r.data.get(field)):
            total[item] += 1
            by_group[g.short_name or g.name if g else r.source][item] += 1
            if len(examples[item]) < 5:
                examples[item].append(r)
    ranked = total.most_common(top)
    return {
        "label": label,
        "records": len(rows),
        "ranked": ranked,
        "examples": examples,
        "chart": {
            "items": [name for name, _ in ranked],
            "counts": [n for _, n in ranked],
            "groups": [{"name": g, "value": sum(c.values())} for g, c in sorted(by_group.items())],
        },
    }


def overview(user) -> list[dict]:
    """Per visible group: member units, records, hazards found, violations, the latest inspection."""
    rows = records(user, Filters())
    out = []
    for g in visible_groups(user):
        mine = [r for r in rows if r.source == f"soe:{g.code}"[:32]]
        units = db.session.scalar(
            select(func.count(Organisation.id)).where(
                Organisation.path.startswith(g.path, autoescape=True), Organisation.kind == "soe_unit"
            )
        )
        out.append(
            {
                "group": g,
                "units": units or 0,
                "records": len(mine),
                "hazards": sum(int(r.data.get("hazards") or 0) for r in mine),
                "violations": sum(len(items(r.data.get("violation_items"))) for r in mine),
                "latest": max((str(r.data.get("inspected_on") or "") for r in mine), default=""),
            }
        )
    return out


def unit_names(record_ids_orgs) -> dict[int, str]:
    ids = {oid for oid in record_ids_orgs if oid}
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
