"""Appraisal schemes (考核方案): versions, items and weights, periods. A published version is read-only:
editing it makes a new draft version, publishing a draft archives the older published one."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import func, select

from app.appraisal import sources
from app.appraisal.models import PERIOD_TYPES, AppraisalItem, AppraisalScheme
from app.audit import services as audit
from app.engine.runtime import SHANGHAI
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow

ADMIN = "appraisal.admin"
MAX_ITEMS = 20
# (name, source, weight, full, zero): the value scoring 100 and the value scoring 0.
DEFAULT_ITEMS = [
    ("执法规范（效能识别）", "eff_violations", 25, 0, 5),
    ("办理时效（待办超期）", "overdue_tasks", 25, 0, 5),
    ("业务能力（技能拉练）", "training", 20, 100, 40),
    ("工作质量（线索退回）", "clue_returns", 10, 0, 4),
    ("评议打分", sources.REVIEWER, 20, 100, 0),
]


def require_admin(actor) -> None:
    if actor is None or not actor.can(ADMIN):
        raise PermissionDenied("只有考核管理员可以维护考核方案和发起考核")


def period_bounds(period_type: str, key: str) -> tuple[datetime, datetime]:
    """The [start, end) of a period key in Shanghai time: 2026-11, 2026-Q4 or 2026."""
    key = (key or "").strip().upper()
    patterns = {"month": r"^(\d{4})-(\d{2})$", "quarter": r"^(\d{4})-Q([1-4])$", "year": r"^(\d{4})$"}
    found = re.match(patterns.get(period_type, "^$"), key)
    examples = {"month": "2026-11", "quarter": "2026-Q4", "year": "2026"}
    if not found or not 2000 <= int(found.group(1)) <= 2100:
        raise ValidationFailed(
            f"考核期间格式不正确，{PERIOD_TYPES.get(period_type, '')}考核请填写如 "
            f"{examples.get(period_type, '2026-11')}",
            errors={"period": "期间格式不正确"},
        )
    year = int(found.group(1))
    if period_type == "year":
        m0, months = 1, 12
    elif period_type == "quarter":
        m0, months = (int(found.group(2)) - 1) * 3 + 1, 3
    else:
        m0, months = int(found.group(2)), 1
        if not 1 <= m0 <= 12:
            raise ValidationFailed("月份应在 1 到 12 之间", errors={"period": "月份无效"})
    index = year * 12 + m0 - 1 + months
    start = datetime(year, m0, 1, tzinfo=SHANGHAI)
    end = datetime(index // 12, index % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def normalise_period(period_type: str, key: str) -> str:
    period_bounds(period_type, key)
    return key.strip().upper()


def current_period(period_type: str, today: date) -> str:
    """The last finished period before `today` (what an administrator usually computes)."""
    index = today.year * 12 + today.month - 2
    year, month = index // 12, index % 12 + 1
    if period_type == "year":
        return str(today.year - 1)
    if period_type == "quarter":
        q = (today.month - 1) // 3
        return f"{today.year}-Q{q}" if q else f"{today.year - 1}-Q4"
    return f"{year}-{month:02d}"


def schemes() -> list[AppraisalScheme]:
    return list(db.session.scalars(select(AppraisalScheme).order_by(AppraisalScheme.code, AppraisalScheme.version)))


def published() -> list[AppraisalScheme]:
    return list(
        db.session.scalars(
            select(AppraisalScheme).where(AppraisalScheme.status == "published").order_by(AppraisalScheme.code)
        )
    )


def get_scheme(scheme_id: int) -> AppraisalScheme:
    s = db.session.get(AppraisalScheme, scheme_id)
    if s is None:
        raise NotFound("考核方案不存在")
    return s


def create_scheme(*, code: str, name: str, period_type: str, actor, items=None) -> AppraisalScheme:
    """A new scheme (version 1, draft), with the default items unless given."""
    if actor is not None:
        require_admin(actor)
    code, name = (code or "").strip(), (name or "").strip()
    errors = {}
    if not re.match(r"^[a-z0-9_]{2,40}$", code):
        errors["code"] = "方案编码只能用小写字母、数字和下划线（2-40 位）"
    if not name:
        errors["name"] = "请填写方案名称"
    if period_type not in PERIOD_TYPES:
        errors["period_type"] = "考核周期只能是月度、季度或年度"
    if errors:
        raise ValidationFailed(errors=errors)
    if db.session.scalar(select(AppraisalScheme.id).where(AppraisalScheme.code == code)):
        raise Conflict(f"方案编码“{code}”已存在", errors={"code": "方案编码已存在"})
    scheme = AppraisalScheme(code=code, name=name, period_type=period_type, created_by_id=getattr(actor, "id", None))
    for i, (iname, src, weight, full, zero) in enumerate(items or DEFAULT_ITEMS):
        scheme.items.append(AppraisalItem(name=iname, source=src, weight=weight, full=full, zero=zero, sort=i))
    db.session.add(scheme)
    db.session.flush()
    if actor is not None:
        audit.record("appraisal.scheme_create", actor=actor, object_type="appraisal_scheme", object_id=scheme.id)
    return scheme


def _number(form, key: str, label: str, errors: dict, lo: float | None = None, hi: float | None = None) -> float:
    raw = (form.get(key) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        errors[key] = f"{label}应为数字"
        return 0.0
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        errors[key] = f"{label}应在 {lo:g} 到 {hi:g} 之间"
    return value


def parse_items(form) -> list[tuple]:
    """The item rows of the edit form (name_0, source_0, weight_0, full_0, zero_0, ...), checked."""
    known = sources.labels()
    errors, items = {}, []
    for i in range(MAX_ITEMS):
        name = (form.get(f"name_{i}") or "").strip()
        if not name:
            continue
        src = (form.get(f"source_{i}") or "").strip()
        if src not in known:
            errors[f"source_{i}"] = "请选择数据来源"
        weight = _number(form, f"weight_{i}", "权重", errors, 0, 100)
        full = _number(form, f"full_{i}", "满分值", errors)
        zero = _number(form, f"zero_{i}", "零分值", errors)
        if f"full_{i}" not in errors and f"zero_{i}" not in errors and full == zero:
            errors[f"full_{i}"] = "满分值与零分值不能相同"
        items.append((name[:120], src, weight, full, zero))
    if not items:
        errors["items"] = "至少需要一个考核项目"
    elif sum(i[2] for i in items) <= 0:
        errors["items"] = "权重合计应大于 0"
    if errors:
        raise ValidationFailed("考核方案有误，请按提示修改", errors=errors)
    return items


def save_draft(scheme: AppraisalScheme, form, *, actor) -> AppraisalScheme:
    """Save the form into `scheme` when it is a draft, or into a new draft version when it is published."""
    require_admin(actor)
    items = parse_items(form)
    errors: dict = {}
    leader_weight = _number(form, "leader_unit_weight", "负责人考核中单位成绩占比", errors, 0, 1)
    days = _number(form, "objection_days", "异议期天数", errors, 1, 30)
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = "请填写方案名称"
    if errors:
        raise ValidationFailed("考核方案有误，请按提示修改", errors=errors)
    if scheme.status != "draft":
        draft = db.session.scalar(
            select(AppraisalScheme).where(AppraisalScheme.code == scheme.code, AppraisalScheme.status == "draft")
        )
        if draft is None:
            latest = db.session.scalar(
                select(func.max(AppraisalScheme.version)).where(AppraisalScheme.code == scheme.code)
            )
            draft = AppraisalScheme(
                code=scheme.code,
                version=(latest or 0) + 1,
                period_type=scheme.period_type,
                name=name,
                created_by_id=actor.id,
            )
            db.session.add(draft)
        scheme = draft
    scheme.name, scheme.leader_unit_weight, scheme.objection_days = name[:120], leader_weight, int(days)
    scheme.note = (form.get("note") or "").strip()[:300] or None
    scheme.items.clear()
    db.session.flush()
    for i, (iname, src, weight, full, zero) in enumerate(items):
        scheme.items.append(AppraisalItem(name=iname, source=src, weight=weight, full=full, zero=zero, sort=i))
    db.session.flush()
    audit.record("appraisal.scheme_save", actor=actor, object_type="appraisal_scheme", object_id=scheme.id)
    return scheme


def publish(scheme: AppraisalScheme, *, actor) -> AppraisalScheme:
    if actor is not None:
        require_admin(actor)
    if scheme.status != "draft":
        raise Conflict("只有草稿可以发布")
    if not scheme.items:
        raise ValidationFailed("方案没有考核项目，不能发布")
    for old in db.session.scalars(
        select(AppraisalScheme).where(AppraisalScheme.code == scheme.code, AppraisalScheme.status == "published")
    ):
        old.status = "archived"
    scheme.status, scheme.published_at = "published", utcnow()
    db.session.flush()
    if actor is not None:
        audit.record("appraisal.scheme_publish", actor=actor, object_type="appraisal_scheme", object_id=scheme.id)
    return scheme


def ensure_defaults() -> AppraisalScheme:
    """The default monthly staff scheme, published (first use and demo)."""
    s = db.session.scalar(
        select(AppraisalScheme).where(AppraisalScheme.code == "staff_monthly").order_by(AppraisalScheme.version.desc())
    )
    if s is None:
        s = create_scheme(code="staff_monthly", name="执法人员月度评议考核", period_type="month", actor=None)
        publish(s, actor=None)
    return s
