"""Account services: authenticate, create and update users and roles. Flask-free; they flush."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.audit import services as audit
from app.auth import separation
from app.auth.models import Role, User
from app.auth.permissions import PERMISSIONS
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security import policy, sessions
from app.security.passwords import hash_password, policy_problems, verify_password
from app.security.scope import scope_for

# One message for an unknown login, a wrong password and a locked account (no existence leak).
LOGIN_FAILED = "登录名或密码错误（连续多次失败后账号将被临时锁定，请稍后再试）"


def _cfg(key: str):
    return current_app.config[key]


def make_password_hash(password: str) -> str:
    return hash_password(password, iterations=_cfg("PASSWORD_ITERATIONS"), pepper=_cfg("PASSWORD_PEPPER"))


_DUMMY_HASHES: dict[tuple[int, str], str] = {}


def _dummy_hash() -> str:
    key = (_cfg("PASSWORD_ITERATIONS"), _cfg("PASSWORD_PEPPER"))
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = make_password_hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[key]


def register_failure(user: User, *, reason: str, ip: str | None, now=None) -> None:
    """Count a failed password or one-time code; lock the account after LOGIN_MAX_FAILURES in the window."""
    now = now or utcnow()
    window = timedelta(minutes=_cfg("LOGIN_FAILURE_WINDOW_MINUTES"))
    if not user.first_failed_at or now - user.first_failed_at > window:
        user.first_failed_at, user.failed_logins = now, 0
    user.failed_logins += 1
    if user.failed_logins >= _cfg("LOGIN_MAX_FAILURES"):
        user.locked_until = now + timedelta(minutes=_cfg("LOGIN_LOCK_MINUTES"))
        user.failed_logins = 0
        audit.record("account.locked", actor=user, ip=ip)
    audit.record("login.failed", actor=user, detail={"reason": reason}, ip=ip)


def finish_login(user: User, *, ip: str | None = None, method: str = "password") -> None:
    """Every factor passed: clear the failure count and record the login."""
    user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
    user.last_login_at = utcnow()
    audit.record("login", actor=user, ip=ip, detail={"method": method} if method != "password" else None)


def is_locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > utcnow())


def authenticate(login: str, password: str, *, ip: str | None = None, finish: bool = True) -> User:
    """Return the user for a correct login and password; the same message for every failure.

    With `finish=False` the login is not complete yet (a second factor follows): the failure count
    is kept, so guessing one-time codes cannot be reset by re-entering the password.
    """
    # The roles in the same statement: the login decides on them (second factor, password policy).
    user = (
        db.session.scalars(
            select(User).options(joinedload(User.roles)).where(func.lower(User.login) == login.strip().lower())
        )
        .unique()
        .one_or_none()
    )
    now = utcnow()
    if user is None:
        # One key derivation, like a real check (a hash made once per setting), so timing does not
        # reveal unknown logins.
        verify_password(password, _dummy_hash(), pepper=_cfg("PASSWORD_PEPPER"))
        audit.record("login.failed", detail={"login": login[:64], "reason": "unknown"}, ip=ip)
        raise PermissionDenied(LOGIN_FAILED)
    if user.service_account:
        # Service accounts reach the API with tokens only (app/security/tokens.py).
        audit.record("login.failed", actor=user, detail={"reason": "service_account"}, ip=ip)
        raise PermissionDenied(LOGIN_FAILED)
    if user.locked_until and user.locked_until > now:
        verify_password(password, user.password_hash, pepper=_cfg("PASSWORD_PEPPER"))  # same cost
        audit.record("login.failed", actor=user, detail={"reason": "locked"}, ip=ip)
        raise PermissionDenied(LOGIN_FAILED)
    if not verify_password(password, user.password_hash, pepper=_cfg("PASSWORD_PEPPER")):
        register_failure(user, reason="password", ip=ip, now=now)
        raise PermissionDenied(LOGIN_FAILED)
    if user.status == "disabled":
        audit.record("login.failed", actor=user, detail={"reason": "disabled"}, ip=ip)
        raise PermissionDenied("账号已停用，请联系管理员")
    if finish:
        finish_login(user, ip=ip)
    return user


def _check_password(password: str, login: str) -> None:
    problems = policy_problems(password, login=login, min_length=_cfg("PASSWORD_MIN_LENGTH"))
    if problems:
        raise ValidationFailed("密码不符合安全策略", errors={"password": "；".join(problems)})


def _require(actor: User | None, permission: str) -> None:
    if actor is not None and not actor.can(permission):
        raise PermissionDenied()


def _roles_by_code(codes: list[str]) -> list[Role]:
    roles = db.session.scalars(select(Role).where(Role.code.in_(codes))).all() if codes else []
    missing = set(codes) - {r.code for r in roles}
    if missing:
        raise ValidationFailed("角色不存在", errors={"roles": "未知角色：" + "、".join(sorted(missing))})
    return list(roles)


def create_user(
    *,
    login: str,
    name: str,
    org: Organisation,
    password: str,
    roles: list[str] = (),
    phone: str | None = None,
    position: str | None = None,
    is_leader: bool = False,
    must_change_password: bool = True,
    actor: User | None = None,
    check_policy: bool = True,
) -> User:
    """Create an account. `actor` None means a system job (seed, approved application)."""
    _require(actor, "user.admin")
    if actor is not None and not scope_for(actor).contains(org):
        raise PermissionDenied("不能在本单位数据范围之外创建账号")
    login = login.strip()
    errors = {}
    if not login:
        errors["login"] = "请填写登录名"
    if not name.strip():
        errors["name"] = "请填写姓名"
    if errors:
        raise ValidationFailed(errors=errors)
    if db.session.scalar(select(User.id).where(func.lower(User.login) == login.lower())):
        raise Conflict(f"登录名“{login}”已被使用", errors={"login": "登录名已被使用"})
    if check_policy:
        _check_password(password, login)
    role_rows = _roles_by_code(list(roles))
    separation.check_assignment(actor, None, [], role_rows)
    separation.check_account(role_rows, login)
    user = User(
        login=login,
        name=name.strip(),
        org=org,
        phone=phone,
        position=position,
        is_leader=is_leader,
        password_hash=make_password_hash(password),
        password_changed_at=utcnow(),
        must_change_password=must_change_password,
        roles=role_rows,
    )
    db.session.add(user)
    db.session.flush()
    policy.remember_password(user)
    if actor is not None:
        audit.record(
            "user.create",
            actor=actor,
            object_type="user",
            object_id=user.id,
            detail={"login": login, "roles": list(roles), "org": org.code},
        )
    return user


def update_user(
    user: User,
    *,
    actor: User,
    name: str,
    org: Organisation,
    roles: list[str],
    phone: str | None,
    position: str | None,
    is_leader: bool,
    status: str,
) -> User:
    _require(actor, "user.admin")
    scope = scope_for(actor)
    if not scope.contains(user.org) or not scope.contains(org):
        raise PermissionDenied("不能管理本单位数据范围之外的账号")
    if status not in ("active", "disabled", "locked"):
        raise ValidationFailed(errors={"status": "状态无效"})
    role_rows = _roles_by_code(roles)
    separation.check_assignment(actor, user, user.roles, role_rows)
    separation.check_account(role_rows, user.login)
    before = {"roles": sorted(user.role_codes), "org": user.org.code, "status": user.status}
    user.name, user.org, user.phone, user.position, user.is_leader = name.strip(), org, phone, position, is_leader
    user.roles = role_rows
    if status == "active" and user.status == "locked":
        user.locked_until, user.failed_logins = None, 0
    if status == "disabled" and user.status != "disabled":
        sessions.end_all(user, "account")
    user.status = status
    db.session.flush()
    audit.record(
        "user.update",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"before": before, "after": {"roles": sorted(roles), "org": org.code, "status": status}},
    )
    return user


def reset_password(user: User, *, actor: User, new_password: str) -> None:
    _require(actor, "user.admin")
    if not scope_for(actor).contains(user.org):
        raise PermissionDenied("不能管理本单位数据范围之外的账号")
    _check_password(new_password, user.login)
    user.password_hash = make_password_hash(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    policy.remember_password(user)
    sessions.end_all(user, "account")
    audit.record("user.reset_password", actor=actor, object_type="user", object_id=user.id)


def change_own_password(user: User, *, old_password: str, new_password: str) -> None:
    if not verify_password(old_password, user.password_hash, pepper=_cfg("PASSWORD_PEPPER")):
        raise ValidationFailed(errors={"old_password": "原密码不正确"})
    _check_password(new_password, user.login)
    if verify_password(new_password, user.password_hash, pepper=_cfg("PASSWORD_PEPPER")):
        raise ValidationFailed(errors={"password": "新密码不能与原密码相同"})
    policy.check_history(user, new_password)
    user.password_hash = make_password_hash(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    policy.remember_password(user)
    audit.record("user.change_password", actor=user, object_type="user", object_id=user.id)


def save_role(
    *, actor: User, code: str, name: str, permissions: list[str], description: str = "", role: Role | None = None
) -> Role:
    _require(actor, "role.admin")
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise ValidationFailed(errors={"permissions": "未知权限：" + "、".join(sorted(unknown))})
    if not code.strip() or not name.strip():
        raise ValidationFailed(errors={"code": "请填写角色编码和名称"})
    separation.check_role_edit(actor, role, permissions)
    if role is None:
        if db.session.scalar(select(Role.id).where(Role.code == code)):
            raise Conflict(f"角色编码“{code}”已存在", errors={"code": "角色编码已存在"})
        role = Role(code=code.strip(), builtin=False)
        db.session.add(role)
    before = sorted(role.permissions or [])
    role.name, role.description, role.permissions = name.strip(), description, sorted(set(permissions))
    db.session.flush()
    audit.record(
        "role.save",
        actor=actor,
        object_type="role",
        object_id=role.code,
        detail={"before": before, "after": role.permissions},
    )
    return role


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def users_query(
    scope, *, q: str = "", org: Organisation | None = None, role: str | None = None, status: str | None = None
):
    """Accounts inside a data scope, filtered in SQL (so paging counts are exact)."""
    stmt = scope.filter_org(select(User).join(User.org), User.org_id)
    if q:
        stmt = stmt.where(User.name.contains(q, autoescape=True) | User.login.contains(q, autoescape=True))
    if org is not None:
        stmt = stmt.where(Organisation.path.startswith(org.path, autoescape=True))
    if role:
        stmt = stmt.where(User.roles.any(Role.code == role))
    if status:
        stmt = stmt.where(User.status == status)
    return stmt.order_by(Organisation.path, User.login)


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def role_by_code(code: str) -> Role | None:
    return db.session.scalar(select(Role).where(Role.code == code))


def role_user_counts() -> dict[int, int]:
    return dict(db.session.execute(select(Role.id, func.count(User.id)).join(Role, User.roles).group_by(Role.id)).all())
