"""Acts that route work between people without deciding: 认领/释放, 转办, 委派, 加签/减签, 抄送, 催办,
暂存, 评论, 附件."""

from __future__ import annotations

import secrets
from datetime import timedelta

import filetype
from cryptography.hazmat.primitives import hashes
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.auth.models import User
from app.engine import runtime
from app.engine.models import InstanceEvent
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox import notify, targets
from app.inbox.actions import ensure_actor
from app.inbox.models import Attachment, CarbonCopy, Comment, HumanTask
from app.inbox.queries import row_org
from app.models_base import utcnow
from app.security import uploads
from app.security.scope import scope_for
from app.storage import files

ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/zip": ".zip",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",  # phone cameras (iPhone)
    "video/webm": ".webm",
    "image/webp": ".webp",
    "audio/mpeg": ".mp3",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
}


def _user(user_id_or_login) -> User:
    stmt = select(User).where(
        (User.login == str(user_id_or_login))
        | (User.id == (int(user_id_or_login) if str(user_id_or_login).isdigit() else -1))
    )
    user = db.session.scalar(stmt)
    if user is None or user.status == "disabled":
        raise ValidationFailed("所选人员不存在或已停用", errors={"user": "人员无效"})
    return user


def _bump(row: HumanTask) -> None:
    row.instance.updated_at = utcnow()
    runtime.flush_or_conflict()


def claim(row: HumanTask, actor) -> HumanTask:
    ensure_actor(row, actor)
    if row.assignee_id == actor.id and row.claimed_at:
        raise Conflict("您已认领该任务")
    row.assignee_id, row.claimed_at = actor.id, utcnow()
    runtime.add_event(row.instance, "claim", actor=actor, step=row.step, step_name=row.step_name)
    _bump(row)
    return row


def release(row: HumanTask, actor) -> HumanTask:
    if row.status != "open" or row.assignee_id != actor.id or not row.claimed_at or not row.candidate_role:
        raise Conflict("只能释放自己认领的角色任务")
    row.assignee_id, row.claimed_at = None, None
    runtime.add_event(row.instance, "release", actor=actor, step=row.step, step_name=row.step_name)
    _bump(row)
    return row


def save_draft(row: HumanTask, actor, data: dict) -> HumanTask:
    ensure_actor(row, actor)
    row.draft = data
    if row.assignee_id is None:
        row.assignee_id, row.claimed_at = actor.id, utcnow()
    _bump(row)
    return row


def transfer(row: HumanTask, actor, *, to, comment: str | None) -> HumanTask:
    """转办: the task becomes someone else's; the transferrer is out of it."""
    ensure_actor(row, actor)
    target = _user(to)
    if target.id == actor.id:
        raise ValidationFailed("不能转办给自己")
    targets.check(row.instance, [target])
    row.status, row.outcome, row.comment = "completed", "transfer", comment
    row.completed_at, row.completed_by_id = utcnow(), actor.id
    new = _copy_row(row, assignee_id=target.id, transferred_from_id=actor.id)
    return _handed_over(row, new, actor, target, kind="transfer", comment=comment)


def _handed_over(row: HumanTask, new: HumanTask, actor, target, *, kind: str, comment: str | None) -> HumanTask:
    """Record a 转办/委派 (history, audit), flush, and tell the new holder."""
    runtime.add_event(
        row.instance,
        kind,
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=comment,
        data={"to": target.login, "to_name": target.name},
    )
    audit.record(f"task.{kind}", actor=actor, object_type="task", object_id=row.id, detail={"to": target.login})
    _bump(row)
    notify.new_tasks([new])
    return new


def _copy_row(row: HumanTask, **changes) -> HumanTask:
    fields = (
        "instance_id",
        "spiff_task_id",
        "group_id",
        "step",
        "step_name",
        "process_id",
        "org_id",
        "kind",
        "method",
        "seq",
        "priority",
        "due_at",
    )
    new = HumanTask(**{f: getattr(row, f) for f in fields}, status="open", candidate_role=None)
    for key, value in changes.items():
        setattr(new, key, value)
    db.session.add(new)
    return new


def delegate(row: HumanTask, actor, *, to, comment: str | None) -> HumanTask:
    """委派: someone else works on it; their answer comes back to the delegator, who decides."""
    ensure_actor(row, actor)
    target = _user(to)
    if target.id == actor.id:
        raise ValidationFailed("不能委派给自己")
    targets.check(row.instance, [target])
    row.status, row.assignee_id = "pending", actor.id
    new = _copy_row(row, assignee_id=target.id, delegated_from_id=actor.id, kind="task")
    return _handed_over(row, new, actor, target, kind="delegate", comment=comment)


def add_sign(row: HumanTask, actor, *, users: list, mode: str, comment: str | None) -> list[HumanTask]:
    """加签 向前 (they sign before me) or 向后 (they sign after me, as members of this node)."""
    ensure_actor(row, actor)
    if row.kind != "approval":
        raise ValidationFailed("只有审批节点可以加签")
    if mode not in ("before", "after"):
        raise ValidationFailed("加签方式无效")
    people = [_user(u) for u in users if str(u).strip()]
    if not people:
        raise ValidationFailed("请选择加签人员", errors={"users": "请选择加签人员"})
    targets.check(row.instance, people)
    group = list(db.session.scalars(select(HumanTask).where(HumanTask.group_id == row.group_id)))
    present = {r.assignee_id for r in group if r.status in ("open", "pending", "completed")}
    people = [t for t in people if t.id not in present and t.id != actor.id]
    if not people:
        raise ValidationFailed("所选人员已在本节点审批人中")
    if row.assignee_id is None:
        row.assignee_id, row.claimed_at = actor.id, utcnow()
    if row.method == "single":
        # A single approver who adds signers turns the node into 会签 among them.
        for r in group:
            r.method = "all"
    new_rows = [
        _copy_row(
            row,
            assignee_id=t.id,
            added_by_id=actor.id,
            add_mode=mode,
            status="open",
            method=row.method if row.method != "single" else "all",
        )
        for t in people
    ]
    if mode == "before":
        row.status = "pending"
    runtime.add_event(
        row.instance,
        "add_sign",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=comment,
        data={"users": [t.login for t in people], "mode": mode},
    )
    audit.record(
        "task.add_sign",
        actor=actor,
        object_type="task",
        object_id=row.id,
        detail={"users": [t.login for t in people], "mode": mode},
    )
    _bump(row)
    notify.new_tasks(new_rows)
    return new_rows


def remove_sign(row: HumanTask, actor, *, comment: str | None = None) -> HumanTask:
    """减签: only a signer added by 加签, by the person who added them, before they answered."""
    if not row.added_by_id:
        raise Conflict("只能减去通过加签加入的审批人")
    if row.added_by_id != actor.id:
        raise PermissionDenied("只有加签人可以减签")
    if row.status != "open":
        raise Conflict("该审批人已处理，不能减签")
    row.status, row.outcome, row.completed_at = "cancelled", "remove_sign", utcnow()
    group = list(db.session.scalars(select(HumanTask).where(HumanTask.group_id == row.group_id)))
    if row.add_mode == "before" and not any(
        r.status == "open" and r.add_mode == "before" and r.added_by_id == actor.id for r in group
    ):
        waiting = next((r for r in group if r.assignee_id == actor.id and r.status == "pending"), None)
        if waiting is not None:
            waiting.status = "open"
    runtime.add_event(
        row.instance,
        "remove_sign",
        actor=actor,
        step=row.step,
        step_name=row.step_name,
        comment=comment,
        data={"user": row.assignee_id},
    )
    audit.record("task.remove_sign", actor=actor, object_type="task", object_id=row.id)
    _bump(row)
    return row


def carbon_copy(instance, actor, *, users: list, note: str | None = None, step_name: str | None = None) -> int:
    people = [_user(u) for u in users if str(u).strip()]
    if not people:
        raise ValidationFailed("请选择抄送人员", errors={"users": "请选择抄送人员"})
    targets.check(instance, people)
    existing = set(db.session.scalars(select(CarbonCopy.user_id).where(CarbonCopy.instance_id == instance.id)))
    count = 0
    for t in people:
        if t.id in existing:
            continue
        db.session.add(
            CarbonCopy(
                instance_id=instance.id,
                user_id=t.id,
                sender_id=getattr(actor, "id", None),
                note=note,
                step_name=step_name,
            )
        )
        count += 1
    notify.notify(
        people,
        kind="cc",
        title=f"抄送：{instance.title}",
        body=note,
        url=f"/inbox/instances/{instance.id}",
        instance_id=instance.id,
    )
    runtime.add_event(
        instance, "cc", actor=actor, step_name=step_name, comment=note, data={"users": [t.login for t in people]}
    )
    audit.record(
        "process.cc",
        actor=actor,
        object_type="instance",
        object_id=instance.id,
        detail={"users": [t.login for t in people]},
    )
    return count


def urge(row: HumanTask, actor, *, note: str | None = None) -> int:
    """催办: the initiator (or a supervisor in scope) reminds the current task holders."""
    if row.status != "open":
        raise Conflict("该任务已处理，无需催办")
    instance = row.instance
    if (
        instance.initiator_id != actor.id
        and not actor.can("process.admin")
        and not scope_for(actor).contains(row_org(row))
    ):
        raise PermissionDenied("您不能催办该任务")
    # 催办 is a person's act, apart from the system's deadline reminders: once per interval per person.
    interval = timedelta(minutes=current_app.config.get("URGE_INTERVAL_MINUTES", 30))
    last = db.session.scalar(
        select(func.max(InstanceEvent.at)).where(
            InstanceEvent.instance_id == instance.id,
            InstanceEvent.kind == "urge",
            InstanceEvent.actor_id == actor.id,
            InstanceEvent.step == row.step,
        )
    )
    if last is not None and utcnow() - last < interval:
        minutes = max(1, int((interval - (utcnow() - last)).total_seconds() // 60) + 1)
        raise Conflict(f"您刚刚已催办过，请 {minutes} 分钟后再试")
    people = notify.recipients(row)
    notify.notify(
        people,
        kind="urge",
        title=f"催办：{instance.title} - {row.step_name}",
        body=note,
        url=f"/inbox/tasks/{row.id}",
        instance_id=instance.id,
    )
    runtime.add_event(instance, "urge", actor=actor, step=row.step, step_name=row.step_name, comment=note)
    audit.record("task.urge", actor=actor, object_type="task", object_id=row.id)
    return len(people)


def add_comment(instance, actor, body: str, task_id: int | None = None) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("评论内容不能为空", errors={"body": "请输入评论"})
    if len(body) > 2000:
        raise ValidationFailed("评论不能超过 2000 字", errors={"body": "评论过长"})
    comment = Comment(instance_id=instance.id, task_id=task_id, author_id=actor.id, body=body)
    db.session.add(comment)
    runtime.add_event(instance, "comment", actor=actor, comment=body)
    return comment


def store_attachment(
    instance,
    actor,
    *,
    filename: str,
    data: bytes,
    field: str | None = None,
    task_id: int | None = None,
    meta: dict | None = None,
) -> Attachment:
    """Check size and real content type, store under the upload dir, keep an SM3 digest.

    ``meta`` (checked by ``app.inbox.uploads.capture_meta``) carries a photo's time and position and
    the client's upload key."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if not data:
        raise ValidationFailed("上传的文件为空", errors={field or "file": "文件为空"})
    if len(data) > limit:
        raise ValidationFailed(f"文件超过 {limit // (1024 * 1024)} MB 的限制", errors={field or "file": "文件过大"})
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime is None and filename.lower().endswith((".txt", ".csv")):
        try:
            data.decode("utf-8")
            mime = "text/plain"
        except UnicodeDecodeError:
            mime = None
    if mime not in ALLOWED_TYPES and mime != "text/plain":
        raise ValidationFailed(
            "不支持的文件类型（仅限 PDF、图片、Office 文档、压缩包、音视频、文本）",
            errors={field or "file": "文件类型不允许"},
        )
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    sm3 = digest.finalize().hex()
    relative = f"{instance.id // 1000:04d}/{instance.id}/{secrets.token_hex(10)}{ALLOWED_TYPES.get(mime, '.txt')}"
    files.put_new(files.UPLOADS + relative, data, mime)
    safe_name = uploads.clean_filename(filename)
    attachment = Attachment(
        instance_id=instance.id,
        task_id=task_id,
        field=field,
        filename=safe_name,
        content_type=mime,
        size=len(data),
        sm3=sm3,
        path=relative,
        uploaded_by_id=actor.id,
        **(meta or {}),
    )
    db.session.add(attachment)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent upload with the same key won: keep no orphan file
        files.delete(files.UPLOADS + relative)
        raise
    runtime.add_event(instance, "attach", actor=actor, comment=safe_name, data={"attachment": attachment.id})
    return attachment


def get_attachment(attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("附件不存在")
    return attachment
