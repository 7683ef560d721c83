"""Clue pages: list and search, registration with the duplicate check, the clue page, export, statistics."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.clues import documents, services, stats
from app.clues.models import OUTCOMES, PRIORITIES, SOURCES, STATUS
from app.clues.services import DuplicateSuspected, Filters
from app.engine import forms
from app.engine.models import INSTANCE_STATUS, ProcessInstance
from app.errors import DomainError
from app.extensions import db
from app.inbox import services as inbox_services
from app.inbox import uploads
from app.inbox.queries import can_act, can_view_instance
from app.orgs.models import Organisation
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required
from app.tabular.export import send

bp = Blueprint("clues", __name__, url_prefix="/clues")
CLUE_PERMISSIONS = ("clue.register", "clue.review", "clue.judge", "clue.handle")


def filters_from(args) -> Filters:
    return Filters(
        q=(args.get("q") or "").strip() or None,
        source=args.get("source") or None,
        status=args.get("status") or None,
        district=args.get("district") or None,
        priority=args.get("priority") or None,
        phone=(args.get("phone") or "").strip() or None,
        date_from=params.day(args.get("from"), "from"),
        date_to=params.day(args.get("to"), "to"),
        following=args.get("following") == "1",
    )


def _districts() -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation).where(Organisation.kind == "district").order_by(Organisation.sort, Organisation.code)
        )
    )


@bp.get("/")
@permission_required(*CLUE_PERMISSIONS)
def index():
    f = filters_from(request.args)
    page = paginate(services.search(current_user, f), request.args.get("page"))
    template = "clues/_list.html" if request.headers.get("HX-Request") else "clues/index.html"
    return render_template(
        template,
        page=page,
        filters=f,
        sources=SOURCES,
        statuses=STATUS,
        priorities=PRIORITIES,
        districts=_districts(),
    )


@bp.get("/export.csv", defaults={"fmt": "csv"})
@bp.get("/export.xlsx", defaults={"fmt": "xlsx"})
@permission_required(*CLUE_PERMISSIONS)
def export(fmt: str):
    """The clue list with the page's filters, in the user's scope; a large one as a background job with
    progress (app/tabular/background.py)."""
    from app.tabular import background

    f = filters_from(request.args)
    total = background.count_rows(services.search(current_user, f))
    if total > background.threshold():
        services.audit_export(current_user, rows=total, background=True)
        page = background.start("clues", user=current_user, args=request.args.to_dict(), fmt=fmt, title="线索")
        db.session.commit()
        return page
    rows = services.export_rows(current_user, f)
    db.session.commit()
    return send(services.EXPORT_COLUMNS, rows, filename="线索", fmt=fmt, sheet="线索")


def _clues_export(user, args: dict):
    """The background export of the clue list (same filters, scope and R2.1.7 visibility as the page)."""
    from werkzeug.datastructures import MultiDict

    from app.tabular import background

    stmt = services.search(user, filters_from(MultiDict(args)))
    return services.EXPORT_COLUMNS, stmt, background.count_rows(stmt), "线索", "线索"


def _register_exports() -> None:
    from app.tabular.background import exporter

    exporter("clues")(_clues_export)


_register_exports()


@bp.route("/new", methods=["GET", "POST"])
@permission_required("clue.register")
def new():
    schema, ui = services.register_schema()
    errors: dict = {}
    duplicates: list = []
    status = 200
    if request.method == "POST":
        try:
            data = forms.check(schema, request.form)
            files = [
                (s.filename, s.read()) for s in request.files.getlist("attachments") if s is not None and s.filename
            ]
            clue = services.register(
                current_user,
                data,
                files=files,
                file_meta=uploads.form_meta(request.form, "attachments"),
                confirm_duplicate=bool(request.form.get("confirm_duplicate")),
            )
        except DuplicateSuspected as exc:
            db.session.rollback()
            duplicates = exc.duplicates
            errors = {"_": exc.message}
            status = exc.status
        except DomainError as exc:
            db.session.rollback()
            errors = dict(exc.errors) or {}
            errors.setdefault("_", exc.message)
            status = exc.status
        else:
            db.session.commit()
            flash(f"线索已登记：{clue.number}，已提交受理审批", "success")
            return redirect(url_for(".detail", clue_id=clue.id))
    values = request.form.to_dict() if request.method == "POST" else {}
    fields = forms.fields(schema, ui, values, errors)
    return render_template("clues/new.html", fields=fields, errors=errors, duplicates=duplicates, schema=schema), (
        status
    )


@bp.post("/check-duplicates")
@permission_required("clue.register")
def check_duplicates():
    duplicates = services.find_duplicates(
        current_user,
        credit_code=(request.form.get("enterprise") or "").strip().upper() or None,
        content=request.form.get("content") or "",
    )
    return render_template("clues/_duplicates.html", duplicates=duplicates, confirm=True)


@bp.get("/<int:clue_id>")
@permission_required(*CLUE_PERMISSIONS, "stats.read")
def detail(clue_id: int):
    clue = services.get_visible(clue_id, current_user)
    reveal = request.args.get("reveal") == "1"
    reporter = services.reporter(clue, current_user, reveal=reveal)
    if reveal:
        db.session.commit()
    instance = db.session.get(ProcessInstance, clue.instance_id) if clue.instance_id else None
    history = inbox_services.history(instance) if instance else []
    open_rows = inbox_services.open_rows(instance) if instance else []
    mine = [r for r in open_rows if can_act(current_user, r)]
    from app.alerts.models import Alert

    alerts = list(db.session.scalars(select(Alert).where(Alert.clue_id == clue.id).order_by(Alert.created_at.desc())))
    return render_template(
        "clues/detail.html",
        clue=clue,
        reporter=reporter,
        revealed=reveal and current_user.can("sensitive.unmask"),
        instance=instance,
        instance_status=INSTANCE_STATUS,
        history=history,
        open_rows=open_rows,
        mine=mine,
        documents=documents.documents_of(clue),
        attachments=inbox_services.attachments(instance) if instance else [],
        can_open_instance=bool(instance) and can_view_instance(current_user, instance),
        following=services.is_following(clue, current_user),
        alerts=alerts,
        outcomes=OUTCOMES,
    )


@bp.post("/<int:clue_id>/follow")
@permission_required(*CLUE_PERMISSIONS, "stats.read")
def follow(clue_id: int):
    clue = services.get_visible(clue_id, current_user)
    now_following = services.toggle_follow(clue, current_user)
    db.session.commit()
    flash("已关注，线索每进入一个环节都会通知您" if now_following else "已取消关注", "success")
    return redirect(url_for(".detail", clue_id=clue.id))


@bp.get("/stats")
@permission_required(*CLUE_PERMISSIONS, "stats.read")
def statistics():
    return render_template("clues/stats.html")


@bp.get("/stats.json")
@permission_required(*CLUE_PERMISSIONS, "stats.read")
def statistics_json():
    return jsonify(stats.statistics(current_user))
