"""监督统计分析 pages: the query (table, charts, 同比/环比), saved views, XLSX export, the periodic reports."""

from __future__ import annotations

from datetime import datetime

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.ops.replica import replica_reads
from app.reports.jobs import start_job
from app.security.access import permission_required
from app.security.scope import scope_for
from app.stats import periodic, query
from app.stats.models import SavedView
from app.stats.routes import bp
from app.stats.summary import SHANGHAI, SUBJECTS
from app.tabular.export import Column, send

ADMIN = "efficiency.admin"


def _today():
    return datetime.now(SHANGHAI).date()


def _views():
    return list(
        db.session.scalars(
            select(SavedView)
            .where(or_(SavedView.user_id == current_user.id, SavedView.shared.is_(True)))
            .order_by(SavedView.name)
        )
    )


def _args():
    """The request's query, or a saved view's parameters when ?view= names one."""
    view_id = request.args.get("view", type=int)
    if view_id:
        view = db.session.get(SavedView, view_id)
        if view is None or (view.user_id != current_user.id and not view.shared):
            raise NotFound("查询视图不存在")
        p = view.params
        return MultiDict([(k, v) for k, vs in p.items() for v in (vs if isinstance(vs, list) else [vs])])
    return request.args


@bp.get("/query")
@permission_required("stats.read")
def query_page():
    error, result, q = None, None, None
    try:
        q = query.parse(_args(), _today())
        with replica_reads():
            result = query.run(scope_for(current_user), q)
    except ValidationFailed as exc:
        error = exc
    return render_template(
        "stats/query.html",
        q=q or query.Query(),
        args=request.args,
        result=result,
        error=error,
        subjects=SUBJECTS,
        periods=query.PERIODS,
        groups=query.GROUPS,
        measures=query.MEASURES,
        views=_views(),
        can_admin=current_user.can(ADMIN),
        kinds=periodic.KINDS,
    ), (422 if error else 200)


@bp.get("/query.json")
@permission_required("stats.read")
def query_json():
    q = query.parse(_args(), _today())
    with replica_reads():
        return jsonify(query.run(scope_for(current_user), q))


@bp.get("/query.xlsx")
@permission_required("stats.read")
def query_xlsx():
    q = query.parse(_args(), _today())
    with replica_reads():
        result = query.run(scope_for(current_user), q)
    cols = [Column(f"统计{result['period_label']}", "bucket", width=12)]
    cols += [Column(label, (lambda r, i=i: r["groups"][i]), width=16) for i, label in enumerate(result["group_labels"])]
    cols += [Column(m["label"], m["code"], kind="number") for m in result["measures"]]
    return send(cols, result["rows"], filename=f"监督统计_{result['subject_label']}", fmt="xlsx", sheet="统计")


@bp.post("/views")
@permission_required("stats.read")
def save_view():
    name = (request.form.get("name") or "").strip()[:80]
    if not name:
        flash("请填写视图名称，查询条件未保存", "danger")
        return redirect(url_for(".query_page", **request.form.to_dict(flat=False)))
    form = MultiDict(request.form)
    q = query.parse(form, _today())
    params = q.as_params()
    if not form.get("end"):
        params.pop("end")  # a view without an end date follows today
        params.pop("start")
    view = SavedView(user_id=current_user.id, name=name, params=params, shared=form.get("shared") == "1")
    db.session.add(view)
    db.session.commit()
    flash(f"已保存查询视图“{name}”", "success")
    return redirect(url_for(".query_page", view=view.id))


@bp.post("/views/<int:view_id>/delete")
@permission_required("stats.read")
def delete_view(view_id: int):
    view = db.session.get(SavedView, view_id)
    if view is None:
        raise NotFound("查询视图不存在")
    if view.user_id != current_user.id:
        raise PermissionDenied("只能删除自己保存的视图")
    db.session.delete(view)
    db.session.commit()
    return redirect(url_for(".query_page"))


@bp.post("/periodic")
@permission_required("stats.read")
def periodic_report():
    if not current_user.can(ADMIN):
        raise PermissionDenied("您没有生成统计报告的权限")
    doc = periodic.generate(
        request.form.get("kind", ""), (request.form.get("period") or "").strip(), actor=current_user
    )
    db.session.commit()
    flash(f"“{doc.title}”已生成草稿并送审核签发", "success")
    return redirect(url_for("reports.index"))


def rebuild_job(report) -> dict:
    """Job function: rebuild the summary table from scratch."""
    from app.stats.summary import rebuild

    n = rebuild(progress=report)
    return {"message": f"汇总表已重建，共 {n} 行", "url": "/stats/query"}


@bp.post("/summary/rebuild")
@permission_required("stats.read")
def rebuild_summary():
    if not current_user.can(ADMIN):
        raise PermissionDenied("您没有重建汇总表的权限")
    job = start_job("stats.rebuild", rebuild_job, user=current_user, dedup_key="stats.rebuild")
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("reports/_job_bar.html", job=job)
    return redirect(url_for(".query_page", job=job.id))
