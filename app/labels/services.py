"""Label library, manual labels (reason, expiry), automatic labels from rules, query and statistics."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, insert, or_, select, update

from app.audit import services as audit
from app.enterprises import access
from app.enterprises.expressions import problems, safe_evaluate
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.grading.indicators import DEFAULTS
from app.labels.models import CATEGORIES, COLOURS, EnterpriseLabel, LabelDef
from app.models_base import utcnow

SAMPLE = {**DEFAULTS, "grade": "C", "industry": "HG", "district": "310101"}


def active_clause(today: date):
    return and_(
        EnterpriseLabel.removed_at.is_(None),
        or_(EnterpriseLabel.expires_on.is_(None), EnterpriseLabel.expires_on >= today),
    )


def library() -> list[LabelDef]:
    return list(db.session.scalars(select(LabelDef).order_by(LabelDef.category, LabelDef.code)))


def save_label(actor, data: dict, label: LabelDef | None = None) -> LabelDef:
    code = (data.get("code") or "").strip()
    name = (data.get("name") or "").strip()
    errors = {}
    if not label and not code.replace("_", "").isalnum():
        errors["code"] = "编码只能由字母、数字和下划线组成"
    if not name:
        errors["name"] = "请填写标签名称"
    if (data.get("category") or "risk") not in CATEGORIES:
        errors["category"] = "分类不正确"
    if (data.get("colour") or "secondary") not in COLOURS:
        errors["colour"] = "颜色不正确"
    rule = (data.get("rule") or "").strip() or None
    if rule:
        found = problems(rule, SAMPLE)
        if found:
            errors["rule"] = "；".join(found)
    if errors:
        raise ValidationFailed("标签信息有误", errors=errors)
    if label is None:
        if db.session.scalar(select(LabelDef.id).where(LabelDef.code == code)):
            raise Conflict("标签编码已存在")
        label = LabelDef(code=code)
        db.session.add(label)
    label.name, label.category, label.colour = name, data.get("category") or "risk", data.get("colour") or "secondary"
    label.rule, label.description = rule, (data.get("description") or "").strip() or None
    label.active = data.get("active", True) not in (False, "0", "off", "")
    db.session.flush()
    audit.record("label.save", actor=actor, object_type="label", object_id=label.id, detail={"code": label.code})
    return label


def _label_change(enterprise_id: int, label: LabelDef, action: str, reason: str) -> None:
    db.session.add(
        EnterpriseRecord(
            enterprise_id=enterprise_id,
            kind="label_change",
            occurred_on=utcnow().date(),
            title=f"{'添加' if action == 'add' else '移除'}标签「{label.name}」：{reason}",
            value={"label": label.code, "action": action, "category": label.category},
            source="系统：标签管理",
        )
    )


def add_manual(
    enterprise: Enterprise, actor, *, label_id: int, reason: str, expires_on: date | None
) -> EnterpriseLabel:
    label = db.session.get(LabelDef, label_id or 0)
    if label is None or not label.active:
        raise ValidationFailed("请选择标签库中的有效标签", errors={"label_id": "标签不存在"})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写加标签的理由", errors={"reason": "必填"})
    today = utcnow().date()
    if expires_on and expires_on < today:
        raise ValidationFailed("有效期不能早于今天", errors={"expires_on": "日期已过"})
    exists = db.session.scalar(
        select(EnterpriseLabel.id).where(
            EnterpriseLabel.enterprise_id == enterprise.id, EnterpriseLabel.label_id == label.id, active_clause(today)
        )
    )
    if exists:
        raise Conflict("该企业已有此标签")
    row = EnterpriseLabel(
        enterprise_id=enterprise.id,
        label_id=label.id,
        source="manual",
        reason=reason[:300],
        expires_on=expires_on,
        created_by_id=actor.id,
    )
    db.session.add(row)
    _label_change(enterprise.id, label, "add", reason)
    db.session.flush()
    audit.record(
        "label.add",
        actor=actor,
        object_type="enterprise",
        object_id=enterprise.id,
        detail={"label": label.code, "expires_on": expires_on.isoformat() if expires_on else None},
    )
    return row


def remove(row_id: int, enterprise: Enterprise, actor, *, reason: str) -> None:
    row = db.session.get(EnterpriseLabel, row_id or 0)
    if row is None or row.enterprise_id != enterprise.id or row.removed_at:
        raise NotFound("标签不存在")
    if not (reason or "").strip():
        raise ValidationFailed("请填写移除理由", errors={"reason": "必填"})
    row.removed_at, row.removed_reason = utcnow(), reason.strip()[:300]
    _label_change(enterprise.id, row.label, "remove", reason.strip())
    db.session.flush()
    audit.record(
        "label.remove", actor=actor, object_type="enterprise", object_id=enterprise.id, detail={"label": row.label.code}
    )


def apply_auto_labels(*, today: date) -> dict:
    """Give and take automatic labels by their rules over the grade inputs (and grade, industry, district)."""
    from app.grading.models import EnterpriseScore

    rules = [lab for lab in library() if lab.active and lab.rule]
    if not rules:
        return {"added": 0, "removed": 0}
    names = {}
    for eid, inputs, grade, industry, district in db.session.execute(
        select(
            EnterpriseScore.enterprise_id,
            EnterpriseScore.inputs,
            Enterprise.grade,
            Enterprise.industry_code,
            Enterprise.district_code,
        ).join(Enterprise, Enterprise.id == EnterpriseScore.enterprise_id)
    ):
        names[eid] = {**DEFAULTS, **(inputs or {}), "grade": grade, "industry": industry, "district": district}
    have = {
        (e, lab): rid
        for rid, e, lab in db.session.execute(
            select(EnterpriseLabel.id, EnterpriseLabel.enterprise_id, EnterpriseLabel.label_id).where(
                EnterpriseLabel.source == "auto", EnterpriseLabel.removed_at.is_(None)
            )
        )
    }
    add, drop = [], []
    for label in rules:
        for eid, ns in names.items():
            match = safe_evaluate(label.rule, ns)
            if match and (eid, label.id) not in have:
                add.append(
                    {
                        "enterprise_id": eid,
                        "label_id": label.id,
                        "source": "auto",
                        "reason": "符合标签库中的自动标签规则",
                        "created_at": utcnow(),
                    }
                )
            elif not match and (eid, label.id) in have:
                drop.append({"id": have[(eid, label.id)], "removed_at": utcnow(), "removed_reason": "规则不再满足"})
    if add:
        db.session.execute(insert(EnterpriseLabel), add)
    if drop:
        db.session.execute(update(EnterpriseLabel), drop)
    by_id = {lab.id: lab for lab in rules}
    dropped = {have_id: key for key, have_id in have.items()}
    changes = [(r["enterprise_id"], by_id[r["label_id"]], "add", r["reason"]) for r in add]
    changes += [(dropped[r["id"]][0], by_id[dropped[r["id"]][1]], "remove", "规则不再满足") for r in drop]
    _auto_changes(changes, today, "系统：自动标签规则")
    db.session.flush()
    return {"added": len(add), "removed": len(drop)}


def _auto_changes(changes, today: date, source: str) -> None:
    """Change records (kind label_change, like a manual change's) for labels given or taken automatically."""
    rows = [
        {
            "enterprise_id": eid,
            "kind": "label_change",
            "occurred_on": today,
            "title": f"{'自动添加' if action == 'add' else '自动移除'}标签「{label.name}」：{reason}"[:300],
            "value": {"label": label.code, "action": action, "category": label.category, "auto": True},
            "source": source,
        }
        for eid, label, action, reason in changes
    ]
    if rows:
        db.session.execute(insert(EnterpriseRecord), rows)


def expire_labels(today: date) -> int:
    expiring = db.session.execute(
        select(EnterpriseLabel.id, EnterpriseLabel.enterprise_id, LabelDef)
        .join(LabelDef, LabelDef.id == EnterpriseLabel.label_id)
        .where(EnterpriseLabel.removed_at.is_(None), EnterpriseLabel.expires_on < today)
    ).all()
    if not expiring:
        return 0
    db.session.execute(
        update(EnterpriseLabel)
        .where(EnterpriseLabel.id.in_([rid for rid, _, _ in expiring]))
        .values(removed_at=utcnow(), removed_reason="已过有效期")
    )
    _auto_changes([(eid, label, "remove", "已过有效期") for _, eid, label in expiring], today, "系统：标签有效期")
    return len(expiring)


def labels_of(enterprise_id: int, today: date) -> list[EnterpriseLabel]:
    return list(
        db.session.scalars(
            select(EnterpriseLabel)
            .where(EnterpriseLabel.enterprise_id == enterprise_id, active_clause(today))
            .order_by(EnterpriseLabel.created_at)
        )
    )


def query(user, *, label_ids: list[int], match: str, filters: access.Filters, today: date):
    """风险标签查询: enterprises holding any (or all) of the labels, in scope, narrowed like the search."""
    stmt = access.search(user, filters)
    ids = [i for i in label_ids if i]
    if ids:
        held = (
            select(EnterpriseLabel.enterprise_id)
            .where(EnterpriseLabel.label_id.in_(ids), active_clause(today))
            .group_by(EnterpriseLabel.enterprise_id)
        )
        if match == "all":
            held = held.having(func.count(func.distinct(EnterpriseLabel.label_id)) == len(set(ids)))
        stmt = stmt.where(Enterprise.id.in_(held))
    return stmt


def statistics(user, today: date, by: str = "district") -> dict:
    """Enterprises per label and district (or industry), inside the user's scope."""
    col = Enterprise.industry_code if by == "industry" else Enterprise.district_code
    rows = db.session.execute(
        select(LabelDef.id, col, func.count(func.distinct(Enterprise.id)))
        .join(EnterpriseLabel, EnterpriseLabel.label_id == LabelDef.id)
        .join(Enterprise, Enterprise.id == EnterpriseLabel.enterprise_id)
        .where(active_clause(today), access.visible_clause(user))
        .group_by(LabelDef.id, col)
    ).all()
    table: dict[int, dict[str, int]] = {}
    for lid, key, n in rows:
        table.setdefault(lid, {})[key or ""] = int(n)
    return table
