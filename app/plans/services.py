"""Monthly plans: assisted generation from data, the 双随机 draw, editing, submission, execution.

Assisted generation takes a district's enterprises whose time since the last inspection reached the
interval of their supervision grade, most important first, and leaves out those already at their
annual inspection limit (综合查一次, R2.1.6): they are listed as excluded, and adding one by hand
needs a written explanation. The random draw is reproducible: the seed and the sorted eligible pool
are stored, so `verify_draw` can run it again and anyone can check the result.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select

from app.audit import services as audit
from app.enterprises.models import Enterprise
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection, MonthlyPlan, PlanItem
from app.security.crypto import sm3
from app.security.scope import scope_for

# Inspections per year an enterprise may receive, and days between routine inspections, by grade.
# Annual inspection limits by grade live in app/checklimit (综合查一次), administrator-edited.
INTERVAL_DAYS = {"A": 60, "B": 90, "C": 180, "D": 365}
GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}
DEFAULT_MAX_ITEMS = 20


def annual_limit(grade: str | None) -> int:
    """The check-once limit (综合查一次): the administrators' table, else PLAN_ANNUAL_LIMITS, else defaults."""
    from app.checklimit.services import limit_for

    return limit_for(grade)


def next_month(today: date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


@dataclass
class Candidate:
    enterprise: Enterprise
    last: date | None
    count: int  # inspections in the plan year so far
    limit: int
    due: bool

    @property
    def over_limit(self) -> bool:
        return self.count >= self.limit

    def reason(self, month_start: date) -> str:
        grade = self.enterprise.grade or "C"
        if self.last is None:
            return f"{grade}级企业，尚无检查记录"
        return (
            f"{grade}级企业，距上次检查 {(month_start - self.last).days} 天（周期 {INTERVAL_DAYS.get(grade, 180)} 天）"
        )


def _history(enterprise_ids: list[int], year: int) -> dict[int, tuple[date | None, int]]:
    if not enterprise_ids:
        return {}
    last = dict(
        db.session.execute(
            select(Inspection.enterprise_id, func.max(Inspection.inspected_on))
            .where(Inspection.enterprise_id.in_(enterprise_ids))
            .group_by(Inspection.enterprise_id)
        ).all()
    )
    counts = dict(
        db.session.execute(
            select(Inspection.enterprise_id, func.count(Inspection.id))
            .where(
                Inspection.enterprise_id.in_(enterprise_ids),
                Inspection.inspected_on >= date(year, 1, 1),
                Inspection.inspected_on <= date(year, 12, 31),
            )
            .group_by(Inspection.enterprise_id)
        ).all()
    )
    return {i: (last.get(i), counts.get(i, 0)) for i in enterprise_ids}


def candidates(district: Organisation, year: int, month: int) -> list[Candidate]:
    """Every enterprise of the district with its last inspection, the year's count and whether it is due."""
    month_start = date(year, month, 1)
    enterprises = list(
        db.session.scalars(select(Enterprise).where(Enterprise.district_code == district.code).order_by(Enterprise.id))
    )
    history = _history([e.id for e in enterprises], year)
    out = []
    for e in enterprises:
        last, count = history.get(e.id, (None, 0))
        interval = INTERVAL_DAYS.get(e.grade or "C", 180)
        due = last is None or (month_start - last).days >= interval
        out.append(Candidate(enterprise=e, last=last, count=count, limit=annual_limit(e.grade), due=due))
    out.sort(key=lambda c: (GRADE_ORDER.get(c.enterprise.grade or "C", 9), c.last or date.min, c.enterprise.id))
    return out


def _district_for(actor, code: str | None) -> Organisation:
    if actor.org.kind == "district":
        return actor.org
    org = db.session.scalar(select(Organisation).where(Organisation.code == (code or "")))
    if org is None or org.kind != "district" or not scope_for(actor).contains(org):
        raise ValidationFailed("请选择区", errors={"district": "请选择区"})
    return org


def generate(
    actor,
    *,
    district_code: str | None,
    year: int,
    month: int,
    max_items: int = DEFAULT_MAX_ITEMS,
    publicity_days: int = 5,
) -> MonthlyPlan:
    """辅助生成: a draft plan of the enterprises due for inspection, over-limit ones excluded."""
    if not actor.can("plan.draft"):
        raise PermissionDenied("您没有编制计划的权限")
    district = _district_for(actor, district_code)
    if not (1 <= month <= 12) or not (2000 <= year <= 2100):
        raise ValidationFailed("计划月份无效", errors={"month": "月份无效"})
    max_items = max(1, min(int(max_items), 200))
    existing = db.session.scalar(
        select(MonthlyPlan).where(
            MonthlyPlan.org_id == district.id, MonthlyPlan.year == year, MonthlyPlan.month == month
        )
    )
    if existing is not None:
        raise Conflict(f"{district.short_name or district.name}{year}年{month}月的计划已存在")
    month_start = date(year, month, 1)
    found = candidates(district, year, month)
    due = [c for c in found if c.due and not c.over_limit][:max_items]
    excluded = [c for c in found if c.due and c.over_limit]
    plan = MonthlyPlan(
        org_id=district.id,
        year=year,
        month=month,
        title=f"{district.short_name or district.name}{year}年{month}月安全生产执法检查计划",
        status="draft",
        params={"max_items": max_items, "generated_at": utcnow().isoformat(), "due_total": sum(c.due for c in found)},
        excluded=[
            {
                "enterprise_id": c.enterprise.id,
                "name": c.enterprise.name,
                "credit_code": c.enterprise.credit_code,
                "grade": c.enterprise.grade,
                "count": c.count,
                "limit": c.limit,
            }
            for c in excluded
        ],
        publicity_days=max(1, min(int(publicity_days), 30)),
        created_by_id=actor.id,
    )
    db.session.add(plan)
    db.session.flush()
    for c in due:
        db.session.add(
            PlanItem(plan_id=plan.id, enterprise_id=c.enterprise.id, source="assisted", reason=c.reason(month_start))
        )
    db.session.flush()
    audit.record(
        "plan.generate",
        actor=actor,
        object_type="plan",
        object_id=plan.id,
        detail={
            "district": district.code,
            "period": f"{year}-{month:02d}",
            "items": len(due),
            "excluded": len(excluded),
        },
    )
    return plan


# ---------------------------------------------------------------------------------------------
# access


def visible(user) -> Select:
    return (
        scope_for(user)
        .filter_org(select(MonthlyPlan), MonthlyPlan.org_id)
        .order_by(MonthlyPlan.year.desc(), MonthlyPlan.month.desc(), MonthlyPlan.id.desc())
    )


def get_visible(plan_id: int, user) -> MonthlyPlan:
    plan = db.session.get(MonthlyPlan, plan_id)
    if plan is None or not scope_for(user).contains(plan.org):
        raise NotFound("计划不存在或不在您的数据范围内")
    return plan


def ensure_editable(plan: MonthlyPlan, actor) -> None:
    if not actor.can("plan.draft") or not scope_for(actor).contains(plan.org):
        raise PermissionDenied("您不能修改该计划")
    if not plan.editable:
        raise Conflict(f"计划{plan.status_label}，不能修改")


# ---------------------------------------------------------------------------------------------
# the 双随机 draw


def draw_pool(plan: MonthlyPlan) -> list[int]:
    """Eligible for the draw: the district's enterprises not in the plan and under their annual limit."""
    inside = {i.enterprise_id for i in plan.items}
    return sorted(
        c.enterprise.id
        for c in candidates(plan.org, plan.year, plan.month)
        if c.enterprise.id not in inside and not c.over_limit
    )


def _sample(seed: int, pool: list[int], count: int) -> list[int]:
    return random.Random(seed).sample(sorted(pool), min(count, len(pool)))


def draw(plan: MonthlyPlan, actor, *, count: int, seed: int | None = None) -> list[PlanItem]:
    """双随机抽取: `count` enterprises from the eligible pool with a recorded seed (audited)."""
    ensure_editable(plan, actor)
    count = int(count)
    if count < 1 or count > 100:
        raise ValidationFailed("抽取数量应为 1 至 100", errors={"count": "数量无效"})
    pool = draw_pool(plan)
    if not pool:
        raise Conflict("没有可抽取的企业（均已在计划中或已达年度检查上限）")
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    picked = _sample(seed, pool, count)
    items = [
        PlanItem(plan_id=plan.id, enterprise_id=eid, source="random", reason=f"双随机抽取（种子 {seed}）")
        for eid in picked
    ]
    db.session.add_all(items)
    plan.draw_seed, plan.draw_pool, plan.draw_result, plan.drawn_at = seed, pool, picked, utcnow()
    plan.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "plan.draw",
        actor=actor,
        object_type="plan",
        object_id=plan.id,
        detail={"seed": seed, "pool_size": len(pool), "pool_sm3": pool_digest(pool), "picked": picked},
    )
    return items


def pool_digest(pool: list[int]) -> str:
    return sm3(",".join(str(i) for i in sorted(pool)).encode("ascii")).hex()


def verify_draw(plan: MonthlyPlan) -> bool:
    """Run the recorded draw again from its seed and pool: the same enterprises must come out."""
    if plan.draw_seed is None:
        return False
    return _sample(plan.draw_seed, plan.draw_pool, len(plan.draw_result)) == list(plan.draw_result)


# ---------------------------------------------------------------------------------------------
# editing


def add_item(plan: MonthlyPlan, actor, *, credit_code: str, note: str | None = None) -> PlanItem:
    """人工添加; an enterprise at its annual limit needs a written explanation (超限检查说明)."""
    ensure_editable(plan, actor)
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == (credit_code or "").upper()))
    if enterprise is None or enterprise.district_code != plan.org.code:
        raise ValidationFailed("请选择本区企业库中的企业", errors={"enterprise": "企业不在本区"})
    if any(i.enterprise_id == enterprise.id for i in plan.items):
        raise Conflict("该企业已在计划中")
    _last, count = _history([enterprise.id], plan.year)[enterprise.id]
    limit = annual_limit(enterprise.grade)
    over = count >= limit
    note = (note or "").strip()
    if over and not note:
        raise ValidationFailed(
            f"{enterprise.name}本年度已检查 {count} 次，达到年度上限 {limit} 次，须填写超限检查说明",
            errors={"note": "请填写超限检查说明"},
        )
    item = PlanItem(
        plan_id=plan.id,
        enterprise_id=enterprise.id,
        source="manual",
        reason=note or "人工添加",
        over_limit=over,
        over_limit_note=note if over else None,
    )
    db.session.add(item)
    plan.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "plan.item.add",
        actor=actor,
        object_type="plan",
        object_id=plan.id,
        detail={"enterprise": enterprise.credit_code, "over_limit": over},
    )
    return item


def _item(plan: MonthlyPlan, item_id: int) -> PlanItem:
    item = db.session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise NotFound("计划条目不存在")
    return item


def remove_item(plan: MonthlyPlan, actor, item_id: int) -> None:
    ensure_editable(plan, actor)
    item = _item(plan, item_id)
    plan.items.remove(item)
    plan.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "plan.item.remove",
        actor=actor,
        object_type="plan",
        object_id=plan.id,
        detail={"enterprise": item.enterprise.credit_code},
    )


def set_date(plan: MonthlyPlan, actor, item_id: int, value: str | None) -> PlanItem:
    ensure_editable(plan, actor)
    item = _item(plan, item_id)
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise ValidationFailed("日期格式不正确", errors={"planned_on": "日期无效"}) from exc
    if day is not None and (day.year, day.month) != (plan.year, plan.month):
        raise ValidationFailed("计划日期须在计划月份内", errors={"planned_on": "日期不在计划月份内"})
    item.planned_on = day
    return item


def mark_done(item: PlanItem, actor, *, on: date | None = None, note: str | None = None) -> Inspection:
    """Record the inspection that executes a plan item."""
    plan = item.plan
    if plan.status != "published":
        raise Conflict("计划尚未发布")
    if not scope_for(actor).contains(plan.org) or not (actor.can("plan.draft") or actor.can("plan.approve")):
        raise PermissionDenied("您不能登记该计划的检查")
    if item.status == "done":
        raise Conflict("该企业已登记检查")
    from app.engine.runtime import SHANGHAI

    today = utcnow().astimezone(SHANGHAI).date()
    on = on or today
    if not date(plan.year - 1, 1, 1) <= on <= today:
        raise ValidationFailed(
            f"检查日期须在 {plan.year - 1} 年 1 月 1 日至今天之间",
            errors={"inspected_on": "检查日期无效：不能早于上一年年初，也不能晚于今天"},
        )
    from app.checklimit.services import year_count

    if not item.over_limit and year_count(item.enterprise_id, on.year)["over"]:
        raise ValidationFailed(
            f"{item.enterprise.name}本年度已达年度检查上限（各部门合计），须先在“综合查一次”办理超限检查报备，批准后登记",
            errors={"over_limit": "须办理超限检查报备"},
        )
    inspection = Inspection(
        enterprise_id=item.enterprise_id,
        org_id=plan.org_id,
        inspected_on=on,
        kind="plan",
        plan_item_id=item.id,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(inspection)
    item.status, item.done_on = "done", on
    db.session.flush()
    return inspection


def progress(plan: MonthlyPlan) -> dict:
    items = [i for i in plan.items if i.status != "cancelled"]
    done = sum(1 for i in items if i.status == "done")
    return {"total": len(items), "done": done, "percent": round(done * 100 / len(items)) if items else 0}
