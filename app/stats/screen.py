"""督查业务统计大屏 (1920x1080, refreshes itself) and 专题展示 pages chosen by administrators."""

from __future__ import annotations

import re

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.efficiency.models import Topic
from app.errors import NotFound, PermissionDenied
from app.extensions import db
from app.ops.replica import replica_view
from app.security.access import permission_required
from app.security.scope import scope_for
from app.stats.screen_data import PANELS, TOPIC_SUBJECTS, everything

bp = Blueprint("screen", __name__, url_prefix="/screen")
ADMIN = "efficiency.admin"
REFRESH_SECONDS = 30


def _refresh() -> int:
    """Seconds between refreshes: ?refresh= (2-600) for a wall that wants it faster or slower."""
    return min(max(request.args.get("refresh", REFRESH_SECONDS, type=int), 2), 600)


def _topics():
    return list(db.session.scalars(select(Topic).where(Topic.active.is_(True)).order_by(Topic.sort, Topic.id)))


@bp.get("/")
@permission_required("stats.read")
def index():
    return render_template(
        "stats/screen.html", title="督查业务统计大屏", panels=list(PANELS), refresh=_refresh(), topics=_topics()
    )


@bp.get("/data.json")
@permission_required("stats.read")
@replica_view
def data():
    return jsonify(everything(scope_for(current_user)))


@bp.get("/topics/<code>")
@permission_required("stats.read")
def topic(code: str):
    t = db.session.scalar(select(Topic).where(Topic.code == code, Topic.active.is_(True)))
    if t is None:
        raise NotFound("专题不存在")
    return render_template(
        "stats/screen.html",
        title=t.title,
        panels=[p for p in t.panels if p in PANELS],
        refresh=_refresh(),
        topics=_topics(),
    )


@bp.route("/topics", methods=["GET", "POST"])
@permission_required("stats.read")
def topics():
    if request.method == "POST":
        if not current_user.can(ADMIN):
            raise PermissionDenied("您没有管理专题的权限")
        code = (request.form.get("code") or "").strip()
        title = (request.form.get("title") or "").strip()
        panels = [p for p in request.form.getlist("panels") if p in PANELS]
        subject = request.form.get("subject") or ""
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9_-]{1,39}", code):
            problems.append("专题代码应为 2-40 位小写字母、数字、下划线或连字符，以字母开头")
        if not title:
            problems.append("请填写专题名称")
        if not panels:
            problems.append("请至少选择一个展示板块")
        if subject not in TOPIC_SUBJECTS:
            problems.append("请选择专题类别")
        if problems:
            flash("；".join(problems) + "。专题未保存。", "danger")
            return render_template(
                "stats/topics.html", topics=_topics(), panels=PANELS, subjects=TOPIC_SUBJECTS, form=request.form
            ), 422
        t = db.session.scalar(select(Topic).where(Topic.code == code)) or Topic(code=code)
        t.title, t.subject, t.panels, t.active = title, subject, panels, True
        db.session.add(t)
        db.session.commit()
        flash(f"专题“{title}”已保存", "success")
        return redirect(url_for(".topics"))
    return render_template("stats/topics.html", topics=_topics(), panels=PANELS, subjects=TOPIC_SUBJECTS, form={})


@bp.post("/topics/<code>/remove")
@permission_required("stats.read")
def remove_topic(code: str):
    if not current_user.can(ADMIN):
        raise PermissionDenied("您没有管理专题的权限")
    t = db.session.scalar(select(Topic).where(Topic.code == code))
    if t is None:
        raise NotFound("专题不存在")
    t.active = False
    db.session.commit()
    return redirect(url_for(".topics"))
