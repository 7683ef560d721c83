"""Enforcement video: a point call becomes a recording stored with its SM3 hash, playback by range
requests, the link to an inspection, and retention (1 year, legal hold, idempotent, audited)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.dispatch import devices, video
from app.dispatch.models import Device, Recording
from app.extensions import db
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection
from app.security.sm import sm3
from app.storage import get_storage
from tests.conftest import user
from tests.dispatch_support import TOKEN, sim  # noqa: F401  (fixture)
from tests.enterprise_fixtures import make_enterprise


@pytest.fixture
def cam(app, sim, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "GATEWAY_URL", sim.base)
    monkeypatch.setitem(app.config, "GATEWAY_TOKEN", TOKEN)
    sim.fault(count=0)
    with app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        dev = devices.register_device(code="CAM0005", kind="camera", name="记录仪005", org=hp)
        devices.bind(dev, user("hp_officer"))
        db.session.commit()
        return dev.id


def _call(client, device_id) -> dict:
    resp = client.post(f"/dispatch/api/devices/{device_id}/call")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    call = resp.get_json()
    assert call["url"] == f"/dispatch/api/hls/{device_id}/index.m3u8"
    resp = client.post(f"/dispatch/api/devices/{device_id}/call/{call['call_id']}/stop")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["recordings"][0]


def test_call_recording_hash_and_range_playback(app, cam, client_for):
    c = client_for("city_officer")
    got = _call(c, cam)
    with app.app_context():
        rec = db.session.get(Recording, got["id"])
        data = get_storage().get(rec.storage_key)
        assert rec.size == len(data) == got["size"] and rec.sm3 == sm3(data).hex() == got["sm3"]
        assert rec.user_id == user("hp_officer").id and video.verify(rec)
    whole = c.get(f"/dispatch/recordings/{got['id']}/media")
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes" and whole.data == data
    part = c.get(f"/dispatch/recordings/{got['id']}/media", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.data == data[10:100]
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(data)}"
    tail = c.get(f"/dispatch/recordings/{got['id']}/media", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.data == data[-16:]
    bad = c.get(f"/dispatch/recordings/{got['id']}/media", headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(data)}"
    # the same gateway recording fetched again is one row (idempotent sync)
    with app.app_context():
        assert video.sync() == [] and db.session.scalar(select(func.count()).select_from(Recording)) == 1
    # a flipped byte in storage is detected
    with app.app_context():
        rec = db.session.get(Recording, got["id"])
        get_storage().put(rec.storage_key, bytes([data[0] ^ 1]) + data[1:])
        assert not video.verify(rec)
    assert "SM3 摘要" in c.get(f"/dispatch/recordings/{got['id']}").get_data(as_text=True)
    # a call stopped with a dispatch id that is not this device's: stored, not linked
    call = c.post(f"/dispatch/api/devices/{cam}/call").get_json()
    resp = c.post(f"/dispatch/api/devices/{cam}/call/{call['call_id']}/stop?dispatch=12345")
    assert resp.status_code == 200
    with app.app_context():
        assert db.session.get(Recording, resp.get_json()["recordings"][0]["id"]).dispatch_id is None


def test_link_to_an_inspection_by_id(app, cam, client_for):
    c = client_for("city_officer")
    rid = _call(c, cam)["id"]
    with app.app_context():
        ent = make_enterprise("310101", 1, "上海测试化工有限公司")
        insp = Inspection(enterprise_id=ent.id, org_id=ent.org_id, inspected_on=date(2026, 12, 1))
        db.session.add(insp)
        db.session.commit()
        insp_id = insp.id
    resp = c.post(f"/dispatch/recordings/{rid}/inspection", data={"inspection_id": str(insp_id + 999)})
    assert resp.status_code in (302, 303, 422), resp.get_data(as_text=True)[-3000:]
    with app.app_context():
        assert db.session.get(Recording, rid).inspection_id is None  # unknown id: refused, nothing linked
    resp = c.post(f"/dispatch/recordings/{rid}/inspection", data={"inspection_id": str(insp_id)})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Recording, rid).inspection_id == insp_id


def test_retention_deletes_after_a_year_keeps_holds_and_is_idempotent(app, cam):
    import time_machine

    with app.app_context():
        dev = db.session.get(Device, cam)
        now = utcnow()
        old = video.store(
            dev, b"old" * 100, started=now - timedelta(days=400), ended=now - timedelta(days=399), gateway_ref="t:1"
        )
        held = video.store(
            dev, b"held" * 100, started=now - timedelta(days=400), ended=now - timedelta(days=399), gateway_ref="t:2"
        )
        young = video.store(
            dev, b"new" * 100, started=now - timedelta(days=300), ended=now - timedelta(days=300), gateway_ref="t:3"
        )
        video.set_hold(held, True, "行政复议中")
        db.session.commit()
        ids = old.id, held.id, young.id
        assert video.purge_expired(now) == 1
        db.session.commit()
        assert video.purge_expired(now) == 0  # idempotent
        db.session.commit()
        old, held, young = (db.session.get(Recording, i) for i in ids)
        assert old.deleted_at is not None and not get_storage().exists(old.storage_key)
        assert held.deleted_at is None and get_storage().exists(held.storage_key)
        assert young.deleted_at is None
        # 70 days later (a controllable clock) the young one is past a year too; the job as the scheduler runs it
        from app.dispatch.jobs import retention_job

        with time_machine.travel(now + timedelta(days=70), tick=False):
            assert retention_job(utcnow()) == 1
            db.session.commit()
        assert db.session.get(Recording, ids[2]).deleted_at is not None
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "dispatch.recording_purge")
        ).all()
        assert len(actions) == 2


def test_retention_resumes_when_the_object_is_already_gone(app, cam):
    with app.app_context():
        dev = db.session.get(Device, cam)
        now = utcnow()
        rec = video.store(
            dev, b"x" * 10, started=now - timedelta(days=500), ended=now - timedelta(days=500), gateway_ref="t:9"
        )
        db.session.commit()
        get_storage().delete(rec.storage_key)  # a run cut short after deleting the bytes, before its commit
        assert video.purge_expired(now) == 1
        db.session.commit()
        assert db.session.get(Recording, rec.id).deleted_at is not None
        assert Path(app.config["INSTANCE_DIR"]).exists()
