"""Account applications: who may apply for which organisation and roles, the application itself,
and handing the initial password to the applicant once."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select

from app.accounts_apply.models import AccountApplication
from app.audit import services as audit
from app.auth.models import Role, User
from app.engine import deploy, forms
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.crypto import decrypt_field
from app.security.scope import scope_for

PROCESS_ID = "account_opening"
APPLY_FORM = "account_apply.schema.json"
# The roles an account of each kind of organisation may be given through an application.
ROLES_BY_KIND = {
    "district": ("district_officer", "district_leader"),
    "street": ("street_officer",),
    "soe_group": ("soe_officer",),
    "soe_unit": ("soe_officer",),
}


def can_apply(user) -> bool:
    """Streets and SOE groups (account.apply) and district brigades' leaders (for the district and its streets)."""
    if user.org is None:
        return False
    return user.can("account.apply") or (user.org.kind == "district" and user.can("account.approve"))


def target_orgs(user) -> list[Organisation]:
    if not can_apply(user):
        return []
    stmt = (
        scope_for(user)
        .filter_org(select(Organisation), Organisation.id)
        .where(Organisation.kind.in_(ROLES_BY_KIND), Organisation.active.is_(True))
    )
    return list(db.session.scalars(stmt.order_by(Organisation.path).limit(500)))


def apply_schema(user) -> tuple[dict, dict]:
    version = deploy.current_version(PROCESS_ID)
    schema = forms.parse((version.forms or {}).get(APPLY_FORM))
    ui = forms.parse((version.forms or {}).get(APPLY_FORM.replace(".schema.json", ".uischema.json")))
    schema["properties"]["org"]["oneOf"] = [{"const": o.code, "title": o.name} for o in target_orgs(user)]
    codes = sorted({r for o in target_orgs(user) for r in ROLES_BY_KIND[o.kind]})
    names = dict(db.session.execute(select(Role.code, Role.name).where(Role.code.in_(codes))).all())
    schema["properties"]["roles"]["items"]["oneOf"] = [{"const": c, "title": names.get(c, c)} for c in codes]
    return schema, ui


def _login_taken(login: str) -> bool:
    if db.session.scalar(select(User.id).where(func.lower(User.login) == login.lower())):
        return True
    return bool(
        db.session.scalar(
            select(AccountApplication.id).where(
                func.lower(AccountApplication.login) == login.lower(),
                AccountApplication.status.in_(("district_review", "city_review")),
            )
        )
    )


def apply(actor, data: dict) -> AccountApplication:
    """Check the application, store it and start its approval process."""
    from app.accounts_apply import process

    if not can_apply(actor):
        raise PermissionDenied("您所在单位不能申请账号")
    org = db.session.scalar(select(Organisation).where(Organisation.code == data.get("org")))
    if org is None or org.kind not in ROLES_BY_KIND or not scope_for(actor).contains(org):
        raise ValidationFailed("请选择本单位或下属单位", errors={"org": "单位无效"})
    roles = list(dict.fromkeys(data.get("roles") or []))
    wrong = [r for r in roles if r not in ROLES_BY_KIND[org.kind]]
    if not roles or wrong:
        allowed = "、".join(ROLES_BY_KIND[org.kind])
        raise ValidationFailed(f"{org.kind_label}账号只能申请这些角色：{allowed}", errors={"roles": "角色与单位不符"})
    login = data["login"].strip().lower()
    if _login_taken(login):
        raise Conflict(f"登录名“{login}”已被使用或正在申请", errors={"login": "登录名已被使用"})
    application = AccountApplication(
        org_id=org.id,
        login=login,
        name=data["name"].strip(),
        phone=data.get("phone"),
        position=data.get("position"),
        roles=roles,
        reason=data["reason"].strip(),
        status="city_review",
        applied_by_id=actor.id,
    )
    db.session.add(application)
    db.session.flush()
    process.start_for(application, actor)
    audit.record(
        "account.apply",
        actor=actor,
        object_type="account_application",
        object_id=application.id,
        detail={"login": login, "org": org.code, "roles": roles},
    )
    return application


def visible(user) -> Select:
    """Applications made by the user, or for organisations in scope when they may approve accounts."""
    clauses = [AccountApplication.applied_by_id == user.id]
    if user.can("account.approve"):
        clauses.append(scope_for(user).org_clause(AccountApplication.org_id))
    return select(AccountApplication).where(or_(*clauses)).order_by(AccountApplication.created_at.desc())


def get_visible(application_id: int, user) -> AccountApplication:
    application = db.session.get(AccountApplication, application_id)
    if application is None or not (
        application.applied_by_id == user.id
        or (user.can("account.approve") and scope_for(user).contains(application.org))
    ):
        raise NotFound("申请不存在或您无权查看")
    return application


def take_initial_password(application: AccountApplication, user) -> str:
    """Show the initial password to the applicant once; then it is gone (audited)."""
    if application.applied_by_id != user.id:
        raise PermissionDenied("只有申请人可以查看初始密码")
    if not application.initial_password_enc:
        raise Conflict("初始密码已查看过或账号未开通；如需重置请联系系统管理员")
    password = decrypt_field(
        application.initial_password_enc,
        table="account_applications",
        column="initial_password_enc",
        row_id=application.id,
    )
    application.initial_password_enc = None
    audit.record(
        "account.initial_password.viewed",
        actor=user,
        object_type="account_application",
        object_id=application.id,
        detail={"login": application.login},
    )
    return password
