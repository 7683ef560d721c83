"""Registry of cameras and vehicles, person↔camera bindings with history, availability, position updates."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, text, update

from app.audit import services as audit
from app.auth.models import User
from app.dispatch.models import DEVICE_KINDS, Device, DeviceBinding
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371000.0 * math.asin(math.sqrt(a))


def register_device(
    *, code: str, kind: str, name: str, org: Organisation, actor=None, plate=None, model=None
) -> Device:
    code = (code or "").strip()
    errors = {}
    if not code:
        errors["code"] = "请填写设备编号"
    if kind not in DEVICE_KINDS:
        errors["kind"] = "设备类型只能是执法记录仪或执法车辆"
    if not (name or "").strip():
        errors["name"] = "请填写设备名称"
    if errors:
        raise ValidationFailed("设备信息有误", errors=errors)
    taken = db.session.scalar(select(Device).where(Device.code == code))
    if taken is not None:
        raise Conflict(f"设备编号 {code} 已登记" + ("（该设备已退役，编号不能重复使用）" if taken.retired else ""))
    dev = Device(code=code, kind=kind, name=name.strip(), org_id=org.id, plate=plate or None, model=model or None)
    db.session.add(dev)
    db.session.flush()
    audit.record("dispatch.device_register", actor=actor, object_type="device", object_id=dev.id, detail={"code": code})
    return dev


def open_binding_of_device(device_id: int) -> DeviceBinding | None:
    return db.session.scalar(
        select(DeviceBinding).where(DeviceBinding.device_id == device_id, DeviceBinding.unbound_at.is_(None))
    )


def open_binding_of_user(user_id: int) -> DeviceBinding | None:
    return db.session.scalar(
        select(DeviceBinding).where(DeviceBinding.user_id == user_id, DeviceBinding.unbound_at.is_(None))
    )


def bind(device: Device, user: User, *, actor=None, note: str | None = None) -> DeviceBinding:
    """One camera, one person (一一关联): both must be free; the rows are locked so two binds cannot race."""
    if device.kind != "camera":
        raise ValidationFailed("只有执法记录仪可以与人员绑定")
    if device.retired:
        raise ValidationFailed("设备已退役，不能绑定")
    if not device.active:
        raise ValidationFailed("设备已停用，不能绑定")
    db.session.execute(select(Device.id).where(Device.id == device.id).with_for_update())
    current = open_binding_of_device(device.id)
    if current is not None:
        if current.user_id == user.id:
            return current
        raise Conflict(f"{device.name} 已绑定 {current.user.name}，请先解绑")
    other = open_binding_of_user(user.id)
    if other is not None:
        raise Conflict(f"{user.name} 已绑定 {other.device.name}，请先解绑")
    row = DeviceBinding(device_id=device.id, user_id=user.id, bound_by_id=getattr(actor, "id", None), note=note)
    db.session.add(row)
    db.session.flush()
    audit.record("dispatch.bind", actor=actor, object_type="device", object_id=device.id, detail={"user": user.login})
    return row


def unbind(device: Device, *, actor=None) -> DeviceBinding:
    current = open_binding_of_device(device.id)
    if current is None:
        raise Conflict(f"{device.name} 当前没有绑定人员")
    current.unbound_at = utcnow()
    current.unbound_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "dispatch.unbind", actor=actor, object_type="device", object_id=device.id, detail={"user": current.user.login}
    )
    return current


def retire(device: Device, *, actor=None, reason: str | None = None) -> Device:
    """退役: the device leaves the registry, the map and dispatch for good; its row, bindings history,
    dispatch records and recordings stay. An open binding is closed (kept as history). Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写退役原因", errors={"reason": "请填写退役原因"})
    if len(reason) > 200:
        raise ValidationFailed("退役原因不能超过 200 字", errors={"reason": "退役原因不能超过 200 字"})
    db.session.execute(select(Device.id).where(Device.id == device.id).with_for_update())
    db.session.refresh(device)
    if device.retired:
        raise Conflict(f"{device.name} 已于 {device.retired_at:%Y-%m-%d} 退役")
    if device.busy:
        raise Conflict(f"{device.name} 正在执行调度任务，办结后才能退役")
    current = open_binding_of_device(device.id)
    now = utcnow()
    if current is not None:
        current.unbound_at = now
        current.unbound_by_id = getattr(actor, "id", None)
    device.retired_at = now
    device.retired_by_id = getattr(actor, "id", None)
    device.retire_reason = reason
    device.active = False
    device.online = False
    device.gateway_status = "已退役"
    db.session.flush()
    audit.record(
        "dispatch.device_retire",
        actor=actor,
        object_type="device",
        object_id=device.id,
        detail={"code": device.code, "reason": reason, "unbound": current.user.login if current else None},
    )
    return device


def history(device: Device) -> list[DeviceBinding]:
    return list(
        db.session.scalars(
            select(DeviceBinding).where(DeviceBinding.device_id == device.id).order_by(DeviceBinding.bound_at.desc())
        )
    )


def holder_map(device_ids) -> dict[int, User]:
    rows = db.session.execute(
        select(DeviceBinding.device_id, User)
        .join(User, User.id == DeviceBinding.user_id)
        .where(DeviceBinding.unbound_at.is_(None), DeviceBinding.device_id.in_(list(device_ids) or [0]))
    ).all()
    return {d: u for d, u in rows}


def availability(devices: list[Device]) -> list[dict]:
    """Per organisation: devices, online, free (online, not on a dispatch), bound cameras."""
    holders = holder_map([d.id for d in devices])
    out: dict[int, dict] = {}
    for d in devices:
        row = out.setdefault(
            d.org_id, {"org": d.org, "cameras": 0, "vehicles": 0, "online": 0, "free": 0, "bound": 0, "people": []}
        )
        row["cameras" if d.kind == "camera" else "vehicles"] += 1
        row["online"] += int(d.online)
        row["free"] += int(d.online and not d.busy and d.active)
        if d.id in holders:
            row["bound"] += 1
            row["people"].append({"name": holders[d.id].name, "device": d.name, "free": d.online and not d.busy})
    return sorted(out.values(), key=lambda r: r["org"].code)


def _ts(value) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()


_POSITION_UPDATE = (
    update(Device.__table__)
    .where(Device.__table__.c.code == bindparam("b_code"))
    .values(
        longitude=bindparam("b_lon"),
        latitude=bindparam("b_lat"),
        online=bindparam("b_online"),
        position_at=bindparam("b_at"),
    )
)


def apply_positions(positions: list[dict]) -> int:
    """One batch of position reports (the gateway poll or a webhook push): one executemany UPDATE.
    Reports of unknown devices or with coordinates outside China are skipped; returns the rows applied."""
    rows = []
    for p in positions:
        try:
            lon, lat = float(p["lon"]), float(p["lat"])
        except (KeyError, TypeError, ValueError):
            continue
        if not (73 <= lon <= 136 and 3 <= lat <= 54):
            continue
        rows.append(
            {
                "b_code": str(p.get("id")),
                "b_lon": lon,
                "b_lat": lat,
                "b_online": bool(p.get("online", True)),
                "b_at": _ts(p.get("ts")),
            }
        )
    if rows:
        known = set(
            db.session.scalars(
                select(Device.code).where(Device.code.in_([r["b_code"] for r in rows]), Device.retired_at.is_(None))
            )
        )
        rows = [r for r in rows if r["b_code"] in known]
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement for the whole batch (an executemany would be one round trip per device).
        db.session.execute(
            _PG_BATCH_UPDATE,
            {
                "codes": [r["b_code"] for r in rows],
                "lons": [r["b_lon"] for r in rows],
                "lats": [r["b_lat"] for r in rows],
                "onl": [r["b_online"] for r in rows],
                "ats": [r["b_at"] for r in rows],
            },
        )
    else:
        db.session.execute(_POSITION_UPDATE, rows, execution_options={"synchronize_session": False})
    return len(rows)


_PG_BATCH_UPDATE = text(
    "UPDATE dispatch_devices AS d SET longitude = v.lon, latitude = v.lat, online = v.onl, position_at = v.at "
    "FROM unnest(CAST(:codes AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]), CAST(:onl AS boolean[]), "
    "CAST(:ats AS timestamptz[])) AS v(code, lon, lat, onl, at) WHERE d.code = v.code"
)


def apply_status_events(events: list[dict]) -> int:
    """Status changes (webhook or pull): online/offline on the device row; unknown devices are ignored."""
    n = 0
    for ev in events:
        dev = db.session.scalar(select(Device).where(Device.code == str(ev.get("device_id"))))
        if dev is None or dev.retired:
            continue
        dev.online = bool(ev.get("online"))
        dev.gateway_status = "在线" if dev.online else "设备离线"
        n += 1
    db.session.flush()
    return n


def mark_missing(seen_codes: set[str]) -> int:
    """Registered active devices absent from the gateway's full list: offline, with the reason."""
    n = 0
    for dev in db.session.scalars(select(Device).where(Device.active.is_(True))):
        if dev.code not in seen_codes and dev.gateway_status != "设备已不存在：网关上找不到该设备":
            dev.online = False
            dev.gateway_status = "设备已不存在：网关上找不到该设备"
            n += 1
    db.session.flush()
    return n


def get_device(device_id: int) -> Device:
    dev = db.session.get(Device, device_id)
    if dev is None:
        raise NotFound("设备不存在")
    return dev
