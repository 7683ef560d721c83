"""The alert centre: the task board (red/yellow/green by organisation and person), alerts, closure records."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.alerts import services
from app.alerts.models import KINDS
from app.engine.models import ProcessModel
from app.errors import NotFound
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
TABS = {"board": "任务预警", "open": "异常预警", "closed": "处置记录"}


@bp.get("/")
@permission_required("inbox.use")
def index():
    tab = request.args.get("tab", "board")
    if tab not in TABS:
        tab = "board"
    context = {"tab": tab, "tabs": TABS, "kinds": KINDS}
    if tab == "board":
        org_id = request.args.get("org_id", type=int)
        rows = services.task_board(
            current_user,
            level=request.args.get("level") or None,
            org_id=org_id,
            process_id=request.args.get("process") or None,
        )
        context.update(
            rows=rows,
            summary=services.summarise(rows),
            level=request.args.get("level") or "",
            org_id=org_id,
            process=request.args.get("process") or "",
            processes=db.session.scalars(select(ProcessModel).order_by(ProcessModel.name)).all(),
            orgs=scope_for(current_user)
            .filter_org(select(Organisation), Organisation.id)
            .where(Organisation.kind.in_(("city", "section", "district", "street"))),
        )
        context["orgs"] = db.session.scalars(context["orgs"].order_by(Organisation.path).limit(300)).all()
    else:
        stmt = services.visible_alerts(current_user, status=tab, kind=request.args.get("kind") or None)
        context.update(page=paginate(stmt, request.args.get("page")), kind=request.args.get("kind") or "")
    return render_template("alerts/index.html", **context)


@bp.get("/export.<fmt>")
@permission_required("inbox.use")
def export(fmt: str):
    """The task board or the alert list of a tab, as CSV or XLSX (same filters and scope as the page)."""
    from app.tabular import lists
    from app.tabular.export import send

    tab = request.args.get("tab", "board")
    if tab == "board":
        rows = services.task_board(
            current_user,
            level=request.args.get("level") or None,
            org_id=request.args.get("org_id", type=int),
            process_id=request.args.get("process") or None,
        )
        return send(lists.TASK_BOARD, rows, filename="任务预警", fmt=fmt, sheet="任务预警")
    from app.tabular import background

    status = "closed" if tab == "closed" else "open"
    return background.send_or_start(
        "alerts",
        services.visible_alerts(current_user, status=status, kind=request.args.get("kind") or None),
        lists.ALERTS,
        user=current_user,
        args={"tab": status, "kind": request.args.get("kind") or ""},
        fmt=fmt,
        filename=TABS.get(tab, "预警"),
        sheet="预警",
        title=TABS[status],
    )


def _alerts_export(user, args: dict):
    """The background export of an alert tab (异常预警 / 处置记录) with its kind filter, in the user's scope."""
    from app.tabular import background, lists

    status = "closed" if args.get("tab") == "closed" else "open"
    stmt = services.visible_alerts(user, status=status, kind=args.get("kind") or None)
    return lists.ALERTS, stmt, background.count_rows(stmt), TABS[status], "预警"


def _register_exports() -> None:
    from app.tabular.background import exporter

    exporter("alerts")(_alerts_export)


_register_exports()


@bp.get("/<int:alert_id>")
@permission_required("inbox.use")
def detail(alert_id: int):
    return render_template("alerts/detail.html", alert=services.get_alert(alert_id, current_user))


@bp.post("/<int:alert_id>/close")
@permission_required("inbox.use")
def close(alert_id: int):
    alert = services.get_alert(alert_id, current_user)
    services.close(alert, current_user, request.form.get("closure", ""))
    db.session.commit()
    flash("预警已处置", "success")
    return redirect(url_for(".detail", alert_id=alert.id))


def _board_task(task_id: int) -> HumanTask:
    row = db.session.get(HumanTask, task_id)
    if row is None or not (
        row.assignee_id == current_user.id or scope_for(current_user).contains(db.session.get(Organisation, row.org_id))
    ):
        raise NotFound("任务不存在或不在您的数据范围内")
    return row


@bp.post("/tasks/<int:task_id>/urge")
@permission_required("inbox.use")
def urge(task_id: int):
    count = services.urge_task(_board_task(task_id), current_user, note=request.form.get("note") or None)
    db.session.commit()
    flash(f"已催办 {count} 人", "success")
    return redirect(request.referrer or url_for(".index"))


@bp.post("/tasks/<int:task_id>/escalate")
@permission_required("inbox.use")
def escalate(task_id: int):
    leader = services.escalate_task(_board_task(task_id), current_user, note=request.form.get("note") or None)
    db.session.commit()
    flash(f"已升级给 {leader.name}", "success")
    return redirect(request.referrer or url_for(".index"))
