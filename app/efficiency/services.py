"""Efficiency model editing (versions), lists and comparisons inside the data scope, the monthly runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select

from app.efficiency import process
from app.efficiency.indicators import METRICS
from app.efficiency.models import DIMENSIONS, EffImprovement, EffIndicator, EffModel, EffRule, EffScore, EffViolation
from app.efficiency.rules import DETECTORS, run_rules
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security.scope import DataScope

ADMIN_PERMISSION = "efficiency.admin"


def require_admin(user) -> None:
    if not user.can(ADMIN_PERMISSION):
        raise PermissionDenied("您没有效能模型管理的权限")


def models() -> list[EffModel]:
    return list(db.session.scalars(select(EffModel).order_by(EffModel.code, EffModel.version.desc())))


def get_model(model_id: int) -> EffModel:
    model = db.session.get(EffModel, model_id)
    if model is None:
        raise NotFound("效能模型不存在")
    return model


def new_version(model: EffModel, *, actor) -> EffModel:
    """A draft copy of `model` as the next version (a published version is never edited in place)."""
    require_admin(actor)
    top = db.session.scalar(select(EffModel).where(EffModel.code == model.code).order_by(EffModel.version.desc()))
    draft = EffModel(
        code=model.code,
        version=top.version + 1,
        name=model.name,
        pass_score=model.pass_score,
        status="draft",
        created_by_id=actor.id,
        indicators=[
            EffIndicator(
                metric=i.metric,
                name=i.name,
                dimension=i.dimension,
                weight=i.weight,
                threshold=i.threshold,
                higher_better=i.higher_better,
                sort=i.sort,
            )
            for i in model.indicators
        ],
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def _number(text, label: str, errors: dict, key: str, *, low: float = 0, high: float = 1e9) -> float | None:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        errors[key] = f"{label}必须是数字"
        return None
    if not low <= value <= high:
        errors[key] = f"{label}应在 {low:g} 到 {high:g} 之间"
        return None
    return value


def save_draft(model: EffModel, form: dict, *, actor) -> EffModel:
    """Indicators, weights, thresholds and the pass score of a draft; every field checked, nothing half-saved."""
    require_admin(actor)
    if model.status != "draft":
        raise Conflict("已发布的模型不能直接修改，请先生成新版本")
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = "请填写模型名称"
    pass_score = _number(form.get("pass_score"), "达标分", errors, "pass_score", high=100)
    rows = []
    for ind in model.indicators:
        weight = _number(form.get(f"weight_{ind.id}"), f"“{ind.name}”的权重", errors, f"weight_{ind.id}", high=100)
        threshold = _number(form.get(f"threshold_{ind.id}"), f"“{ind.name}”的达标值", errors, f"threshold_{ind.id}")
        rows.append((ind, weight, threshold, form.get(f"remove_{ind.id}") == "1"))
    new_metric = form.get("new_metric") or ""
    if new_metric and new_metric not in METRICS:
        errors["new_metric"] = "计算口径不存在"
    if errors:
        raise ValidationFailed("；".join(errors.values()), errors=errors)
    kept = [r for r in rows if not r[3]]
    if not kept and not new_metric:
        raise ValidationFailed("模型至少需要一项指标", errors={"indicators": "模型至少需要一项指标"})
    if sum(r[1] for r in kept) <= 0 and not new_metric:
        raise ValidationFailed("指标权重之和必须大于 0", errors={"weights": "指标权重之和必须大于 0"})
    model.name, model.pass_score = name, pass_score
    for ind, weight, threshold, remove in rows:
        if remove:
            model.indicators.remove(ind)
        else:
            ind.weight, ind.threshold = weight, threshold
    if new_metric:
        m = METRICS[new_metric]
        model.indicators.append(
            EffIndicator(
                metric=new_metric,
                name=m.name,
                dimension=m.dimension,
                weight=10,
                threshold=0,
                higher_better=m.higher_better,
                sort=len(model.indicators),
            )
        )
    db.session.flush()
    return model


def publish(model: EffModel, *, actor) -> EffModel:
    require_admin(actor)
    if model.status != "draft":
        raise Conflict("只有草稿可以发布")
    for other in db.session.scalars(
        select(EffModel).where(EffModel.code == model.code, EffModel.status == "published")
    ):
        other.status = "retired"
    model.status, model.published_at = "published", utcnow()
    db.session.flush()
    return model


# ---------------------------------------------------------------- results inside the scope


def scores(scope: DataScope, model: EffModel, period: str, level: str = "district") -> list[EffScore]:
    stmt = select(EffScore).where(EffScore.model_id == model.id, EffScore.period == period, EffScore.level == level)
    return sorted(db.session.scalars(scope.filter_org(stmt, EffScore.org_id)), key=lambda s: s.rank or 9999)


def periods(model: EffModel) -> list[str]:
    return list(
        db.session.scalars(
            select(EffScore.period).where(EffScore.model_id == model.id).distinct().order_by(EffScore.period.desc())
        )
    )


def compare(scope: DataScope, model: EffModel, periods_: list[str], level: str = "district") -> dict:
    """Totals of each unit across periods (比对): rows per unit, one column per period, and the change."""
    stmt = select(EffScore).where(EffScore.model_id == model.id, EffScore.period.in_(periods_), EffScore.level == level)
    table: dict[int, dict] = {}
    for s in db.session.scalars(scope.filter_org(stmt, EffScore.org_id)):
        row = table.setdefault(s.org_id, {"org": s.org.short_name or s.org.name, "totals": {}})
        row["totals"][s.period] = s.final_total
    rows = sorted(table.values(), key=lambda r: r["org"])
    for r in rows:
        vals = [r["totals"].get(p) for p in periods_]
        r["change"] = round(vals[-1] - vals[0], 1) if len(vals) > 1 and None not in (vals[0], vals[-1]) else None
    return {"periods": periods_, "rows": rows}


def start_verifications(model: EffModel, period: str, *, actor) -> int:
    require_admin(actor)
    n = 0
    for s in db.session.scalars(
        select(EffScore).where(
            EffScore.model_id == model.id,
            EffScore.period == period,
            EffScore.level == "district",
            EffScore.status == "computed",
        )
    ):
        process.start_verification(s, actor=actor)
        n += 1
    return n


def start_improvements(model: EffModel, period: str, *, actor) -> int:
    """Improvement tasks for units below threshold whose result is final (districts: verified)."""
    require_admin(actor)
    n = 0
    for s in db.session.scalars(
        select(EffScore).where(EffScore.model_id == model.id, EffScore.period == period, EffScore.passed.is_(False))
    ):
        final = s.status in ("confirmed", "decided") or s.level == "street"
        if final and db.session.scalar(select(EffImprovement.id).where(EffImprovement.score_id == s.id)) is None:
            process.start_improvement(s, actor=actor)
            n += 1
    return n


def improvements(scope: DataScope) -> list[EffImprovement]:
    stmt = select(EffImprovement).order_by(EffImprovement.created_at.desc()).limit(200)
    return list(db.session.scalars(scope.filter_org(stmt, EffImprovement.org_id)))


# ---------------------------------------------------------------- 效能识别


def violations(scope: DataScope, *, rule=None, category=None, status=None, org_id=None, user_id=None, limit=300):
    stmt = select(EffViolation).order_by(EffViolation.occurred_at.desc(), EffViolation.id.desc())
    for column, value in (
        (EffViolation.rule_code, rule),
        (EffViolation.category, category),
        (EffViolation.status, status),
        (EffViolation.org_id, org_id),
        (EffViolation.user_id, user_id),
    ):
        if value:
            stmt = stmt.where(column == value)
    return list(db.session.scalars(scope.filter_org(stmt, EffViolation.org_id).limit(limit)))


def get_violation(scope: DataScope, violation_id: int) -> EffViolation:
    v = db.session.get(EffViolation, violation_id)
    if v is None:
        raise NotFound("记录不存在")
    if not scope.contains(v.org):
        raise PermissionDenied("该记录不在您的数据范围内")
    return v


def rules() -> list[EffRule]:
    from app.efficiency.rules import active_rules

    return sorted(active_rules(), key=lambda r: r.code)


def edit_rule(rule: EffRule, params_text: str, *, actor) -> EffRule:
    """New version of a rule with edited parameters (JSON); the old version stops being active."""
    require_admin(actor)
    try:
        params = json.loads(params_text or "{}")
    except ValueError as exc:
        raise ValidationFailed("参数必须是 JSON 对象", errors={"params": f"JSON 格式错误：{exc.msg}"}) from exc
    if not isinstance(params, dict):
        raise ValidationFailed("参数必须是 JSON 对象", errors={"params": "参数必须是 JSON 对象"})
    if rule.detector not in DETECTORS:
        raise ValidationFailed("识别方法不存在")
    rule.active = False
    new = EffRule(
        code=rule.code,
        version=rule.version + 1,
        name=rule.name,
        detector=rule.detector,
        category=rule.category,
        params=params,
    )
    db.session.add(new)
    db.session.flush()
    return new


def detect(now: datetime | None = None, days: int = 35) -> int:
    """Run the active rules over the last `days` days (idempotent)."""
    now = now or utcnow()
    return run_rules(now - timedelta(days=days), now)


def org_choices(scope: DataScope, kinds=("district",)) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind.in_(kinds), Organisation.active.is_(True))
    return list(db.session.scalars(scope.filter_org(stmt.order_by(Organisation.sort), Organisation.id)))


DIMENSION_LABELS = DIMENSIONS
