"""The monthly_plan review process, its service tasks, and the execution-warning job.

submit → 大队内审 → 总队审核 → 公示 (a timer of `working_deadline(publicity_days)`) → 正式发布.
A send-back sets the plan to "returned" and gives the drafter a 修改计划 task; submitting the plan
again (from the plan page or that task) completes it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import User
from app.engine import runtime
from app.engine.calendar import get_calendar
from app.engine.cli import round_job
from app.engine.scripting import working_deadline
from app.engine.services import Linked, service
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.inbox import lifecycle, notify
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.plans.models import MonthlyPlan
from app.plans.services import ensure_editable, progress

PROCESS_ID = "monthly_plan"
LAG_TOLERANCE = 0.2  # done share may trail the elapsed share of working days by this much


def _info(plan: MonthlyPlan) -> dict:
    items = [i for i in plan.items if i.status != "cancelled"]
    drawn = sum(1 for i in items if i.source == "random")
    return {
        "item_count": len(items),
        "over_limit_count": sum(1 for i in items if i.over_limit),
        "draw_summary": f"抽取 {drawn} 家（种子 {plan.draw_seed}，备选 {len(plan.draw_pool)} 家）"
        if drawn
        else "未抽取",
    }


def submit(plan: MonthlyPlan, actor) -> MonthlyPlan:
    """提交审核 (first time: start the process; after a send-back: complete the 修改计划 task)."""
    from app.inbox import actions

    ensure_editable(plan, actor)
    if not [i for i in plan.items if i.status != "cancelled"]:
        raise ValidationFailed("计划中没有企业，不能提交")
    if plan.status == "returned" and plan.instance_id:
        row = db.session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == plan.instance_id, HumanTask.step == "revise", HumanTask.status == "open"
            )
        )
        if row is None:
            raise Conflict("没有待重新提交的修改任务")
        actions.complete(row, actor, action="complete", form_data={})
        return plan
    data = {
        "plan_id": plan.id,
        "subject": plan.title,
        "district_name": plan.org.short_name or plan.org.name,
        "period": f"{plan.year}年{plan.month}月",
        "publicity_days": plan.publicity_days,
        "plan_url": f"/plans/{plan.id}",
        **_info(plan),
    }
    instance = runtime.start(
        PROCESS_ID,
        actor=actor,
        org=plan.org,
        data=data,
        business_key=f"plan:{plan.id}",
        title=plan.title,
        entry="plan_page",
    )
    plan.instance_id = instance.id
    plan.status = "reviewing"
    plan.updated_at = utcnow()
    audit.record("plan.submit", actor=actor, object_type="plan", object_id=plan.id, detail={"number": instance.number})
    return plan


_plan = Linked(MonthlyPlan, "plan_id", "计划", object_type="plan")


def _drafter(plan: MonthlyPlan) -> list[User]:
    return [plan.created_by] if plan.created_by else []


@service("plan.step")
def step(data: dict, note: str) -> str:
    _plan.settle(data, "reviewing", stamp="updated_at")
    return note


@service("plan.returned")
def returned(data: dict) -> str:
    reason = data.get("last_comment") or ""
    _plan.settle(data, "returned", stamp="updated_at", return_reason=reason)
    return reason


@service("plan.resubmitted")
def resubmitted(data: dict) -> dict:
    return _info(_plan.settle(data, "reviewing", stamp="updated_at"))


@service("plan.publicize")
def publicize(data: dict) -> str:
    """公示: until N working days from now (the process's timer uses the same rule)."""
    until = working_deadline(_plan(data).publicity_days)
    plan = _plan.settle(data, "publicity", stamp="updated_at", publicity_until=datetime.fromisoformat(until))
    notify.notify(
        _drafter(plan), kind="done", title=f"{plan.title}已审核通过，公示至 {until[:10]}", url=f"/plans/{plan.id}"
    )
    return until


@service("plan.publish")
def publish(data: dict) -> str:
    plan = _plan.settle(data, "published", stamp=("published_at", "updated_at"), audit="plan.publish")
    notify.notify(_drafter(plan), kind="done", title=f"{plan.title}公示期满，已正式发布", url=f"/plans/{plan.id}")
    return plan.published_at.isoformat()


# ---------------------------------------------------------------------------------------------
# execution warnings


def _month_share(year: int, month: int, today: date) -> float:
    """The share of the month's working days that have passed by `today` (inclusive)."""
    calendar = get_calendar()
    first = date(year, month, 1)
    last = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    days = [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal())]
    working = [d for d in days if calendar.is_working_day(d)]
    if not working:
        return 0.0
    return sum(1 for d in working if d <= today) / len(working)


@round_job("plans.execution")
def check_execution(now: datetime) -> int:
    """执行预警: a published plan whose inspections lag behind the month, or a past month left undone."""
    from app.alerts import services as alerts

    today = now.astimezone(runtime.SHANGHAI).date()
    raised = 0
    for plan in db.session.scalars(select(MonthlyPlan).where(MonthlyPlan.status == "published")):
        state = progress(plan)
        if not state["total"] or state["done"] == state["total"]:
            continue
        past = (plan.year, plan.month) < (today.year, today.month)
        if past:
            level, title = "red", f"{plan.title}已结束，仍有 {state['total'] - state['done']} 家企业未检查"
        elif (plan.year, plan.month) == (today.year, today.month):
            elapsed = _month_share(plan.year, plan.month, today)
            if state["done"] / state["total"] + LAG_TOLERANCE >= elapsed:
                continue
            level = "yellow"
            title = (
                f"{plan.title}执行滞后：已检查 {state['done']}/{state['total']}，本月工作日已过 {round(elapsed * 100)}%"
            )
        else:
            continue
        alerts.raise_alert(
            "plan_lagging", org=plan.org, level=level, title=title, plan_id=plan.id, url=f"/plans/{plan.id}"
        )
        raised += 1
    return raised


@lifecycle.on_end("plan")
def process_ended(object_id: int, status: str, reason: str | None, actor) -> None:
    """The plan follows its process: a terminated (终止) process leaves it 已终止."""
    obj = db.session.get(MonthlyPlan, object_id)
    if obj is not None and status == "terminated":
        obj.status = "terminated"
