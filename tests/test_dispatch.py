"""Dispatch end to end against the simulator process: registry and bindings, positions, the nearest free
unit, a dispatch into the unit's inbox through the BPMN process, and gateway failures that keep the record."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.dispatch import devices, gateway
from app.dispatch.models import Device, DeviceBinding, DispatchRecord
from app.engine import deploy
from app.errors import Conflict
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation
from tests.conftest import page_text, user
from tests.dispatch_support import TOKEN, sim  # noqa: F401  (fixture)


@pytest.fixture
def world(app, sim, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "GATEWAY_URL", sim.base)
    monkeypatch.setitem(app.config, "GATEWAY_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "GATEWAY_TIMEOUT", 0.5)
    monkeypatch.setitem(app.config, "GATEWAY_RETRIES", 0)
    sim.fault(count=0)
    with app.app_context():
        deploy.deploy(deploy.sources_from_files(Path(app.config["WORKFLOWS_DIR"]) / "dispatch_task.bpmn"))
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        xh = db.session.scalar(select(Organisation).where(Organisation.code == "310104"))
        ids = {}
        for code, org in (("CAM0001", hp), ("CAM0002", xh), ("CAM0004", hp), ("VEH0001", hp)):
            kind = "vehicle" if code.startswith("VEH") else "camera"
            ids[code] = devices.register_device(code=code, kind=kind, name=f"设备{code}", org=org).id
        devices.bind(db.session.get(Device, ids["CAM0001"]), user("hp_officer"))
        devices.bind(db.session.get(Device, ids["CAM0002"]), user("xh_officer"))
        positions = gateway.from_config(app.config).positions()
        # 4, or 3 once the vanishing-device test below has removed VEH0001 from the (module-wide) simulator
        assert devices.apply_positions(positions) in (3, 4)
        db.session.commit()
    return ids


def test_binding_is_one_to_one_with_history(app, world):
    with app.app_context():
        cam1, cam4 = db.session.get(Device, world["CAM0001"]), db.session.get(Device, world["CAM0004"])
        with pytest.raises(Conflict, match="已绑定 黄浦队员"):
            devices.bind(cam1, user("hp_leader"))
        with pytest.raises(Conflict, match="黄浦队员 已绑定 设备CAM0001"):
            devices.bind(cam4, user("hp_officer"))
        devices.unbind(cam1)
        devices.bind(cam4, user("hp_officer"))
        db.session.commit()
        rows = db.session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user("hp_officer").id)).all()
        assert [(r.device.code, r.unbound_at is None) for r in sorted(rows, key=lambda r: r.id)] == [
            ("CAM0001", False),
            ("CAM0004", True),
        ]
        avail = {r["org"].code: r for r in devices.availability(list(db.session.scalars(select(Device))))}
        assert avail["310101"]["cameras"] == 2 and avail["310101"]["vehicles"] == 1 and avail["310101"]["bound"] == 1


def test_dispatch_reaches_the_units_inbox_and_closes(app, world, client_for, sim):  # noqa: F811
    with app.app_context():
        cam1 = db.session.get(Device, world["CAM0001"])
        lon, lat = cam1.longitude + 0.001, cam1.latitude
    c = client_for("city_officer")
    units = c.get(f"/dispatch/api/suggest?lon={lon}&lat={lat}").get_json()["units"]
    assert units[0]["device_id"] == world["CAM0001"] and units[0]["person"] == "黄浦队员"
    assert world["CAM0004"] not in {u["device_id"] for u in units}  # a camera nobody wears is no unit
    resp = c.post(
        "/dispatch/api/dispatch",
        json={
            "event_kind": "manual",
            "title": "某仓库冒烟",
            "lon": lon,
            "lat": lat,
            "device_id": units[0]["device_id"],
        },
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    rec = resp.get_json()["record"]
    assert rec["status"] == "dispatched" and rec["gateway_status"] == "已推送至设备" and rec["distance_m"] < 200
    assert any("某仓库冒烟" in n.get("text", "") for n in sim.control("notices", method="GET")["notices"])
    assert "某仓库冒烟" in page_text(client_for("hp_officer").get("/inbox/"))
    assert "某仓库冒烟" not in page_text(client_for("xh_officer").get("/inbox/"))
    # the unit is busy now: not suggested again
    units = c.get(f"/dispatch/api/suggest?lon={lon}&lat={lat}").get_json()["units"]
    assert world["CAM0001"] not in {u["device_id"] for u in units}
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "handle"))
    resp = client_for("hp_officer").post(
        f"/inbox/tasks/{task_id}/act", data={"action": "complete", "arrived": "arrived", "result": "现场已处置完毕"}
    )
    assert resp.status_code == 302, page_text(resp)
    with app.app_context():
        row = db.session.scalar(select(DispatchRecord))
        assert row.status == "closed" and row.outcome == "现场已处置完毕" and not row.device.busy
    assert "已办结" in page_text(c.get("/dispatch/records"))


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"error": 500, "count": 1}, "网关内部错误"),
        ({"delay": 1.0, "count": 1}, "网关超时"),
        ("bad_token", "网关认证失败"),
        ("vanish", "设备已不存在"),
    ],
)
def test_gateway_failure_keeps_the_dispatch_with_a_chinese_status(app, world, client_for, sim, setup, expected):  # noqa: F811
    if setup == "bad_token":
        app.config["GATEWAY_TOKEN"] = "wrong"
    elif setup == "vanish":
        sim.control("vanish", {"id": "VEH0001"})
    else:
        sim.fault(**setup)
    c = client_for("city_officer")
    unit = world["VEH0001" if setup == "vanish" else "CAM0002"]
    resp = c.post(
        "/dispatch/api/dispatch",
        json={"event_kind": "call", "title": "群众来电", "lon": 121.44, "lat": 31.19, "device_id": unit},
    )
    assert resp.status_code == 201
    rec = resp.get_json()["record"]
    assert rec["status"] == "dispatched" and expected in rec["gateway_status"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DispatchRecord)) == 1
        assert db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open")) == 1
    screen = c.get("/dispatch/api/records").get_json()["records"]
    assert screen[0]["title"] == "群众来电" and expected in screen[0]["gateway_status"]
    # the live view of the same device answers with the reason, as JSON the screen shows
    resp = c.post(f"/dispatch/api/devices/{unit}/live")
    if setup in ("bad_token", "vanish"):
        assert resp.status_code == 502 and expected in resp.get_json()["message"]
    time.sleep(1.0 if "delay" in str(setup) else 0)


def test_webhook_is_signed_and_sets_status(app, world, client):
    body = json.dumps(
        {
            "events": [{"device_id": "CAM0001", "online": False}],
            "positions": [{"id": "VEH0001", "lon": 121.48, "lat": 31.23, "online": True}],
        }
    ).encode()
    assert client.post("/dispatch/gateway/webhook", data=body, headers={"X-Gateway-Signature": "00"}).status_code == 401
    sig = hmac.new(app.config["GATEWAY_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    resp = client.post("/dispatch/gateway/webhook", data=body, headers={"X-Gateway-Signature": sig})
    assert resp.get_json() == {"status": 1, "positions": 1}
    with app.app_context():
        assert db.session.get(Device, world["CAM0001"]).online is False
        assert db.session.get(Device, world["VEH0001"]).longitude == 121.48


def test_sse_streams_changed_positions(app, world, client_for):
    app.config["DISPATCH_SSE_SECONDS"], app.config["DISPATCH_SSE_EVERY"] = 0.3, 0.1
    try:
        text = client_for("city_officer").get("/dispatch/api/stream").get_data(as_text=True)
    finally:
        app.config.pop("DISPATCH_SSE_SECONDS"), app.config.pop("DISPATCH_SSE_EVERY")
    assert text.startswith("retry: 1000")
    payload = json.loads(text.split("event: positions\ndata: ")[1].split("\n")[0])
    assert {p["id"] for p in payload} == set(world.values())
    assert client_for("hp_officer").get("/dispatch/api/stream").status_code == 200
    # beyond the streams a process holds, a screen gets one tick and comes back in `retry` ms (a long poll)
    app.config["DISPATCH_SSE_MAX_HELD"], app.config["DISPATCH_SSE_EVERY"] = 0, 2.0
    try:
        started = time.monotonic()
        text = client_for("city_officer").get("/dispatch/api/stream").get_data(as_text=True)
        assert time.monotonic() - started < 1.5
        assert text.startswith("retry: 2000") and text.count("event: positions") == 1
        # with its Last-Event-ID nothing has moved since: an empty answer
        last = text.split("id: ")[1].split("\n")[0]
        again = client_for("city_officer").get("/dispatch/api/stream", headers={"Last-Event-ID": last})
        assert "event: positions" not in again.get_data(as_text=True)
    finally:
        app.config.pop("DISPATCH_SSE_MAX_HELD"), app.config.pop("DISPATCH_SSE_EVERY")
