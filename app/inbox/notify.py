"""In-app notifications: new tasks, reminders, escalations, urges, copies, returns."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role, User
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.security.scope import scope_for

MAX_ROLE_RECIPIENTS = 50


def recipients(row: HumanTask) -> list[User]:
    """The people who may act on a row: its assignee, or holders of its role whose scope holds its org."""
    if row.assignee_id:
        user = db.session.get(User, row.assignee_id)
        return [user] if user else []
    if not row.candidate_role:
        return []
    from app.orgs.models import Organisation

    org = db.session.get(Organisation, row.org_id)
    users = db.session.scalars(
        select(User).where(User.roles.any(Role.code == row.candidate_role), User.status != "disabled").limit(500)
    )
    return [u for u in users if scope_for(u).contains(org)][:MAX_ROLE_RECIPIENTS]


def notify(
    users, *, kind: str, title: str, body: str | None = None, url: str | None = None, instance_id: int | None = None
) -> None:
    seen = set()
    for user in users:
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        db.session.add(
            Notification(user_id=user.id, kind=kind, title=title, body=body, url=url, instance_id=instance_id)
        )


def new_tasks(rows: list[HumanTask]) -> None:
    for row in rows:
        if row.status != "open":
            continue
        notify(
            recipients(row),
            kind="new_task",
            title=f"新待办：{row.instance.title} - {row.step_name}",
            url=f"/inbox/tasks/{row.id}" if row.id else None,
            instance_id=row.instance_id,
        )
