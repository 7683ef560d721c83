"""The account_opening process and its application row, kept in step by service tasks."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select

from app.accounts_apply.models import AccountApplication
from app.audit import services as audit
from app.auth.models import Role
from app.engine import runtime
from app.engine.services import last_actor, linked, service
from app.errors import Conflict
from app.extensions import db
from app.inbox import lifecycle, notify
from app.models_base import utcnow
from app.security.crypto import encrypt_field

PROCESS_ID = "account_opening"


def start_for(application: AccountApplication, actor):

    org = application.org
    names = dict(db.session.execute(select(Role.code, Role.name).where(Role.code.in_(application.roles))).all())
    needs_district = org.kind == "street" and actor.org.kind != "district"
    data = {
        "application_id": application.id,
        "subject": f"{org.name} {application.name} 账号开通申请",
        "org_code": org.code,
        "org_name": org.name,
        "name": application.name,
        "login": application.login,
        "phone": application.phone or "",
        "position": application.position or "",
        "roles_label": "、".join(names.get(r, r) for r in application.roles),
        "reason": application.reason,
        "applied_by_name": f"{actor.name}（{actor.org.name}）",
        "needs_district": needs_district,
    }
    application.status = "district_review" if needs_district else "city_review"
    instance = runtime.start(
        PROCESS_ID,
        actor=actor,
        org=org,
        data=data,
        business_key=f"account:{application.id}",
        entry="account_application_page",
    )
    application.instance_id, application.number = instance.id, instance.number
    return instance


def _application(data: dict) -> AccountApplication:
    return linked(AccountApplication, data, "application_id", "账号申请")


_actor = last_actor


def initial_password() -> str:
    """A random password that meets the policy (upper, lower, digit, symbol; 14 characters)."""
    alphabet = string.ascii_letters + string.digits + "@#%+=!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(14))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


@service("account.step")
def step(data: dict, status: str) -> str:
    _application(data).status = status
    return status


def _reject(application: AccountApplication, reason: str, actor) -> None:
    application.status, application.reject_reason, application.decided_at = "rejected", reason, utcnow()
    notify.notify(
        [application.applied_by],
        kind="done",
        title=f"账号申请（{application.login}）被驳回：{reason}",
        url=f"/accounts-apply/{application.id}",
        instance_id=application.instance_id,
    )
    audit.record(
        "account.reject",
        actor=actor,
        object_type="account_application",
        object_id=application.id,
        detail={"login": application.login, "reason": reason},
    )


@service("account.reject")
def reject(data: dict) -> str:
    application = _application(data)
    reason = data.get("last_comment") or "未说明原因"
    _reject(application, reason, _actor(data))
    return reason


@service("account.create")
def create(data: dict) -> dict:
    """Create the approved account; the applicant sees its initial password once on the application page."""
    from app.auth.services import create_user

    application = _application(data)
    approver = _actor(data)
    password = initial_password()
    try:
        with db.session.begin_nested():
            user = create_user(
                login=application.login,
                name=application.name,
                org=application.org,
                password=password,
                roles=list(application.roles),
                phone=application.phone,
                position=application.position,
                must_change_password=True,
            )
    except Conflict:
        _reject(application, f"登录名“{application.login}”已被占用，请更换登录名重新申请", approver)
        return {"created": False}
    application.status, application.created_user_id, application.decided_at = "created", user.id, utcnow()
    application.initial_password_enc = encrypt_field(
        password, table="account_applications", column="initial_password_enc", row_id=application.id
    )
    notify.notify(
        [application.applied_by],
        kind="done",
        title=f"账号已开通：{application.login}。请在申请页面查看初始密码（仅显示一次），首次登录须修改密码",
        url=f"/accounts-apply/{application.id}",
        instance_id=application.instance_id,
    )
    audit.record(
        "account.create",
        actor=approver,
        object_type="user",
        object_id=user.id,
        detail={
            "login": user.login,
            "org": application.org.code,
            "roles": list(application.roles),
            "application": application.id,
        },
    )
    return {"created": True, "user_id": user.id}


@lifecycle.on_end("account")
def process_ended(object_id: int, status: str, reason: str | None, actor) -> None:
    """The application follows its process: a terminated (终止) process leaves it 已终止."""
    obj = db.session.get(AccountApplication, object_id)
    if obj is not None and status == "terminated":
        obj.status = "terminated"
