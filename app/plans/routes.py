"""Monthly plan pages: list and generate, the plan (items, excluded, draw, edit, submit, execution)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox import services as inbox_services
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans import process, services
from app.plans.models import PlanItem
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("plans", __name__, url_prefix="/plans")
PERMISSIONS = ("plan.draft", "plan.approve")


@bp.get("/")
@permission_required(*PERMISSIONS)
def index():
    page = paginate(services.visible(current_user), request.args.get("page"))
    today = utcnow().astimezone(process.runtime.SHANGHAI).date()
    year, month = services.next_month(today)
    districts = db.session.scalars(
        scope_for(current_user)
        .filter_org(select(Organisation), Organisation.id)
        .where(Organisation.kind == "district")
        .order_by(Organisation.sort, Organisation.code)
    ).all()
    return render_template(
        "plans/index.html", page=page, year=year, month=month, districts=districts, max_items=services.DEFAULT_MAX_ITEMS
    )


@bp.get("/export.<fmt>")
@permission_required(*PERMISSIONS)
def export(fmt: str):
    """The plans the user's scope shows; a large list as a background job with progress."""
    from app.tabular import background, lists

    return background.send_or_start(
        "plans",
        services.visible(current_user),
        lists.PLANS,
        user=current_user,
        args={},
        fmt=fmt,
        filename="月度计划",
        sheet="月度计划",
        title="月度计划",
    )


def _plans_export(user, args: dict):
    """The background export of the plan list (app/tabular/background.py), in the user's scope."""
    from app.tabular import background, lists

    stmt = services.visible(user)
    return lists.PLANS, stmt, background.count_rows(stmt), "月度计划", "月度计划"


def _register_exports() -> None:
    from app.tabular.background import exporter

    exporter("plans")(_plans_export)


_register_exports()


@bp.post("/generate")
@permission_required("plan.draft")
def generate():
    form = request.form
    plan = services.generate(
        current_user,
        district_code=form.get("district"),
        year=form.get("year", type=int) or 0,
        month=form.get("month", type=int) or 0,
        max_items=form.get("max_items", type=int) or services.DEFAULT_MAX_ITEMS,
        publicity_days=form.get("publicity_days", type=int) or 5,
    )
    db.session.commit()
    flash(f"已生成计划草稿：{len(plan.items)} 家企业，{len(plan.excluded)} 家因达到年度检查上限被排除", "success")
    return redirect(url_for(".detail", plan_id=plan.id))


@bp.get("/<int:plan_id>")
@permission_required(*PERMISSIONS)
def detail(plan_id: int):
    plan = services.get_visible(plan_id, current_user)
    instance = db.session.get(ProcessInstance, plan.instance_id) if plan.instance_id else None
    return render_template(
        "plans/detail.html",
        plan=plan,
        instance=instance,
        history=inbox_services.history(instance) if instance else [],
        open_rows=inbox_services.open_rows(instance) if instance else [],
        can_edit=plan.editable and current_user.can("plan.draft") and scope_for(current_user).contains(plan.org),
        draw_ok=services.verify_draw(plan) if plan.draw_seed is not None else None,
        pool_digest=services.pool_digest(plan.draw_pool) if plan.draw_pool else None,
        progress=services.progress(plan),
        errors={},
    )


def _back(plan_id: int, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".detail", plan_id=plan_id))


@bp.post("/<int:plan_id>/draw")
@permission_required("plan.draft")
def draw(plan_id: int):
    plan = services.get_visible(plan_id, current_user)
    seed = request.form.get("seed", "").strip()
    items = services.draw(
        plan, current_user, count=request.form.get("count", type=int) or 0, seed=int(seed) if seed.isdigit() else None
    )
    return _back(plan.id, f"已随机抽取 {len(items)} 家企业（种子 {plan.draw_seed}）")


@bp.post("/<int:plan_id>/items")
@permission_required("plan.draft")
def add_item(plan_id: int):
    plan = services.get_visible(plan_id, current_user)
    item = services.add_item(
        plan, current_user, credit_code=request.form.get("enterprise", "").strip(), note=request.form.get("note")
    )
    return _back(plan.id, f"已添加 {item.enterprise.name}" + ("（超限检查，已记录说明）" if item.over_limit else ""))


@bp.post("/<int:plan_id>/items/<int:item_id>/delete")
@permission_required("plan.draft")
def remove_item(plan_id: int, item_id: int):
    plan = services.get_visible(plan_id, current_user)
    services.remove_item(plan, current_user, item_id)
    return _back(plan.id, "已移出计划")


@bp.post("/<int:plan_id>/items/<int:item_id>/date")
@permission_required("plan.draft")
def set_date(plan_id: int, item_id: int):
    plan = services.get_visible(plan_id, current_user)
    services.set_date(plan, current_user, item_id, request.form.get("planned_on"))
    return _back(plan.id, "已设置计划检查日期")


@bp.post("/<int:plan_id>/submit")
@permission_required("plan.draft")
def submit(plan_id: int):
    plan = services.get_visible(plan_id, current_user)
    process.submit(plan, current_user)
    return _back(plan.id, "计划已提交审核")


@bp.post("/items/<int:item_id>/done")
@permission_required(*PERMISSIONS)
def done(item_id: int):
    item = db.session.get(PlanItem, item_id)
    plan = services.get_visible(item.plan_id if item else 0, current_user)
    day = params.day(request.form.get("inspected_on"), "inspected_on")
    services.mark_done(item, current_user, on=day, note=request.form.get("note"))
    return _back(plan.id, f"已登记 {item.enterprise.name} 的检查")


from app.plans import imports as _imports  # noqa: E402  (the XLSX import's routes on this blueprint)

_imports.register(bp)
