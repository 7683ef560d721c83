"""Field evidence from a phone: files uploaded one at a time ahead of the form, with capture metadata.

The task page's camera widget (static/js/capture.js) compresses a photo on the phone and posts it on
its own, with an idempotency key chosen when the photo was taken: a retry after a lost answer finds the
stored attachment by (uploader, key) and gets it back instead of storing the file twice. The form then
carries only the attachment ids (``<field>__uploaded``), checked here when the task is completed.

Capture metadata: ``taken_at`` (the phone's clock when the photo was taken) and, only when the officer
allowed it, ``latitude``/``longitude``/``accuracy`` (WGS-84 as the browser's Geolocation API gives it).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.inbox import collab
from app.inbox.actions import ensure_actor
from app.inbox.models import Attachment, HumanTask
from app.inbox.services import form_schema
from app.models_base import utcnow

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
UPLOADED_SUFFIX = "__uploaded"
CLOCK_SKEW = timedelta(minutes=10)  # a phone's clock may run a little ahead


def capture_meta(form) -> dict:
    """The capture metadata posted with a file, checked; keys are Attachment columns."""
    meta: dict = {}
    key = (form.get("key") or "").strip()
    if key:
        if not KEY_PATTERN.match(key):
            raise ValidationFailed("上传标识无效", errors={"key": "上传标识应为 8–64 位字母、数字、-、_"})
        meta["upload_key"] = key
    taken = (form.get("taken_at") or "").strip()
    if taken:
        meta["taken_at"] = _when(taken)
    lat, lng = (form.get("latitude") or "").strip(), (form.get("longitude") or "").strip()
    if lat or lng:
        meta["latitude"] = _number(lat, "纬度", -90, 90, "latitude")
        meta["longitude"] = _number(lng, "经度", -180, 180, "longitude")
        accuracy = (form.get("accuracy") or "").strip()
        if accuracy:
            meta["accuracy_m"] = _number(accuracy, "定位精度", 0, 100_000, "accuracy")
    return meta


def form_meta(form, field: str) -> dict[str, dict]:
    """Capture metadata of files posted with a form (``<field>__meta``: a JSON list), by file name."""
    raw = (form.get(f"{field}__meta") or "").strip()
    if not raw:
        return {}
    try:
        items = json.loads(raw)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise ValidationFailed("照片的拍摄信息格式无效，请重新选择照片", errors={field: "拍摄信息无效"})
    out = {}
    for item in items:
        values = {
            k: "" if item.get(k) is None else str(item[k]) for k in ("taken_at", "latitude", "longitude", "accuracy")
        }
        out[item["name"]] = capture_meta(values)
    return out


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("拍摄时间格式无效", errors={"taken_at": "应为 ISO 8601 时间"}) from None
    if value.tzinfo is None:
        raise ValidationFailed("拍摄时间缺少时区", errors={"taken_at": "应带时区，如 2026-12-02T09:30:00+08:00"})
    value = value.astimezone(UTC)
    if value > utcnow() + CLOCK_SKEW:
        raise ValidationFailed("拍摄时间晚于当前时间，请检查手机时间", errors={"taken_at": "拍摄时间在未来"})
    return value


def _number(text: str, label: str, low: float, high: float, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValidationFailed(f"{label}不是数字", errors={name: f"{label}无效"}) from None
    if not (low <= value <= high) or value != value:
        raise ValidationFailed(f"{label}超出范围（{low}～{high}）", errors={name: f"{label}超出范围"})
    return value


def _file_field(row: HumanTask, field: str) -> None:
    props = form_schema(row).get("properties", {})
    if field not in props:
        raise ValidationFailed("表单中没有这个附件字段", errors={"field": f"未知字段：{field}"})


def upload(row: HumanTask, actor, *, filename: str, data: bytes, field: str, meta: dict) -> tuple[Attachment, bool]:
    """Store one file for a field of the actor's open task; (attachment, True) when the key was seen."""
    ensure_actor(row, actor)
    _file_field(row, field)
    key = meta.get("upload_key")
    if key:
        existing = _by_key(actor, key)
        if existing is not None:
            return _same_upload(existing, row, field), True
        try:
            with db.session.begin_nested():
                attachment = collab.store_attachment(
                    row.instance, actor, filename=filename, data=data, field=field, task_id=row.id, meta=meta
                )
        except IntegrityError:  # the same key arrived twice at once: the other request stored it
            existing = _by_key(actor, key)
            if existing is None:
                raise
            return _same_upload(existing, row, field), True
        return attachment, False
    attachment = collab.store_attachment(
        row.instance, actor, filename=filename, data=data, field=field, task_id=row.id, meta=meta
    )
    return attachment, False


def _by_key(actor, key: str) -> Attachment | None:
    return db.session.scalar(
        select(Attachment).where(Attachment.uploaded_by_id == actor.id, Attachment.upload_key == key)
    )


def _same_upload(existing: Attachment, row: HumanTask, field: str) -> Attachment:
    if existing.instance_id != row.instance_id or existing.field != field:
        raise Conflict("该上传标识已用于另一份材料，请重新选择文件")
    return existing


def as_json(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "name": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "taken_at": attachment.taken_at.isoformat() if attachment.taken_at else None,
        "latitude": attachment.latitude,
        "longitude": attachment.longitude,
        "accuracy_m": attachment.accuracy_m,
    }


def form_files(row: HumanTask, actor, files, form) -> dict[str, list[dict]]:
    """A file field's value: files posted with the form, then the ids of files uploaded ahead of it."""
    out: dict[str, list[dict]] = {}
    for name in files:
        for storage in files.getlist(name):
            if not storage or not storage.filename:
                continue
            attachment = collab.store_attachment(
                row.instance, actor, filename=storage.filename, data=storage.read(), field=name, task_id=row.id
            )
            out.setdefault(name, []).append({"id": attachment.id, "name": attachment.filename})
    for key in form:
        if not key.endswith(UPLOADED_SUFFIX):
            continue
        field = key[: -len(UPLOADED_SUFFIX)]
        ids = _ids(form.getlist(key), field)
        if not ids:
            continue
        rows = {
            a.id: a
            for a in db.session.scalars(
                select(Attachment).where(
                    Attachment.id.in_(ids),
                    Attachment.instance_id == row.instance_id,
                    Attachment.uploaded_by_id == actor.id,
                    Attachment.field == field,
                )
            )
        }
        if len(rows) != len(set(ids)):
            raise ValidationFailed("附件无效或不属于本任务，请重新上传", errors={field: "附件无效，请重新上传"})
        seen = {a["id"] for a in out.get(field, [])}
        for i in ids:
            if i not in seen:
                out.setdefault(field, []).append({"id": i, "name": rows[i].filename})
                seen.add(i)
    return out


def _ids(values: list[str], field: str) -> list[int]:
    ids = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        if not value.isdigit():
            raise ValidationFailed("附件编号无效", errors={field: "附件编号无效"})
        ids.append(int(value))
    return ids
