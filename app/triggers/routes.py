"""触发式监管: hits (scoped), rules (versions, test bench, publish), scenarios."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.enterprises import access
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.enterprises.params import form_row, parse_int
from app.errors import NotFound, done
from app.extensions import db
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for
from app.triggers import services
from app.triggers.models import HIT_STATUS, TriggerHit, TriggerRule, TriggerScenario

bp = Blueprint("triggers", __name__, url_prefix="/triggers")
READ = ("enterprise.read",)
ADMIN = ("process.admin",)


def _visible_hits():
    scope = scope_for(current_user)
    return select(TriggerHit).where(
        scope.org_clause(TriggerHit.org_id)
        | TriggerHit.enterprise_id.in_(access.visible(current_user, select(Enterprise.id)))
    )


@bp.get("/")
@permission_required(*READ)
def index():
    stmt = _visible_hits()
    status = request.args.get("status", "")
    if status == "overdue":
        stmt = stmt.where(TriggerHit.escalated_at.is_not(None), TriggerHit.status != "closed")
    elif status in HIT_STATUS:
        stmt = stmt.where(TriggerHit.status == status)
    page = paginate(stmt.order_by(TriggerHit.first_at.desc(), TriggerHit.id.desc()), request.args.get("page"))
    return render_template("triggers/index.html", page=page, status=status, statuses=HIT_STATUS)


@bp.get("/hits/<int:hit_id>")
@permission_required(*READ)
def hit(hit_id: int):
    row = db.session.scalar(_visible_hits().where(TriggerHit.id == hit_id))
    if row is None:
        raise NotFound("触发记录不存在或不在您的数据范围内")
    records = db.session.scalars(
        select(EnterpriseRecord)
        .where(EnterpriseRecord.id.in_(row.record_ids or [0]))
        .order_by(EnterpriseRecord.occurred_on)
    ).all()
    return render_template("triggers/hit.html", hit=row, records=records)


@bp.get("/rules")
@permission_required(*ADMIN)
def rules():
    rows = db.session.scalars(select(TriggerRule).order_by(TriggerRule.code, TriggerRule.version.desc())).all()
    scenarios = db.session.scalars(select(TriggerScenario).order_by(TriggerScenario.code)).all()
    return render_template("triggers/rules.html", rules=rows, scenarios=scenarios, kinds=services.KIND_LABELS)


@bp.post("/rules")
@permission_required(*ADMIN)
def save_rule():
    rule = form_row(TriggerRule, request.form, label="规则")
    saved = services.save_rule(current_user, request.form.to_dict(), rule)
    return done(
        f"规则 {saved.code} 第 {saved.version} 版已保存为草稿，请试运行后发布",
        url_for("triggers.rule", rule_id=saved.id),
    )


@bp.get("/rules/<int:rule_id>")
@permission_required(*ADMIN)
def rule(rule_id: int):
    row = db.session.get(TriggerRule, rule_id)
    if row is None:
        raise NotFound("规则不存在")
    bench = None
    if request.args.get("months"):
        bench = services.test_bench(
            row,
            months=parse_int(request.args.get("months"), field="months", label="试运行月数", default=3, low=1, high=36),
        )
    return render_template("triggers/rule.html", rule=row, bench=bench, kinds=services.KIND_LABELS)


@bp.post("/rules/<int:rule_id>/publish")
@permission_required(*ADMIN)
def publish_rule(rule_id: int):
    row = db.session.get(TriggerRule, rule_id)
    if row is None:
        raise NotFound("规则不存在")
    services.publish_rule(row, current_user)
    return done(f"规则 {row.code} 第 {row.version} 版已发布", url_for("triggers.rules"))


@bp.post("/scenarios")
@permission_required(*ADMIN)
def save_scenario():
    scn = form_row(TriggerScenario, request.form, label="场景")
    saved = services.save_scenario(current_user, request.form.to_dict(), scn)
    return done(f"已保存场景「{saved.name}」", url_for("triggers.rules"))
