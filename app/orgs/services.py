"""Organisation tree services."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import services as audit
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.orgs.models import ORG_KINDS, Organisation
from app.security.scope import DataScope, scope_for

# Which kinds may sit below which.
CHILD_KINDS = {
    None: {"city", "soe_group"},
    "city": {"section", "district"},
    "section": {"section"},
    "district": {"street", "section"},
    "street": set(),
    "soe_group": {"soe_unit"},
    "soe_unit": {"soe_unit"},
}


def create_org(
    *,
    code: str,
    name: str,
    kind: str,
    parent: Organisation | None,
    short_name: str | None = None,
    sort: int = 0,
    actor=None,
) -> Organisation:
    """Create a node; `actor` None means a system job (seed)."""
    if actor is not None:
        if not actor.can("org.admin"):
            raise PermissionDenied()
        if parent is None or not scope_for(actor).contains(parent):
            raise PermissionDenied("只能在本单位数据范围内新增机构")
    code, name = code.strip(), name.strip()
    errors = {}
    if not code:
        errors["code"] = "请填写机构编码"
    if not name:
        errors["name"] = "请填写机构名称"
    if kind not in ORG_KINDS:
        errors["kind"] = "机构类型无效"
    elif kind not in CHILD_KINDS[parent.kind if parent else None]:
        parent_label = parent.kind_label if parent else "顶层"
        errors["kind"] = f"“{ORG_KINDS[kind]}”不能设在“{parent_label}”之下"
    if "/" in code:
        errors["code"] = "机构编码不能包含“/”"
    if errors:
        raise ValidationFailed(errors=errors)
    if db.session.scalar(select(Organisation.id).where(Organisation.code == code)):
        raise Conflict(f"机构编码“{code}”已存在", errors={"code": "机构编码已存在"})
    if kind == "district":
        district_code = code
    else:
        district_code = parent.district_code if parent else None
    org = Organisation(
        code=code,
        name=name,
        short_name=short_name,
        kind=kind,
        parent=parent,
        path=(parent.path if parent else "/") + code + "/",
        district_code=district_code,
        sort=sort,
    )
    db.session.add(org)
    db.session.flush()
    if actor is not None:
        audit.record("org.create", actor=actor, object_type="org", object_id=org.code, detail={"name": name})
    return org


def rename_org(org: Organisation, *, name: str, active: bool, actor) -> Organisation:
    if not actor.can("org.admin") or not scope_for(actor).contains(org):
        raise PermissionDenied()
    if not name.strip():
        raise ValidationFailed(errors={"name": "请填写机构名称"})
    before = {"name": org.name, "active": org.active}
    org.name, org.active = name.strip(), active
    audit.record(
        "org.update",
        actor=actor,
        object_type="org",
        object_id=org.code,
        detail={"before": before, "after": {"name": org.name, "active": active}},
    )
    return org


def by_code(code: str) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(f"机构“{code}”不存在")
    return org


def get_org(org_id: int, scope: DataScope) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None or not scope.contains(org):
        raise NotFound("机构不存在或不在您的数据范围内")
    return org


def list_orgs(scope: DataScope, *, kind: str | None = None, q: str | None = None) -> list[Organisation]:
    stmt = scope.filter_org(select(Organisation), Organisation.id)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if q:
        stmt = stmt.where(Organisation.name.contains(q, autoescape=True) | (Organisation.code == q))
    return list(db.session.scalars(stmt.order_by(Organisation.path)))
