"""Who acts on a READY user task: resolve a node's `assignee` setting into slots (a user or a role)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.auth.models import User
from app.engine.nodes import NodeConfig
from app.extensions import db
from app.orgs.models import Organisation

PROCESS_ADMIN_ROLE = "process_admin"


@dataclass(frozen=True)
class Slot:
    user_id: int | None = None
    role: str | None = None


def _users_by_login(logins) -> list:
    """(id, login) rows of active users by login, in the order given (no roles loaded: one statement)."""
    if isinstance(logins, str):
        logins = [x.strip() for x in logins.replace("，", ",").split(",") if x.strip()]
    logins = [str(x) for x in (logins or [])]
    if not logins:
        return []
    rows = db.session.execute(
        select(User.id, User.login).where(User.login.in_(logins), User.status != "disabled")
    ).all()
    found = {r.login: r for r in rows}
    return [found[x] for x in logins if x in found]


def leaders_of(org: Organisation | None, levels_up: int = 0) -> list[User]:
    for _ in range(levels_up):
        if org is None:
            break
        org = org.parent
    if org is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(User.org_id == org.id, User.is_leader.is_(True), User.status != "disabled")
            .order_by(User.id)
        )
    )


def task_org(cfg: NodeConfig, data: dict, default: Organisation) -> Organisation:
    """The organisation a task belongs to: a data field naming an org code (派单), or the instance's."""
    if cfg.org_field and data.get(cfg.org_field):
        org = db.session.scalar(select(Organisation).where(Organisation.code == str(data[cfg.org_field])))
        if org is not None:
            return org
    return default


def resolve(
    cfg: NodeConfig, *, lane: str | None, data: dict, org: Organisation, initiator_id: int | None, evaluate=None
) -> list[Slot]:
    """The slots of a node, before the initiator/no-approver policies are applied."""
    rule = (cfg.assignee or "").strip()
    kind, _, arg = rule.partition(":")
    if not rule:
        if lane:
            return [Slot(role=lane)]
        return [Slot(user_id=initiator_id)] if initiator_id else []
    if kind == "role":
        if arg.startswith("{") and arg.endswith("}"):  # role:{field}: the role code is in task data (派单)
            arg = str(data.get(arg[1:-1]) or "")
        return [Slot(role=arg)] if arg else []
    if kind == "initiator":
        return [Slot(user_id=initiator_id)] if initiator_id else []
    if kind == "leader":
        return [Slot(user_id=u.id) for u in leaders_of(org)]
    if kind == "leader_up":
        return [Slot(user_id=u.id) for u in leaders_of(org, int(arg or 1))]
    if kind == "users":
        return [Slot(user_id=u.id) for u in _users_by_login(arg)]
    if kind == "field":
        return [Slot(user_id=u.id) for u in _users_by_login(data.get(arg))]
    if kind == "expr" and evaluate is not None:
        return [Slot(user_id=u.id) for u in _users_by_login(evaluate(arg))]
    return []
