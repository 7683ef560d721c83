"""In-app notifications: new tasks, reminders, escalations, urges, copies, returns."""

from __future__ import annotations

from sqlalchemy import insert, or_, select

from app.auth.models import Role, User
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from app.security.scope import CITY_KINDS

MAX_ROLE_RECIPIENTS = 50
# Notifications that matter to a person (工作台): their clue accepted, returned, rejected or closed, what they
# started accepted or ended, a task handed back to them. Kinds of one event: a person is told once.
MATTERS = {
    "clue_accepted": "已受理",
    "clue_returned": "被退回",
    "clue_rejected": "不予受理",
    "clue_closed": "已办结",
    "accepted": "已受理",
    "return": "被退回",
    "done": "已结束",
}
SAME_EVENT = {
    "accepted": ("accepted", "clue_accepted"),
    "clue_accepted": ("accepted", "clue_accepted"),
    "done": ("done", "clue_rejected", "clue_closed"),
    "clue_rejected": ("done", "clue_rejected", "clue_closed"),
    "clue_closed": ("done", "clue_rejected", "clue_closed"),
}


def recipients(row: HumanTask) -> list[int]:
    """Ids of the people who may act on a row: its assignee, or holders of its role whose scope holds its org."""
    if row.assignee_id:
        return [row.assignee_id]
    if not row.candidate_role:
        return []
    from app.orgs.models import Organisation

    org = db.session.get(Organisation, row.org_id)
    if org is None:
        return []
    # The data-scope rule (app.security.scope) in SQL, so no user is loaded: city-level holders see
    # everything, the others their own subtree, i.e. their organisation's path is a prefix of the row's.
    parts = org.path.strip("/").split("/")
    ancestors = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    stmt = (
        select(User.id)
        .join(Organisation, Organisation.id == User.org_id)
        .where(
            User.roles.any(Role.code == row.candidate_role),
            User.status != "disabled",
            or_(Organisation.kind.in_(CITY_KINDS), Organisation.path.in_(ancestors)),
        )
        .order_by(User.id)
        .limit(MAX_ROLE_RECIPIENTS)
    )
    return list(db.session.scalars(stmt))


def notify(
    users, *, kind: str, title: str, body: str | None = None, url: str | None = None, instance_id: int | None = None
) -> None:
    """Notify users (User objects or ids), once each."""
    seen = set()
    rows = []
    for user in users:
        user_id = user if isinstance(user, int) else getattr(user, "id", None)
        if user_id is None or user_id in seen:
            continue
        seen.add(user_id)
        rows.append(
            {"user_id": user_id, "kind": kind, "title": title, "body": body, "url": url, "instance_id": instance_id}
        )
    if rows:  # one bulk INSERT (a role task may notify dozens of people), not one statement per person
        db.session.execute(insert(Notification), rows)


def new_tasks(rows: list[HumanTask], *, actor_id: int | None = None) -> None:
    """Tell the people who may act on new open rows; the acting person (`actor_id`) is left out of a row
    assigned to them: they are on the page and are taken to the task."""
    for row in rows:
        if row.status != "open" or (actor_id is not None and row.assignee_id == actor_id):
            continue
        notify(
            recipients(row),
            kind="new_task",
            title=f"新待办：{row.instance.title} - {row.step_name}",
            url=f"/inbox/tasks/{row.id}" if row.id else None,
            instance_id=row.instance_id,
        )


def already_told(user_id: int, instance_id: int | None, kind: str) -> bool:
    """Whether ``user_id`` was already told of this event (a kind of ``SAME_EVENT``) about the instance."""
    if instance_id is None or kind not in SAME_EVENT:
        return False
    stmt = select(Notification.id).where(
        Notification.user_id == user_id,
        Notification.instance_id == instance_id,
        Notification.kind.in_(SAME_EVENT[kind]),
    )
    return db.session.scalar(stmt.limit(1)) is not None


def matters(user_id: int, limit: int = 5) -> list[Notification]:
    """The latest notifications that matter to the person (``MATTERS``), unread first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.kind.in_(MATTERS))
            .order_by(Notification.read_at.is_not(None), Notification.id.desc())
            .limit(limit)
        )
    )
