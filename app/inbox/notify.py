"""In-app notifications: new tasks, reminders, escalations, urges, copies, returns."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Role, User
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.security.scope import scope_for

MAX_ROLE_RECIPIENTS = 50


def recipients(row: HumanTask) -> list[int]:
    """Ids of the people who may act on a row: its assignee, or holders of its role whose scope holds its org."""
    if row.assignee_id:
        return [row.assignee_id]
    if not row.candidate_role:
        return []
    from app.orgs.models import Organisation

    org = db.session.get(Organisation, row.org_id)
    users = db.session.scalars(
        select(User).where(User.roles.any(Role.code == row.candidate_role), User.status != "disabled").limit(500)
    )
    return [u.id for u in users if scope_for(u).contains(org)][:MAX_ROLE_RECIPIENTS]


def notify(
    users, *, kind: str, title: str, body: str | None = None, url: str | None = None, instance_id: int | None = None
) -> None:
    """Notify users (User objects or ids), once each."""
    seen = set()
    for user in users:
        user_id = user if isinstance(user, int) else getattr(user, "id", None)
        if user_id is None or user_id in seen:
            continue
        seen.add(user_id)
        db.session.add(
            Notification(user_id=user_id, kind=kind, title=title, body=body, url=url, instance_id=instance_id)
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
