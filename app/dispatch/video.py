"""Enforcement video (执法视频管理): recordings from the gateway into app.storage with their SM3 hash,
links to inspections, playback ranges, and retention (1 year; a legal hold keeps one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.audit import services as audit
from app.dispatch import gateway
from app.dispatch.devices import open_binding_of_device
from app.dispatch.models import Device, Recording
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.plans.models import Inspection
from app.security.sm import sm3
from app.storage import ObjectMissing, get_storage

PURGE_BATCH = 200


def _when(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), tz=UTC)


def store(
    device: Device, data: bytes, *, started, ended, gateway_ref: str, content_type="video/mp4", dispatch_id=None
) -> Recording:
    """Hash (SM3), store the bytes, then the metadata row; the same gateway_ref twice is one recording."""
    existing = db.session.scalar(select(Recording).where(Recording.gateway_ref == gateway_ref))
    if existing is not None:
        return existing
    digest = sm3(data).hex()
    started, ended = _when(started), _when(ended)
    ext = "mp4" if content_type == "video/mp4" else "bin"
    key = f"recordings/{ended:%Y/%m}/{device.code}-{digest[:16]}.{ext}"
    size = get_storage().put(key, data, content_type)
    binding = open_binding_of_device(device.id)
    rec = Recording(
        gateway_ref=gateway_ref,
        device_id=device.id,
        user_id=binding.user_id if binding else None,
        dispatch_id=dispatch_id,
        started_at=started,
        ended_at=ended,
        size=size,
        sm3=digest,
        content_type=content_type,
        storage_key=key,
    )
    db.session.add(rec)
    db.session.flush()
    return rec


def sync(client: gateway.GatewayClient | None = None, *, only_id=None, dispatch_id=None) -> list[Recording]:
    """Fetch the gateway's recordings not yet stored (all, or the one `only_id`)."""
    client = client or gateway.from_config(current_app.config)
    known = set(db.session.scalars(select(Recording.gateway_ref)))
    out = []
    for item in client.recordings():
        if only_id is not None and str(item["id"]) != str(only_id):
            continue
        ref = f"{item['device_id']}:{item['id']}:{int(float(item['started_at']))}"
        if ref in known:
            continue
        device = db.session.scalar(select(Device).where(Device.code == str(item["device_id"])))
        if device is None:
            continue
        data = client.recording_file(item["id"])
        out.append(
            store(
                device,
                data,
                started=item["started_at"],
                ended=item["ended_at"],
                gateway_ref=ref,
                content_type=item.get("content_type") or "video/mp4",
                dispatch_id=dispatch_id,
            )
        )
    return out


def verify(rec: Recording) -> bool:
    """The stored bytes still hash to the SM3 recorded at intake."""
    return sm3(get_storage().get(rec.storage_key)).hex() == rec.sm3


def link_inspection(rec: Recording, inspection_id: int, *, actor=None) -> Recording:
    if db.session.get(Inspection, inspection_id) is None:
        raise ValidationFailed(f"检查记录 {inspection_id} 不存在", errors={"inspection_id": "检查记录不存在"})
    rec.inspection_id = inspection_id
    db.session.flush()
    audit.record(
        "dispatch.recording_link",
        actor=actor,
        object_type="recording",
        object_id=rec.id,
        detail={"inspection": inspection_id},
    )
    return rec


def set_hold(rec: Recording, hold: bool, reason: str | None, *, actor=None) -> Recording:
    if rec.deleted_at is not None:
        raise Conflict("录像已按保存期限删除，不能再设置保全")
    if hold and not (reason or "").strip():
        raise ValidationFailed("请填写保全原因", errors={"reason": "请填写保全原因"})
    rec.legal_hold, rec.hold_reason = hold, (reason or "").strip() or None
    db.session.flush()
    audit.record(
        "dispatch.recording_hold" if hold else "dispatch.recording_release",
        actor=actor,
        object_type="recording",
        object_id=rec.id,
        detail={"reason": rec.hold_reason},
    )
    return rec


def get(recording_id: int) -> Recording:
    rec = db.session.get(Recording, recording_id)
    if rec is None:
        raise NotFound("录像不存在")
    return rec


def purge_expired(now: datetime, *, days: int | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the bytes of recordings older than the retention period (not on legal hold), mark the rows,
    one audit entry each. Idempotent and resumable: a missing object counts as deleted, a run cut short
    leaves the rest for the next round."""
    days = days if days is not None else int(current_app.config.get("RECORDING_RETENTION_DAYS", 365))
    cutoff = now - timedelta(days=days)
    rows = db.session.scalars(
        select(Recording)
        .where(Recording.deleted_at.is_(None), Recording.legal_hold.is_(False), Recording.ended_at < cutoff)
        .order_by(Recording.ended_at)
        .limit(batch)
    ).all()
    store_ = get_storage() if rows else None
    for rec in rows:
        try:
            existed = store_.delete(rec.storage_key)
        except ObjectMissing:
            existed = False
        rec.deleted_at = now
        audit.record(
            "dispatch.recording_purge",
            object_type="recording",
            object_id=rec.id,
            detail={"key": rec.storage_key, "sm3": rec.sm3, "existed": existed, "retention_days": days},
        )
    db.session.flush()
    return len(rows)
