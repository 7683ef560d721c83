"""Account applications: my/in-scope applications, a new application, one application's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts_apply import services
from app.engine import forms
from app.engine.models import ProcessInstance
from app.errors import DomainError
from app.extensions import db
from app.inbox import services as inbox_services
from app.portal.paging import paginate

bp = Blueprint("accounts_apply", __name__, url_prefix="/accounts-apply")


def _allowed() -> None:
    if not (services.can_apply(current_user) or current_user.can("account.approve")):
        abort(403)


@bp.get("/")
@login_required
def index():
    _allowed()
    page = paginate(services.visible(current_user), request.args.get("page"))
    return render_template("accounts_apply/index.html", page=page, can_apply=services.can_apply(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not services.can_apply(current_user):
        abort(403)
    schema, ui = services.apply_schema(current_user)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            data = forms.check(schema, request.form)
            application = services.apply(current_user, data)
        except DomainError as exc:
            db.session.rollback()
            errors = dict(exc.errors)
            errors.setdefault("_", exc.message)
            status = exc.status
        else:
            db.session.commit()
            flash(f"申请已提交（{application.number}），审批结果将通知您", "success")
            return redirect(url_for(".detail", application_id=application.id))
    values = request.form.to_dict(flat=False) if request.method == "POST" else {}
    values = {k: (v if k == "roles" else v[0]) for k, v in values.items()}
    return render_template("accounts_apply/new.html", fields=forms.fields(schema, ui, values, errors), errors=errors), (
        status
    )


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    application = services.get_visible(application_id, current_user)
    instance = db.session.get(ProcessInstance, application.instance_id) if application.instance_id else None
    return render_template(
        "accounts_apply/detail.html",
        application=application,
        history=inbox_services.history(instance) if instance else [],
        open_rows=inbox_services.open_rows(instance) if instance else [],
        password=None,
    )


@bp.post("/<int:application_id>/password")
@login_required
def password(application_id: int):
    application = services.get_visible(application_id, current_user)
    secret = services.take_initial_password(application, current_user)
    db.session.commit()
    instance = db.session.get(ProcessInstance, application.instance_id) if application.instance_id else None
    return render_template(
        "accounts_apply/detail.html",
        application=application,
        history=inbox_services.history(instance) if instance else [],
        open_rows=[],
        password=secret,
    )
