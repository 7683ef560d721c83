"""三员分立: the separation of the system, security and audit administrators, enforced in the service layer.

The rule (RULE_LINES is shown on /admin/users, /admin/roles and /security/users):

1. Administrative permissions form three families: system (org.admin, user.admin, calendar.admin),
   security (role.admin, security.admin) and audit (audit.read). A role holds permissions of at most one
   family, and an account holds roles of at most one family: the three can never be merged.
2. Nobody changes their own roles, nor the permissions of a role they hold.
3. Administrative roles (any role holding a permission of the three families, or process.admin) are granted
   and withdrawn only by the security administrator (role.admin), at 账号安全 → 管理角色. The system
   administrator creates accounts and organisations and gives business roles only.
4. Every change is audited with before and after (user.create, user.update, user.roles, role.save).

Services call `check_assignment` / `check_account` / `check_role_edit` before they change anything; each
refusal is a Chinese `PermissionDenied` or `ValidationFailed`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import Role, User
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.security.scope import scope_for

FAMILIES: dict[str, tuple[str, frozenset[str]]] = {
    "system": ("系统管理员", frozenset({"org.admin", "user.admin", "calendar.admin"})),
    "security": ("安全管理员", frozenset({"role.admin", "security.admin"})),
    "audit": ("审计管理员", frozenset({"audit.read"})),
}
ADMIN_PERMISSIONS = frozenset().union(*(perms for _, perms in FAMILIES.values())) | {"process.admin"}

RULE_LINES = (
    "系统管理员、安全管理员、审计管理员的权限互斥：一个角色、一个账号只能属于其中一类，不能合并。",
    "任何人不能修改自己的角色，也不能修改自己所持角色的权限。",
    "管理类角色（系统、安全、审计、流程管理员）只能由安全管理员在“账号安全 → 管理角色”中分配或撤销；"
    "系统管理员负责账号和机构，只分配业务角色。",
    "每一次角色和权限变更都记入审计日志。",
)


def families_of(permissions: Iterable[str]) -> set[str]:
    perms = set(permissions)
    return {name for name, (_, family) in FAMILIES.items() if perms & family}


def _labels(families: Iterable[str]) -> str:
    families = set(families)
    return "、".join(label for name, (label, _) in FAMILIES.items() if name in families)


def is_admin_role(role: Role) -> bool:
    return bool(set(role.permissions or []) & ADMIN_PERMISSIONS)


def check_role_permissions(permissions: Iterable[str]) -> None:
    fams = families_of(permissions)
    if len(fams) > 1:
        raise ValidationFailed(
            f"三员分立：一个角色不能同时拥有{_labels(fams)}的权限",
            errors={"permissions": f"{_labels(fams)}的权限互斥，不能放在同一角色中"},
        )


def check_account(roles: Iterable[Role], login: str = "") -> None:
    fams = families_of(p for r in roles for p in (r.permissions or []))
    if len(fams) > 1:
        who = f"账号“{login}”" if login else "一个账号"
        raise ValidationFailed(
            f"三员分立：{who}不能同时担任{_labels(fams)}",
            errors={"roles": f"{_labels(fams)}的角色互斥，不能分配给同一账号"},
        )


def check_assignment(actor: User | None, user: User | None, before: Iterable[Role], after: Iterable[Role]) -> None:
    """May `actor` change `user`'s roles from `before` to `after`? (None actor: a system job or the seed.)"""
    before_codes, after_codes = {r.code for r in before}, {r.code for r in after}
    if actor is None or before_codes == after_codes:
        return
    if user is not None and user.id == actor.id:
        raise PermissionDenied("三员分立：不能修改自己的角色")
    changed = [r for r in [*before, *after] if r.code in before_codes ^ after_codes]
    admin = sorted({r.name for r in changed if is_admin_role(r)})
    if admin and not actor.can("role.admin"):
        raise PermissionDenied(f"三员分立：管理类角色（{'、'.join(admin)}）只能由安全管理员分配或撤销")
    business = [r for r in changed if not is_admin_role(r)]
    if business and not actor.can("user.admin"):
        raise PermissionDenied("业务角色由系统管理员在账号管理中分配")


def check_role_edit(actor: User | None, role: Role | None, permissions: Iterable[str]) -> None:
    """May `actor` give `role` these permissions? Never its own role; never merging the families."""
    permissions = set(permissions)
    check_role_permissions(permissions)
    if role is None or role.id is None:
        return
    if actor is not None and role.code in actor.role_codes:
        raise PermissionDenied("三员分立：不能修改自己所持角色的权限")
    holders = db.session.scalars(select(User).where(User.roles.any(Role.id == role.id))).all()
    for holder in holders:
        others = {p for r in holder.roles if r.id != role.id for p in (r.permissions or [])}
        fams = families_of(others | permissions)
        if len(fams) > 1:
            raise ValidationFailed(
                f"三员分立：账号“{holder.login}”持有该角色，修改后将同时担任{_labels(fams)}",
                errors={"permissions": "修改后会使持有该角色的账号同时担任多类管理员"},
            )


def assign_admin_roles(user: User, *, actor: User, codes: list[str]) -> User:
    """The security administrator grants or withdraws `user`'s administrative roles; business roles stay."""
    if not actor.can("role.admin"):
        raise PermissionDenied("三员分立：管理类角色只能由安全管理员分配或撤销")
    if not scope_for(actor).contains(user.org):
        raise PermissionDenied("不能管理本单位数据范围之外的账号")
    wanted = list(db.session.scalars(select(Role).where(Role.code.in_(codes)))) if codes else []
    if len(wanted) != len(set(codes)) or any(not is_admin_role(r) for r in wanted):
        raise ValidationFailed("只能在这里分配管理类角色", errors={"roles": "角色不存在或不是管理类角色"})
    before = list(user.roles)
    after = [r for r in before if not is_admin_role(r)] + wanted
    check_assignment(actor, user, before, after)
    check_account(after, user.login)
    if {r.code for r in before} == {r.code for r in after}:
        return user
    user.roles = after
    db.session.flush()
    audit.record(
        "user.roles",
        actor=actor,
        object_type="user",
        object_id=user.id,
        detail={"before": sorted(r.code for r in before), "after": sorted(r.code for r in after)},
    )
    return user


def admin_roles() -> list[Role]:
    return [r for r in db.session.scalars(select(Role).order_by(Role.id)) if is_admin_role(r)]
