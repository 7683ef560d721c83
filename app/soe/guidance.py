"""监管部门与国有集团交流 (R2.5.4): a 监管指导建议 from the corps to one SOE group (text, attachments,
deadline), the group's 意见反馈 through the inbox (soe_guidance process), the corps' review that closes
the thread or returns it for more; every step adds a message to the thread. Read receipts per person;
reminders before and after the deadline in the scheduler round (soe.remind).
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import Role, User, user_roles
from app.engine import runtime
from app.engine.cli import round_job
from app.engine.runtime import SHANGHAI
from app.engine.services import service
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox.notify import notify
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.security.scope import scope_for
from app.soe.models import Guidance, GuidanceMessage, GuidanceRead

ENTRY = "soe_guidance_page"
GUIDE = "soe.guide"
MAX_FILES = 5


def today() -> date:
    return datetime.now(SHANGHAI).date()


def visible(user):
    """Guidance the user may see: all for the city, their own group's for a group account."""
    stmt = select(Guidance)
    return scope_for(user).filter_org(stmt, Guidance.group_id)


def get_guidance(user, guidance_id: int) -> Guidance:
    g = db.session.scalar(visible(user).where(Guidance.id == guidance_id))
    if g is None:
        raise NotFound("指导建议不存在或不在您的数据范围内")
    return g


def create(actor, *, group_id, title: str, body: str, deadline: str, files=()) -> Guidance:
    """Issue a guidance to a group and start its process (the caller commits)."""
    if not actor.can(GUIDE):
        raise PermissionDenied("您没有向国有集团发送监管指导建议的权限")
    errors = {}
    group = db.session.get(Organisation, int(group_id)) if str(group_id or "").isdigit() else None
    if group is None or group.kind != "soe_group":
        errors["group_id"] = "请选择国有集团"
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        errors["title"] = "请填写标题"
    elif len(title) > 200:
        errors["title"] = "标题不能超过 200 字"
    if len(body) < 5:
        errors["body"] = "请填写指导建议内容（至少 5 个字）"
    due = None
    try:
        due = date.fromisoformat((deadline or "").strip())
    except ValueError:
        errors["deadline"] = "请填写反馈期限（YYYY-MM-DD）"
    if due is not None and due < today():
        errors["deadline"] = "反馈期限不能早于今天"
    files = [f for f in files if f is not None and getattr(f, "filename", "")]
    if len(files) > MAX_FILES:
        errors["files"] = f"附件最多 {MAX_FILES} 个"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    g = Guidance(group_id=group.id, title=title, body=body, deadline=due, created_by_id=actor.id)
    db.session.add(g)
    db.session.flush()
    data = {
        "guidance_id": g.id,
        "group_name": group.name,
        "title": title,
        "body": body,
        "deadline": due.isoformat(),
        "due_days": max((due - today()).days, 1),
        "thread_link": f"/soe/guidance/{g.id}",
        "corps_name": actor.org.name,
        "subject": f"监管指导建议：{title}"[:200],
    }
    inst = runtime.start("soe_guidance", actor=actor, org=group, data=data, business_key=f"soeg:{g.id}", entry=ENTRY)
    g.instance_id = inst.id
    names = []
    if files:
        from app.inbox.collab import store_attachment

        for f in files:
            att = store_attachment(inst, actor, filename=f.filename, data=f.read(), field="guidance")
            names.append({"id": att.id, "name": att.filename, "size": att.size})
    db.session.add(
        GuidanceMessage(
            guidance_id=g.id, kind="guidance", author_id=actor.id, org_id=actor.org_id, body=body, attachments=names
        )
    )
    mark_read(g, actor)
    audit.record("soe.guidance_create", actor=actor, object_type="soe_guidance", object_id=g.id)
    return g


def mark_read(g: Guidance, user) -> None:
    last = g.messages[-1].id if g.messages else None
    row = db.session.scalar(
        select(GuidanceRead).where(GuidanceRead.guidance_id == g.id, GuidanceRead.user_id == user.id)
    )
    if row is None:
        db.session.add(GuidanceRead(guidance_id=g.id, user_id=user.id, org_id=user.org_id, last_message_id=last))
    elif last and (row.last_message_id or 0) < last:
        row.last_message_id, row.read_at = last, utcnow()
    db.session.flush()


def receipts(g: Guidance) -> dict:
    """First read by the group and by the corps (who, when), and who has read the latest message."""
    reads = list(db.session.scalars(select(GuidanceRead).where(GuidanceRead.guidance_id == g.id)))
    group_path = g.group.path
    paths = {
        o.id: o.path
        for o in db.session.scalars(select(Organisation).where(Organisation.id.in_({r.org_id for r in reads} or {0})))
    }
    mine = [r for r in reads if paths.get(r.org_id, "").startswith(group_path)]
    corps = [r for r in reads if not paths.get(r.org_id, "").startswith(group_path)]
    last = g.messages[-1].id if g.messages else 0
    return {
        "group": sorted(mine, key=lambda r: r.read_at),
        "corps": sorted(corps, key=lambda r: r.read_at),
        "latest_read_by": [r.user.name for r in reads if (r.last_message_id or 0) >= last],
    }


def _guidance(data: dict) -> Guidance:
    g = db.session.get(Guidance, int(data.get("guidance_id") or 0))
    if g is None:
        raise NotFound("流程关联的指导建议不存在")
    return g


def _actor(data: dict) -> User | None:
    login = data.get("last_actor")
    return db.session.scalar(select(User).where(User.login == login)) if login else None


@service("soe.guidance_step")
def guidance_step(data: dict, status: str) -> str:
    """The group answered (status answered) or the corps returned it (status returned): add the message."""
    g = _guidance(data)
    actor = _actor(data)
    if status == "answered":
        body = (data.get("feedback") or "").strip()
        if len(body) < 2:
            raise ValidationFailed("请填写反馈意见", errors={"feedback": "请填写反馈意见"})
        kind, g.answered_at = "feedback", utcnow()
    else:
        body = (data.get("last_comment") or "请补充反馈").strip()
        kind = "reply"
    g.status = status
    files = data.get("feedback_files") if kind == "feedback" else None
    db.session.add(
        GuidanceMessage(
            guidance_id=g.id,
            kind=kind,
            author_id=actor.id if actor else None,
            org_id=actor.org_id if actor else g.group_id,
            body=body,
            attachments=[{"id": f.get("id"), "name": f.get("name")} for f in files or [] if isinstance(f, dict)],
        )
    )
    db.session.flush()
    db.session.refresh(g)
    if actor is not None:
        mark_read(g, actor)
    return body


@service("soe.guidance_closed")
def guidance_closed(data: dict) -> bool:
    g = _guidance(data)
    actor = _actor(data)
    comment = (data.get("last_comment") or "").strip()
    if comment:
        db.session.add(
            GuidanceMessage(
                guidance_id=g.id,
                kind="reply",
                author_id=actor.id if actor else None,
                org_id=actor.org_id if actor else g.group_id,
                body=comment,
                attachments=[],
            )
        )
    g.status, g.closed_at = "closed", utcnow()
    audit.record("soe.guidance_close", object_type="soe_guidance", object_id=g.id)
    return True


def group_people(group_id: int) -> list[int]:
    """The group's own SOE accounts (who answer)."""
    return list(
        db.session.scalars(
            select(User.id)
            .join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(User.org_id == group_id, Role.code == "soe_officer", User.status == "active")
        )
    )


def remind(now: datetime) -> int:
    """One day before the deadline: a reminder; after it: an overdue notice once a day (to the group and
    the issuer). Idempotent within the day."""
    local = now.astimezone(SHANGHAI).date()
    days_before = int(current_app.config.get("SOE_GUIDANCE_REMIND_DAYS", 1))
    sent = 0
    rows = db.session.scalars(select(Guidance).where(Guidance.status.in_(("open", "returned"))))
    for g in rows:
        url = f"/soe/guidance/{g.id}"
        if local <= g.deadline and (g.deadline - local).days <= days_before and g.reminded_before_at is None:
            left = (g.deadline - local).days
            text = f"反馈期限为 {g.deadline.isoformat()}（{'今天' if left == 0 else f'还有 {left} 天'}），请及时反馈"
            notify(
                group_people(g.group_id), kind="soe_guidance", title=f"指导建议即将到期：{g.title}", body=text, url=url
            )
            db.session.add(
                GuidanceMessage(guidance_id=g.id, kind="remind", org_id=g.group_id, body=text, attachments=[])
            )
            g.reminded_before_at = now
            sent += 1
        elif local > g.deadline and (
            g.reminded_after_at is None or g.reminded_after_at.astimezone(SHANGHAI).date() < local
        ):
            late = (local - g.deadline).days
            text = f"已超过反馈期限 {late} 天（期限 {g.deadline.isoformat()}），请尽快反馈"
            notify(
                [*group_people(g.group_id), g.created_by_id] if g.created_by_id else group_people(g.group_id),
                kind="soe_guidance",
                title=f"指导建议已超期：{g.title}",
                body=text,
                url=url,
            )
            db.session.add(
                GuidanceMessage(guidance_id=g.id, kind="remind", org_id=g.group_id, body=text, attachments=[])
            )
            g.reminded_after_at = now
            sent += 1
    db.session.flush()
    return sent


@round_job("soe.remind", every=1800.0)
def remind_job(now: datetime) -> int:
    return remind(now)


def counts(user) -> dict[str, int]:
    rows = list(db.session.scalars(visible(user)))
    t = today()
    return {
        "open": sum(1 for g in rows if g.status in ("open", "returned") and not g.overdue(t)),
        "answered": sum(1 for g in rows if g.status == "answered"),
        "overdue": sum(1 for g in rows if g.overdue(t)),
        "closed": sum(1 for g in rows if g.status == "closed"),
    }
