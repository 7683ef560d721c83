"""Who may be brought into an instance by 抄送, 转办, 委派 or 加签 (and offered by the user picker).

A target must
1. be an active account that may use the inbox;
2. have a data scope holding the instance's organisation or the organisation of one of its tasks (the units
   the work was routed to), so nobody outside the instance's scope is brought in;
3. pass the business object's visibility rule when its module registered one with `register_visibility`
   (clues: R2.1.7, an open clue is visible only to the handling units and the city corps).

`check(instance, users)` raises a Chinese `ValidationFailed` naming every refused person; `picker_clause`
and `allowed` let the picker offer only valid targets.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import or_, select

from app.auth.models import User
from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import CITY_KINDS, scope_for

_RULES: dict[str, Callable] = {}


def register_visibility(process_id: str, rule: Callable) -> None:
    """`rule(instance, user) -> bool`: may this user see the business object behind the instance?"""
    _RULES[process_id] = rule


def _orgs(instance) -> list[Organisation]:
    from app.inbox.models import HumanTask

    ids = {instance.org_id} | set(
        db.session.scalars(select(HumanTask.org_id).where(HumanTask.instance_id == instance.id).distinct())
    )
    ids.discard(None)
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))) if ids else []


def refusal(instance, user: User, orgs: list[Organisation] | None = None) -> str | None:
    """Why `user` may not be brought into `instance` (Chinese), or None when they may."""
    if user.status == "disabled" or not user.can("inbox.use"):
        return "没有使用待办的权限"
    scope = scope_for(user)
    if not any(scope.contains(o) for o in (orgs if orgs is not None else _orgs(instance))):
        return "不在该流程的数据范围内"
    rule = _RULES.get(instance.process_id)
    if rule is not None and not rule(instance, user):
        return "无权查看该业务事项"
    return None


def check(instance, users: list[User]) -> None:
    orgs = _orgs(instance)
    refused = [(u, refusal(instance, u, orgs)) for u in users]
    refused = [(u, why) for u, why in refused if why]
    if refused:
        names = "；".join(f"{u.name}（{why}）" for u, why in refused)
        raise ValidationFailed(f"不能选择这些人员：{names}", errors={"user": "所选人员超出该事项的可见范围"})


def picker_clause(instance):
    """SQL on User joined with Organisation: the scope part of rule 2 (accounts whose scope holds the orgs)."""
    prefixes = set()
    for org in _orgs(instance):
        parts = [p for p in org.path.split("/") if p]
        prefixes |= {"/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))}
    return or_(Organisation.kind.in_(CITY_KINDS), Organisation.path.in_(sorted(prefixes)))


def allowed(instance, user: User) -> bool:
    return refusal(instance, user) is None
