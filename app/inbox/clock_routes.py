"""Pages for the deadline clock: ask for an extension or a pause, decide, resume."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.inbox import clock, services
from app.inbox.models import DEADLINE_KINDS, DEADLINE_STATUS
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("deadlines", __name__, url_prefix="/inbox/deadlines")


@bp.post("/tasks/<int:task_id>")
@permission_required("inbox.use")
def ask(task_id: int):
    row = services.visible_task(task_id, current_user)
    days = request.form.get("days", "0")
    clock.request_change(
        row,
        current_user,
        kind=request.form.get("kind", ""),
        days=int(days) if days.isdigit() else 0,
        reason=request.form.get("reason", ""),
        working=request.form.get("working", "1") == "1",
    )
    db.session.commit()
    flash("期限申请已提交，等待审批", "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/resume")
@permission_required("inbox.use")
def resume(task_id: int):
    row = services.visible_task(task_id, current_user)
    clock.resume(row, current_user)
    db.session.commit()
    flash("已恢复计时", "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.get("/")
@permission_required("deadline.approve")
def index():
    page = paginate(clock.pending_for(current_user), request.args.get("page"))
    return render_template("inbox/deadlines.html", page=page, kinds=DEADLINE_KINDS, statuses=DEADLINE_STATUS)


@bp.post("/<int:change_id>/decide")
@permission_required("deadline.approve")
def decide(change_id: int):
    change = clock.get_change(change_id)
    clock.decide(
        change,
        current_user,
        approve=request.form.get("decision") == "approve",
        comment=(request.form.get("comment") or "").strip() or None,
    )
    db.session.commit()
    flash("已处理期限申请", "success")
    return redirect(url_for(".index"))
