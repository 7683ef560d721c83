"""Command and dispatch (指挥调度): devices, person↔camera bindings, dispatch records, recordings, layers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

DEVICE_KINDS = {"camera": "执法记录仪", "vehicle": "执法车辆"}
DISPATCH_STATUS = {
    "pending": "待派发",
    "dispatched": "已派发",
    "closed": "已办结",
    "failed": "派发失败",
}
EVENT_KINDS = {"clue": "线索", "trigger": "触发预警", "call": "来电/呼叫", "manual": "现场事件"}


class Device(db.Model):
    """A body camera (执法记录仪) or an enforcement vehicle known to the gateway."""

    __tablename__ = "dispatch_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the gateway's device id
    kind: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(80))
    model: Mapped[str | None] = mapped_column(String(80))
    plate: Mapped[str | None] = mapped_column(String(20))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    online: Mapped[bool] = mapped_column(default=False)
    busy: Mapped[bool] = mapped_column(default=False)  # on a dispatch
    longitude: Mapped[float | None]
    latitude: Mapped[float | None]
    # Not indexed: position updates stay HOT (in-page) on PostgreSQL; screens read a shared snapshot.
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gateway_status: Mapped[str | None] = mapped_column(String(200))  # the last gateway message (Chinese)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 退役: out of the registry view, the map and dispatch, never bound again; the row and its history stay.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retire_reason: Mapped[str | None] = mapped_column(String(200))

    org: Mapped[Organisation] = relationship(lazy="joined")
    retired_by: Mapped[User | None] = relationship(foreign_keys=[retired_by_id])

    @property
    def kind_label(self) -> str:
        return DEVICE_KINDS.get(self.kind, self.kind)

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class DeviceBinding(db.Model):
    """Person ↔ camera (一一关联): at most one open binding per device and per person; closed rows are history."""

    __tablename__ = "dispatch_bindings"
    __table_args__ = (Index("ix_dispatch_bindings_open", "device_id", "user_id", "unbound_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("dispatch_devices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unbound_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(200))

    device: Mapped[Device] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class DispatchRecord(db.Model):
    """One dispatch (调度记录): the event, the unit chosen, its process and status, the gateway's word."""

    __tablename__ = "dispatch_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_kind: Mapped[str] = mapped_column(String(12))
    event_ref: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    longitude: Mapped[float | None]
    latitude: Mapped[float | None]
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the unit sent
    device_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_devices.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    distance_m: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    gateway_status: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    org: Mapped[Organisation] = relationship(lazy="joined")
    device: Mapped[Device | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def status_label(self) -> str:
        return DISPATCH_STATUS.get(self.status, self.status)

    @property
    def event_label(self) -> str:
        return EVENT_KINDS.get(self.event_kind, self.event_kind)


class Recording(db.Model):
    """A recorded session (录音录像): metadata here, the bytes in app.storage under `storage_key`."""

    __tablename__ = "dispatch_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_ref: Mapped[str] = mapped_column(String(60), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("dispatch_devices.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_records.id"))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sm3: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(60), default="video/mp4")
    storage_key: Mapped[str] = mapped_column(String(300))
    legal_hold: Mapped[bool] = mapped_column(default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    device: Mapped[Device] = relationship()
    user: Mapped[User | None] = relationship()


class MapLayer(db.Model):
    """An imported map layer (GeoJSON, CSV, KML): points with a name and properties."""

    __tablename__ = "dispatch_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    source_name: Mapped[str | None] = mapped_column(String(200))
    features: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "lon", "lat", "props"}]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
