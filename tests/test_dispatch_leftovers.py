"""指挥调度 leftovers: device retirement (退役) through its page, and `flask ducha devicesim` (the simulator
in the foreground, as a service manager runs it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.dispatch import devices
from app.dispatch.models import Device, DeviceBinding
from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import page_text, user
from tests.dispatch_support import free_port

ROOT = Path(__file__).resolve().parent.parent


def _org(code):
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def test_retire_through_the_page_keeps_history_and_forbids_binding(app, client_for):
    c = client_for("city_officer")
    with app.app_context():
        cam = devices.register_device(code="CAM8801", kind="camera", name="退役记录仪", org=_org("310101"))
        other = devices.register_device(code="CAM8802", kind="camera", name="在用记录仪", org=_org("310101"))
        devices.bind(cam, user("hp_officer"))
        devices.apply_positions([{"id": "CAM8801", "lon": 121.48, "lat": 31.23, "online": True}])
        db.session.commit()
        cam_id, other_id, officer_id = cam.id, other.id, user("hp_officer").id
    assert "设备退役" in page_text(c.get(f"/dispatch/devices/{cam_id}"))
    page = page_text(c.get(f"/dispatch/devices/{cam_id}/retire"))
    assert "退役时将自动解绑" in page and "黄浦队员" in page
    # a reason is required: a Chinese error, nothing changed
    resp = c.post(f"/dispatch/devices/{cam_id}/retire", data={"reason": "  "})
    assert resp.status_code == 422 and "请填写退役原因" in page_text(resp)
    with app.app_context():
        assert db.session.get(Device, cam_id).retired_at is None
    # a district officer may look but not retire
    assert client_for("hp_officer").post(f"/dispatch/devices/{cam_id}/retire", data={"reason": "x"}).status_code == 403
    resp = c.post(f"/dispatch/devices/{cam_id}/retire", data={"reason": "设备损坏报废"})
    assert resp.status_code == 302
    # out of the registry view, the map and locate; listed under 已退役设备
    listing = _device_table(c.get("/dispatch/devices"))
    assert "在用记录仪" in listing and "退役记录仪" not in listing
    assert "退役记录仪" in _device_table(c.get("/dispatch/devices?retired=1"))
    assert {d["name"] for d in c.get("/dispatch/api/map").get_json()["devices"]} == {"在用记录仪"}
    assert c.get("/dispatch/api/locate?q=CAM8801").get_json()["results"] == []
    # its page and bindings history stay; the open binding was closed
    detail = page_text(c.get(f"/dispatch/devices/{cam_id}"))
    assert "已于" in detail and "设备损坏报废" in detail and "黄浦队员" in detail and "设备退役</a>" not in detail
    with app.app_context():
        rows = db.session.scalars(select(DeviceBinding).where(DeviceBinding.device_id == cam_id)).all()
        assert len(rows) == 1 and rows[0].unbound_at is not None
        dev = db.session.get(Device, cam_id)
        assert dev.retired and not dev.active and dev.retire_reason == "设备损坏报废"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "dispatch.device_retire"))
        assert entry.object_id == str(cam_id) and entry.detail["unbound"] == "hp_officer"
        # positions of a retired device are ignored
        assert devices.apply_positions([{"id": "CAM8801", "lon": 121.5, "lat": 31.2}]) == 0
    # a retired device can't be bound, by the page or the service
    resp = c.post(f"/dispatch/devices/{cam_id}/bind", data={"user_id": officer_id}, follow_redirects=True)
    assert "设备已退役，不能绑定" in page_text(resp)
    with app.app_context():
        try:
            devices.bind(db.session.get(Device, cam_id), user("hp_officer"))
        except ValidationFailed as exc:
            assert exc.message == "设备已退役，不能绑定"
        else:
            raise AssertionError("a retired device was bound")
        db.session.rollback()
        # the person is free again: the other camera may be bound to them
        devices.bind(db.session.get(Device, other_id), user("hp_officer"))
        db.session.commit()
    # retiring twice is refused; the code stays taken
    resp = c.post(f"/dispatch/devices/{cam_id}/retire", data={"reason": "再次"})
    assert resp.status_code == 409 and "退役记录仪 已于" in page_text(resp)
    resp = c.post(
        "/dispatch/devices",
        data={"code": "CAM8801", "name": "新", "kind": "camera", "org_id": _org_id(app, "310101")},
        follow_redirects=True,
    )
    assert "该设备已退役，编号不能重复使用" in page_text(resp)


def _device_table(resp) -> str:
    text = page_text(resp)
    return text[text.index('id="device-list"') :].split("</table>")[0]


def _org_id(app, code):
    with app.app_context():
        return _org(code).id


def test_a_device_on_a_dispatch_cannot_be_retired(app, client_for):
    with app.app_context():
        veh = devices.register_device(code="VEH8801", kind="vehicle", name="执勤车", org=_org("310101"), plate="沪A1")
        veh.busy = True
        db.session.commit()
        veh_id = veh.id
    resp = client_for("city_officer").post(
        f"/dispatch/devices/{veh_id}/retire", data={"reason": "报废"}, follow_redirects=True
    )
    assert "正在执行调度任务，办结后才能退役" in page_text(resp)
    with app.app_context():
        assert db.session.get(Device, veh_id).retired_at is None


def test_devicesim_command_passes_the_makefile_defaults(app, runner, monkeypatch):
    seen = {}

    def fake_main(argv):
        seen["argv"] = argv
        return 0

    monkeypatch.setattr("app.devicesim.__main__.main", fake_main)
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.delenv("DUCHA_DEVICESIM_PORT", raising=False)
    result = runner.invoke(args=["ducha", "devicesim", "--cameras", "3"])
    assert result.exit_code == 0, result.output
    argv = seen["argv"]
    assert argv[argv.index("--port") + 1] == "7310"
    assert argv[argv.index("--data-dir") + 1] == str(Path(app.config["INSTANCE_DIR"]) / "devicesim")
    assert argv[argv.index("--webhook") + 1] == "http://127.0.0.1:5123/dispatch/gateway/webhook"
    assert argv[argv.index("--cameras") + 1] == "3" and "--vehicles" not in argv
    runner.invoke(args=["ducha", "devicesim", "--no-webhook"])
    assert "--webhook" not in seen["argv"]


def test_devicesim_command_serves_in_the_foreground_until_sigterm(app, tmp_path):
    port = free_port(range(7480, 7500))
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DUCHA_INSTANCE_DIR": str(tmp_path),
        "DUCHA_SCHEDULER": "0",
    }
    cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "ducha", "devicesim", "--port", str(port)]
    cmd += ["--cameras", "3", "--vehicles", "2", "--token", "svc-token", "--no-webhook"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "devicesim did not start"
                time.sleep(0.3)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/devices", headers={"Authorization": "Bearer svc-token"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = json.loads(resp.read())
        listed = body.get("devices", body) if isinstance(body, dict) else body
        assert len(listed) == 5
        assert (tmp_path / "devicesim").is_dir()  # the instance folder's devicesim, as `make devicesim-start`
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
