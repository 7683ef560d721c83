"""Dispatch (调度): the events on the screen, the nearest free unit, the dispatch and its BPMN process.

A dispatch record is written first and kept whatever happens after: the process start runs in a
savepoint (a failure marks the record 派发失败 with the reason) and the gateway's notice to the device
is best effort (its Chinese status is stored on the record; the inbox task is the binding channel).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import User
from app.clues.models import OPEN_STATUSES, Clue
from app.dispatch import gateway
from app.dispatch.devices import holder_map, metres
from app.dispatch.models import EVENT_KINDS, Device, DispatchRecord
from app.engine import runtime
from app.engine.services import Linked, service
from app.enterprises.models import Enterprise
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.triggers.models import TriggerHit

PROCESS_ID = "dispatch_task"
ENTRY = "dispatch_screen"
UNIT_ROLES = ("district_officer", "city_officer", "street_officer")


def open_events(scope=None, limit: int = 300) -> list[dict]:
    """Open clues and trigger hits with the coordinates of their enterprise (the map's event layers)."""
    out = []
    stmt = (
        select(Clue, Enterprise.longitude, Enterprise.latitude, Enterprise.address)
        .join(Enterprise, Enterprise.id == Clue.enterprise_id)
        .where(Clue.status.in_(OPEN_STATUSES), Enterprise.longitude.is_not(None))
        .order_by(Clue.registered_at.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(scope.org_clause(Clue.district_org_id))
    for clue, lon, lat, addr in db.session.execute(stmt):
        out.append(
            {
                "kind": "clue",
                "ref": str(clue.id),
                "title": f"线索：{clue.enterprise_name or ''}",
                "detail": (clue.content or "")[:80],
                "lon": lon,
                "lat": lat,
                "address": addr or "",
            }
        )
    stmt = (
        select(TriggerHit, Enterprise)
        .join(Enterprise, Enterprise.id == TriggerHit.enterprise_id)
        .where(TriggerHit.status != "closed", Enterprise.longitude.is_not(None))
        .order_by(TriggerHit.first_at.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(scope.org_clause(TriggerHit.org_id))
    for hit, ent in db.session.execute(stmt):
        out.append(
            {
                "kind": "trigger",
                "ref": str(hit.id),
                "title": f"触发预警：{ent.name}",
                "detail": hit.scenario.name,
                "lon": ent.longitude,
                "lat": ent.latitude,
                "address": ent.address or "",
            }
        )
    return out


def suggest(lon: float, lat: float, *, limit: int = 5, kinds=("camera", "vehicle")) -> list[dict]:
    """Free units nearest to a point: online, active, not on a dispatch, with a position; cameras need a
    bound person (a camera on a shelf is no unit)."""
    devices = list(
        db.session.scalars(
            select(Device).where(
                Device.active.is_(True),
                Device.online.is_(True),
                Device.busy.is_(False),
                Device.kind.in_(kinds),
                Device.longitude.is_not(None),
            )
        )
    )
    holders = holder_map([d.id for d in devices])
    ranked = []
    for d in devices:
        if d.kind == "camera" and d.id not in holders:
            continue
        dist = metres(lon, lat, d.longitude, d.latitude)
        person = holders.get(d.id)
        ranked.append(
            {
                "device_id": d.id,
                "device": d.name,
                "kind": d.kind_label,
                "org": d.org.short_name or d.org.name,
                "person": person.name if person else "",
                "distance_m": round(dist),
            }
        )
    ranked.sort(key=lambda r: r["distance_m"])
    return ranked[:limit]


def _unit_role(user: User | None) -> str:
    codes = user.role_codes if user is not None else set()
    return next((r for r in UNIT_ROLES if r in codes), "district_officer")


def create(
    actor, *, event_kind: str, event_ref: str | None, title: str, lon: float, lat: float, device_id: int
) -> DispatchRecord:
    """Record the dispatch, start its process in the unit's inbox, tell the device through the gateway."""
    if event_kind not in EVENT_KINDS:
        raise ValidationFailed("事件类型不正确")
    if not (title or "").strip():
        raise ValidationFailed("请填写事件名称", errors={"title": "请填写事件名称"})
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound("所选调度单元不存在")
    person = holder_map([device.id]).get(device.id)
    dist = round(metres(lon, lat, device.longitude, device.latitude)) if device.longitude is not None else None
    rec = DispatchRecord(
        event_kind=event_kind,
        event_ref=event_ref,
        title=title.strip()[:200],
        longitude=lon,
        latitude=lat,
        org_id=device.org_id,
        device_id=device.id,
        user_id=person.id if person else None,
        distance_m=dist,
        status="pending",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(rec)
    db.session.flush()
    if device.busy or not device.online:
        rec.gateway_status = "提示：该单元派发时不在空闲在线状态"
    data = {
        "dispatch_id": rec.id,
        "subject": f"调度任务：{rec.title}",
        "event_label": EVENT_KINDS[event_kind],
        "location": f"{lon:.5f}, {lat:.5f}",
        "unit_device": device.name,
        "unit_person": person.name if person else "",
        "distance": f"{dist} 米" if dist is not None else "",
        "unit_role": _unit_role(person),
        "unit_org": device.org.code,
    }
    try:
        with db.session.begin_nested():
            instance = runtime.start(
                PROCESS_ID, actor=actor, org=device.org, data=data, business_key=f"dispatch:{rec.id}", entry=ENTRY
            )
        rec.instance_id = instance.id
        rec.status = "dispatched"
        device.busy = True
    except DomainError as exc:
        rec.status = "failed"
        rec.gateway_status = f"流程启动失败：{exc.message}"[:200]
    if rec.status == "dispatched":
        try:
            gateway.from_config(current_app.config).notify(device.code, f"调度任务：{rec.title}")
            rec.gateway_status = rec.gateway_status or "已推送至设备"
        except gateway.GatewayError as exc:
            rec.gateway_status = exc.message[:200]
            device.gateway_status = exc.message[:200]
    db.session.flush()
    audit.record(
        "dispatch.create",
        actor=actor,
        object_type="dispatch",
        object_id=rec.id,
        detail={"device": device.code, "status": rec.status},
    )
    return rec


def records(scope=None, limit: int = 50) -> list[DispatchRecord]:
    stmt = select(DispatchRecord).order_by(DispatchRecord.id.desc()).limit(limit)
    if scope is not None:
        stmt = stmt.where(scope.org_clause(DispatchRecord.org_id))
    return list(db.session.scalars(stmt))


_record = Linked(DispatchRecord, "dispatch_id", "调度记录", object_type="dispatch")


@service("dispatch.close")
def close(data: dict) -> str:
    """办结: the outcome is stored on the record and the unit is free again."""
    rec = _record.settle(
        data, "closed", stamp="closed_at", outcome=(data.get("result") or "")[:2000], audit="dispatch.close"
    )
    if rec.device is not None:
        rec.device.busy = False
    return "closed"
