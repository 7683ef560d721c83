"""案卷评查 pages: case list and detail, the case form, documents, 发起评查, the reviewer's scoring page,
合格案卷报送 and a referral to public security from the case."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from app.cases import io, referrals, review, services
from app.cases.models import (
    ACCEPTANCE,
    CASE_STATUSES,
    CASE_TYPES,
    CONCLUSIONS,
    DOC_TYPES,
    STEPS,
    CaseReferral,
)
from app.errors import NotFound, act, attempt, field_errors
from app.extensions import db
from app.portal.paging import paginate
from app.security.access import permission_required
from app.tabular import background

bp = Blueprint("cases", __name__, url_prefix="/cases")
READ = ("case.read",)
EDIT = ("case.edit", "case.admin")


def _names() -> dict:
    return {
        "case_types": CASE_TYPES,
        "case_statuses": CASE_STATUSES,
        "doc_types": DOC_TYPES,
        "steps": STEPS,
        "conclusions": CONCLUSIONS,
        "acceptance": ACCEPTANCE,
    }


@bp.get("/")
@permission_required(*READ)
def index():
    stmt, f = services.list_from_args(current_user, request.args)
    page = paginate(stmt, request.args.get("page"))
    return render_template(
        "cases/index.html",
        page=page,
        q=f["q"],
        case_type=f["type"],
        status=f["status"],
        org_id=f["org"],
        orgs=services.case_orgs(current_user),
        **_names(),
    )


@bp.get("/export.<fmt>")
@permission_required(*READ)
def export(fmt: str):
    """The case list with the page's filters, in the user's scope; a large list as a background job."""
    stmt, filters = services.list_from_args(current_user, request.args)
    return background.send_or_start(
        "cases",
        io.export_stmt(stmt),
        io.EXPORT_COLUMNS,
        user=current_user,
        args=filters,
        fmt=fmt,
        filename="案件",
        sheet="案件",
        title="案件",
    )


def _cases_export(user, args: dict):
    """The background export of the case list (app/tabular/background.py), rebuilt in the user's scope."""
    stmt, _ = services.list_from_args(user, args)
    return io.EXPORT_COLUMNS, io.export_stmt(stmt), background.count_rows(stmt), "案件", "案件"


background.exporter("cases")(_cases_export)


def _form() -> dict:
    """The case form as posted, with the violations picked from the 知识智库 added to the typed codes."""
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "_back")}
    return services.add_picked_violations(values, current_user)


def _save(values: dict, case=None):
    """Save the case form; the 知识智库 entries picked on it are recorded as used by the case (引用记录)."""
    from app.knowledge import extras

    saved, _ = services.save_case(current_user, values, case)
    url = url_for("cases.detail", case_id=saved.id)
    extras.record_picked(values.get("knowledge_ids"), current_user, context="case", ref=f"案件 {saved.number}", url=url)
    return saved


@bp.route("/new", methods=["GET", "POST"])
@permission_required(*EDIT)
def new():
    errors, values = {}, {"case_type": "general", "org": current_user.org.code}
    if request.method == "POST":
        values = _form()
        saved, exc = attempt(lambda: _save(values), "案件已保存")
        if exc is None:
            return redirect(url_for("cases.detail", case_id=saved.id))
        errors = field_errors(exc)
    status = 422 if errors else 200
    return render_template(
        "cases/edit.html", case=None, values=values, errors=errors, orgs=services.case_orgs(current_user), **_names()
    ), status


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@permission_required(*EDIT)
def edit(case_id: int):
    case = services.get_case(case_id, current_user)
    services.check_edit(case, current_user)
    errors, values = {}, services.form_values(case)
    if request.method == "POST":
        values = _form()
        _, exc = attempt(lambda: _save(values, case), "案件已保存")
        if exc is None:
            return redirect(url_for("cases.detail", case_id=case.id))
        errors = field_errors(exc)
    status = 422 if errors else 200
    return render_template(
        "cases/edit.html", case=case, values=values, errors=errors, orgs=services.case_orgs(current_user), **_names()
    ), status


@bp.get("/<int:case_id>")
@permission_required(*READ)
def detail(case_id: int):
    case = services.get_case(case_id, current_user)
    return render_template(
        "cases/detail.html",
        case=case,
        checks=review.check_case(case),
        rule_set=review.published(case.case_type),
        reviews=review.reviews_of(case),
        signed=review.latest_signed(case),
        referral_rows=referrals.list_rows(current_user, case_id=case.id),
        **_names(),
    )


@bp.post("/<int:case_id>/documents")
@permission_required(*EDIT)
def upload(case_id: int):
    case = services.get_case(case_id, current_user)
    file = request.files.get("file")
    return act(
        lambda: services.add_document(
            case,
            current_user,
            doc_type=request.form.get("doc_type", ""),
            filename=file.filename if file else "",
            data=file.read() if file else b"",
        ),
        "文书已上传",
        url_for("cases.detail", case_id=case.id),
    )


@bp.get("/documents/<int:doc_id>")
@permission_required(*READ)
def document(doc_id: int):
    return services.send_document(services.get_document(doc_id, current_user))


@bp.post("/<int:case_id>/review")
@permission_required("case.review")
def start_review(case_id: int):
    case = services.get_case(case_id, current_user)
    return act(
        lambda: review.start_review(case, current_user),
        "已发起评查，待分派评查人",
        url_for("cases.detail", case_id=case.id),
    )


@bp.post("/<int:case_id>/submit")
@permission_required(*EDIT)
def submit(case_id: int):
    case = services.get_case(case_id, current_user)
    return act(
        lambda: services.submit_qualified(case, current_user),
        "合格案卷已报送",
        url_for("cases.detail", case_id=case.id),
    )


@bp.route("/reviews/<int:review_id>/score", methods=["GET", "POST"])
@permission_required("inbox.use")
def score(review_id: int):
    item, _ = review.load_for_reviewer(review_id, current_user)
    errors, form = {}, None
    if request.method == "POST":
        form = request.form
        _, exc = attempt(
            lambda: review.save_scores(review_id, current_user, request.form), "评查打分已提交，等待领导签发"
        )
        if exc is None:
            return redirect(url_for("inbox.index"))
        errors = field_errors(exc)
        item, _ = review.load_for_reviewer(review_id, current_user)
    return render_template(
        "cases/score.html",
        review=item,
        case=item.case,
        form=form,
        errors=errors,
        suggested=review.suggested(item),
        **_names(),
    ), (422 if errors else 200)


@bp.post("/<int:case_id>/referrals")
@permission_required(*EDIT)
def refer(case_id: int):
    case = services.get_case(case_id, current_user)
    return act(
        lambda: referrals.create(case, current_user, request.form),
        "已登记移送",
        url_for("cases.detail", case_id=case.id),
    )


@bp.post("/referrals/<int:referral_id>/answer")
@permission_required(*EDIT)
def answer(referral_id: int):
    item = db.session.get(CaseReferral, referral_id)
    if item is None:
        raise NotFound("移送记录不存在")
    services.get_case(item.case_id, current_user)
    return act(
        lambda: referrals.answer(item, current_user, request.form),
        "已登记受理情况",
        request.form.get("next") or url_for("cases.referral_list"),
    )
