"""评议考核 pages: rounds and results, schemes (versions, items, weights), reviewer scoring, one's own
history and objections, a person's history, the XLSX export."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.appraisal import compute, process, schemes, sources
from app.appraisal.models import PERIOD_TYPES, AppraisalResult, AppraisalReview, AppraisalRound
from app.auth.models import User
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.reports.jobs import start_job
from app.reports.models import Job
from app.security.scope import scope_for
from app.tabular.export import Column, send

bp = Blueprint("appraisal", __name__, url_prefix="/appraisal")
READ = ("appraisal.admin", "stats.read")


def _may_read() -> bool:
    return any(current_user.can(p) for p in READ)


def _round(round_id: int) -> AppraisalRound:
    r = db.session.get(AppraisalRound, round_id)
    if r is None:
        raise NotFound("考核轮次不存在")
    return r


def results_of(r: AppraisalRound, kind: str | None = None):
    stmt = select(AppraisalResult).where(AppraisalResult.round_id == r.id)
    if kind:
        stmt = stmt.where(AppraisalResult.kind == kind)
    stmt = scope_for(current_user).filter_org(stmt, AppraisalResult.org_id)
    rows = list(db.session.scalars(stmt))
    return sorted(rows, key=lambda x: (x.rank is None, x.rank or 0, x.user_id))


@bp.get("/")
@login_required
def index():
    if not _may_read():
        return redirect(url_for(".mine"))
    rounds = list(db.session.scalars(select(AppraisalRound).order_by(AppraisalRound.id.desc()).limit(50)))
    return render_template(
        "appraisal/index.html",
        rounds=rounds,
        schemes=schemes.published(),
        can_admin=current_user.can(schemes.ADMIN),
        period_types=PERIOD_TYPES,
    )


@bp.post("/rounds")
@login_required
def start_round():
    scheme = schemes.get_scheme(int(request.form.get("scheme_id") or 0))
    r = process.create_round(
        scheme, request.form.get("period") or "", actor=current_user, reviewers=request.form.get("reviewers")
    )
    job = start_job("appraisal.compute", compute.compute_job, r.id, user=current_user, dedup_key=f"appraisal:{r.id}")
    r.job_id = job.id
    db.session.commit()
    flash("考核计算已在后台开始，完成后自动下发评议打分待办", "info")
    return redirect(url_for(".round_page", round_id=r.id))


@bp.get("/rounds/<int:round_id>")
@login_required
def round_page(round_id: int):
    if not _may_read():
        raise PermissionDenied()
    r = _round(round_id)
    job = db.session.get(Job, r.job_id) if r.job_id else None
    return render_template(
        "appraisal/round.html",
        r=r,
        job=job,
        staff=results_of(r, "staff"),
        leaders=results_of(r, "leader"),
        describe=process.describe,
        may_score=process.may_score(r, current_user),
    )


EXPORT_COLUMNS = [
    Column("排名", "rank", kind="number", width=8),
    Column("姓名", lambda x: x.user.name, width=12),
    Column("单位", lambda x: x.org.name, width=28),
    Column("类别", "kind_label", width=10),
    Column("数据得分", "data_total", kind="number"),
    Column("总分", "final_total", kind="number"),
    Column("等次", "grade", width=10),
    Column("状态", "status_label", width=14),
    Column("调整理由", "adjust_reason", width=30),
    Column("各项明细", lambda x: process.describe(x), width=60),
]


@bp.get("/rounds/<int:round_id>/export")
@login_required
def export(round_id: int):
    if not _may_read():
        raise PermissionDenied()
    r = _round(round_id)
    rows = results_of(r, "staff") + results_of(r, "leader")
    return send(
        EXPORT_COLUMNS, rows, filename=f"评议考核{r.period}", fmt=request.args.get("format", "xlsx"), sheet="考核结果"
    )


@bp.route("/rounds/<int:round_id>/score", methods=["GET", "POST"])
@login_required
def score(round_id: int):
    r = _round(round_id)
    if not process.may_score(r, current_user) and not _may_read():
        raise PermissionDenied()
    if request.method == "POST":
        n = process.save_scores(r, request.form, actor=current_user)
        db.session.commit()
        flash(f"已保存 {n} 人的评分", "success")
        return redirect(url_for(".score", round_id=r.id))
    mine = {
        x.user_id: x
        for x in db.session.scalars(
            select(AppraisalReview).where(
                AppraisalReview.round_id == r.id, AppraisalReview.reviewer_id == current_user.id
            )
        )
    }
    stmt = select(AppraisalResult).where(AppraisalResult.round_id == r.id)
    if not process.may_score(r, current_user):  # a reviewer scores everyone; others see their scope only
        stmt = scope_for(current_user).filter_org(stmt, AppraisalResult.org_id)
    people = sorted(db.session.scalars(stmt), key=lambda x: (x.org.path, x.user_id))
    return render_template(
        "appraisal/score.html", r=r, people=people, mine=mine, may_score=process.may_score(r, current_user)
    )


@bp.get("/mine")
@login_required
def mine():
    return render_template("appraisal/history.html", person=current_user, rows=history(current_user.id), own=True)


@bp.get("/people/<int:user_id>")
@login_required
def person(user_id: int):
    person = db.session.get(User, user_id)
    if person is None or not _may_read() or not scope_for(current_user).contains(person.org):
        raise NotFound("人员不存在或不在您的数据范围内")
    return render_template("appraisal/history.html", person=person, rows=history(user_id), own=False)


def history(user_id: int) -> list[AppraisalResult]:
    """A person's results in every round, newest first (only published rounds count for the person)."""
    return list(
        db.session.scalars(
            select(AppraisalResult)
            .join(AppraisalRound, AppraisalRound.id == AppraisalResult.round_id)
            .where(AppraisalResult.user_id == user_id, AppraisalRound.status.in_(("published", "closed")))
            .order_by(AppraisalRound.period.desc(), AppraisalRound.id.desc())
        )
    )


@bp.post("/results/<int:result_id>/object")
@login_required
def object_to(result_id: int):
    result = db.session.get(AppraisalResult, result_id)
    if result is None or result.user_id != current_user.id:
        raise NotFound("考核结果不存在")
    process.object_to(result, actor=current_user, reason=request.form.get("reason") or "")
    db.session.commit()
    flash("异议已提交，考核办公室将在 5 个工作日内处理", "success")
    return redirect(url_for(".mine"))


# ---------------------------------------------------------------- schemes


@bp.get("/schemes")
@login_required
def scheme_list():
    if not _may_read():
        raise PermissionDenied()
    return render_template(
        "appraisal/schemes.html",
        schemes=schemes.schemes(),
        can_admin=current_user.can(schemes.ADMIN),
        period_types=PERIOD_TYPES,
    )


@bp.post("/schemes")
@login_required
def scheme_create():
    s = schemes.create_scheme(
        code=request.form.get("code") or "",
        name=request.form.get("name") or "",
        period_type=request.form.get("period_type") or "",
        actor=current_user,
    )
    db.session.commit()
    flash("考核方案草稿已创建", "success")
    return redirect(url_for(".scheme", scheme_id=s.id))


@bp.route("/schemes/<int:scheme_id>", methods=["GET", "POST"])
@login_required
def scheme(scheme_id: int):
    if not _may_read():
        raise PermissionDenied()
    s = schemes.get_scheme(scheme_id)
    errors, form = {}, None
    if request.method == "POST":
        try:
            saved = schemes.save_draft(s, request.form, actor=current_user)
            db.session.commit()
            flash(f"已保存为第 {saved.version} 版草稿", "success")
            return redirect(url_for(".scheme", scheme_id=saved.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, form = exc.errors or {"form": exc.message}, request.form
            s = schemes.get_scheme(scheme_id)
    return render_template(
        "appraisal/scheme.html",
        s=s,
        errors=errors,
        form=form,
        source_labels=sources.labels(),
        can_admin=current_user.can(schemes.ADMIN),
        max_items=schemes.MAX_ITEMS,
    ), (422 if errors else 200)


@bp.post("/schemes/<int:scheme_id>/publish")
@login_required
def scheme_publish(scheme_id: int):
    s = schemes.publish(schemes.get_scheme(scheme_id), actor=current_user)
    db.session.commit()
    flash(f"第 {s.version} 版已发布，之后的考核按此版本计算", "success")
    return redirect(url_for(".scheme", scheme_id=s.id))
