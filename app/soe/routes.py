"""国企监督 pages: group structure, inspection records, 典型隐患 / 典型违法行为 with charts, and the
监管指导建议 threads with the groups."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.inbox.models import Attachment
from app.security.access import permission_required
from app.soe import guidance, records
from app.soe.models import GUIDANCE_STATUS, Guidance

bp = Blueprint("soe", __name__, url_prefix="/soe")
READ = "soe.read"


@bp.get("/")
@permission_required(READ)
def index():
    groups = records.visible_groups(current_user)
    chosen = request.args.get("group_id", type=int)
    group = records.get_group(current_user, chosen) if chosen else (groups[0] if groups else None)
    return render_template(
        "soe/structure.html",
        groups=groups,
        group=group,
        tree=records.tree(current_user, group) if group else [],
        overview=records.overview(current_user),
        counts=guidance.counts(current_user),
    )


def _filter_context():
    f = records.parse_filters(request.args)
    groups = records.visible_groups(current_user)
    units = []
    if f.group_id:
        group = records.get_group(current_user, f.group_id)
        units = [n["org"] for n in _flatten(records.tree(current_user, group))]
    return f, groups, units


def _flatten(nodes):
    for n in nodes:
        yield n
        yield from _flatten(n["children"])


@bp.get("/records")
@permission_required(READ)
def record_list():
    f, groups, units = _filter_context()
    rows = records.records(current_user, f)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    shown = rows[(page - 1) * 50 : page * 50]
    return render_template(
        "soe/records.html",
        f=f,
        groups=groups,
        units=units,
        rows=shown,
        total=len(rows),
        page=page,
        pages=max((len(rows) + 49) // 50, 1),
        names=records.unit_names(r.org_id for r in shown),
        group_names={f"soe:{g.code}"[:32]: g.name for g in groups},
    )


@bp.get("/records/<int:record_id>")
@permission_required(READ)
def record(record_id: int):
    r = records.get_record(current_user, record_id)
    return render_template(
        "soe/record.html",
        r=r,
        unit=records.unit_names([r.org_id]).get(r.org_id, "-"),
        attachments=records.attachments(r),
        hazards=records.items(r.data.get("hazard_items")),
        violations=records.items(r.data.get("violation_items")),
    )


@bp.get("/typical/<kind>")
@permission_required(READ)
def typical(kind: str):
    f, groups, units = _filter_context()
    result = records.typical(current_user, kind, f)
    return render_template(
        "soe/typical.html",
        kind=kind,
        f=f,
        groups=groups,
        units=units,
        result=result,
        chart=json.dumps(result["chart"], ensure_ascii=False),
        names=records.unit_names(r.org_id for ex in result["examples"].values() for r in ex),
    )


# ---------------------------------------------------------------- guidance


@bp.get("/guidance")
@permission_required(READ)
def guidance_list():
    status = request.args.get("status") or ""
    stmt = guidance.visible(current_user).order_by(Guidance.id.desc())
    rows = list(db.session.scalars(stmt.limit(500)))
    today = guidance.today()
    if status == "overdue":
        rows = [g for g in rows if g.overdue(today)]
    elif status in GUIDANCE_STATUS:
        rows = [g for g in rows if g.status == status]
    return render_template(
        "soe/guidance_list.html",
        rows=rows,
        today=today,
        status=status,
        statuses=GUIDANCE_STATUS,
        counts=guidance.counts(current_user),
        groups=records.visible_groups(current_user),
        can_guide=current_user.can(guidance.GUIDE),
    )


@bp.post("/guidance")
@permission_required(guidance.GUIDE)
def guidance_create():
    g = guidance.create(
        current_user,
        group_id=request.form.get("group_id"),
        title=request.form.get("title", ""),
        body=request.form.get("body", ""),
        deadline=request.form.get("deadline", ""),
        files=request.files.getlist("files"),
    )
    db.session.commit()
    flash(f"指导建议已发送给{g.group.name}，已进入集团待办", "success")
    return redirect(url_for(".guidance_thread", guidance_id=g.id))


@bp.get("/guidance/<int:guidance_id>")
@permission_required(READ)
def guidance_thread(guidance_id: int):
    g = guidance.get_guidance(current_user, guidance_id)
    guidance.mark_read(g, current_user)
    db.session.commit()
    files = (
        {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.instance_id == g.instance_id))}
        if g.instance_id
        else {}
    )
    return render_template("soe/guidance.html", g=g, receipts=guidance.receipts(g), today=guidance.today(), files=files)
