"""Demo data of 指挥调度: the simulator's 50 cameras and 20 vehicles registered to the districts, officers
bound to cameras, starting positions from the simulator's own world (same seed). Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.dispatch import devices
from app.dispatch.models import Device
from app.extensions import db
from app.orgs.models import Organisation


def seed_dispatch(cameras: int = 50, vehicles: int = 20) -> dict[str, int]:
    from app.devicesim.world import World

    units = list(
        db.session.scalars(select(Organisation).where(Organisation.kind == "district").order_by(Organisation.code))
    )
    centre = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ-ZH"))
    if centre is not None:
        units.insert(0, centre)
    if not units:
        return {"dispatch_devices": 0}
    known = set(db.session.scalars(select(Device.code)))
    world = World(cameras, vehicles, seed=7, churn=0)
    created = 0
    for i, dev in enumerate(sorted(world.devices.values(), key=lambda d: d.id)):
        if dev.id in known:
            continue
        org = units[i % len(units)]
        row = devices.register_device(
            code=dev.id, kind=dev.kind, name=dev.name, org=org, plate=dev.name if dev.kind == "vehicle" else None
        )
        row.longitude, row.latitude, row.online = dev.lon, dev.lat, True
        created += 1
    db.session.flush()
    bound = 0
    officers = list(
        db.session.scalars(
            select(User)
            .where(User.login.like("d%_officer") | User.login.like("city_officer%"), User.status == "active")
            .order_by(User.login)
        )
    )
    for person in officers:
        if devices.open_binding_of_user(person.id) is not None:
            continue
        free = db.session.scalars(
            select(Device).where(Device.kind == "camera", Device.org_id == person.org_id).order_by(Device.code)
        ).all()
        cam = next((d for d in free if devices.open_binding_of_device(d.id) is None), None)
        if cam is not None:
            devices.bind(cam, person, note="演示数据")
            bound += 1
    return {"dispatch_devices": created, "dispatch_bindings": bound}
