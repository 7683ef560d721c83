"""Field evidence from a phone through HTTP: one photo at a time to the clue's 处理 step with its capture
time and position, the same upload key twice stored once (also when both arrive at once), refusals in
Chinese, the ids carried by the form into the task data; photos posted with the clue registration keep
their metadata; the add-to-home-screen files and logout's Clear-Site-Data."""

from __future__ import annotations

import io
import json
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.engine.models import InstanceEvent
from app.extensions import db
from app.inbox.models import Attachment, HumanTask
from app.models_base import utcnow
from tests.conftest import page_text, user
from tests.test_clue_process import (  # noqa: F401  (fixtures)
    accept,
    act,
    clue_process,
    dispatch,
    fast_pdf,
    judge,
    open_row,
    registered,
)


def jpeg(color=(200, 60, 40), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def at_handle(app, clue_process, fast_pdf, client_for):  # noqa: F811
    """A clue at its 处理 step, for 黄浦 officer hp_officer; returns the open task id."""
    registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for)
    dispatch(app, client_for)
    return open_row(app, "handle")


def post_photo(client, task_id, *, key="k-0001-photo", data=None, name="现场.jpg", **meta):
    form = {"field": "evidence", "key": key, "file": (io.BytesIO(data or jpeg()), name), **meta}
    return client.post(
        f"/inbox/tasks/{task_id}/uploads",
        data=form,
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )


def stored_files(app) -> list[str]:
    from app.storage import get_storage

    with app.app_context():
        return list(get_storage().iter_keys("uploads/"))


def test_photo_keeps_time_and_position_and_a_retry_is_stored_once(app, at_handle, client_for):
    officer = client_for("hp_officer")
    taken = (utcnow() - timedelta(minutes=3)).replace(microsecond=0)
    before = len(stored_files(app))
    first = post_photo(
        officer, at_handle, taken_at=taken.isoformat(), latitude="31.230416", longitude="121.473701", accuracy="12.5"
    )
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["duplicate"] is False and body["name"] == "现场.jpg" and body["content_type"] == "image/jpeg"
    # The answer was lost on a weak connection: the phone sends the same file with the same key again.
    again = post_photo(
        officer, at_handle, taken_at=taken.isoformat(), latitude="31.230416", longitude="121.473701", accuracy="12.5"
    )
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert again.get_json()["id"] == body["id"]
    assert len(stored_files(app)) == before + 1
    with app.app_context():
        row = db.session.get(Attachment, body["id"])
        assert row.taken_at == taken.replace(tzinfo=UTC)
        assert (row.latitude, row.longitude, row.accuracy_m) == (31.230416, 121.473701, 12.5)
        assert row.upload_key == "k-0001-photo" and row.field == "evidence"
        assert row.uploaded_by_id == user("hp_officer").id
        events = db.session.scalar(
            select(func.count()).where(InstanceEvent.instance_id == row.instance_id, InstanceEvent.kind == "attach")
        )
        assert events == 1
    # Without consent to the position only the time is kept.
    second = post_photo(officer, at_handle, key="k-0002-photo", taken_at=taken.isoformat())
    assert second.status_code == 201
    with app.app_context():
        row2 = db.session.get(Attachment, second.get_json()["id"])
        assert row2.latitude is None and row2.longitude is None and row2.taken_at is not None
    # The task page lists both with their time, and the position of the first.
    task_page = officer.get(f"/inbox/tasks/{at_handle}")
    assert task_page.headers["Cache-Control"] == "no-store"
    with officer.get(f"/inbox/attachments/{body['id']}") as download:  # evidence is not kept by the browser
        assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    page = page_text(task_page)
    assert "位置 31.23042, 121.47370 ±12 m" in page
    local_taken = taken.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert page.count(f"拍摄 {local_taken}") == 2
    # The form carries the ids; the task data holds the evidence list.
    act(
        officer,
        at_handle,
        "complete",
        investigators="张伟、刘芳",
        investigated_on="2026-11-20",
        findings="经现场核查，该企业 2 号仓库超量储存乙醇约 3.2 吨，夜间装卸未设警戒。",
        measures="责令立即停止违规装卸，限期转移超量物料。",
        evidence__uploaded=[str(body["id"]), str(second.get_json()["id"])],
    )
    with app.app_context():
        done = db.session.get(HumanTask, at_handle)
        assert done.status == "completed"
        assert [e["id"] for e in done.form_data["evidence"]] == [body["id"], second.get_json()["id"]]


def test_same_key_arriving_twice_at_once_is_stored_once(app, at_handle, monkeypatch):
    """The second request passed the look-up before the first committed: the unique key decides."""
    from app.inbox import uploads

    with app.app_context():
        row = db.session.get(HumanTask, at_handle)
        actor = user("hp_officer")
        first, seen = uploads.upload(
            row, actor, filename="a.jpg", data=jpeg(), field="evidence", meta={"upload_key": "race-key-01"}
        )
        assert not seen
        db.session.commit()
        files = len(stored_files(app))
        real = uploads._by_key
        calls = []

        def late_lookup(a, key):  # the first look-up ran before the other request's commit
            calls.append(key)
            return None if len(calls) == 1 else real(a, key)

        monkeypatch.setattr(uploads, "_by_key", late_lookup)
        row = db.session.get(HumanTask, at_handle)
        again, seen = uploads.upload(
            row, actor, filename="a.jpg", data=jpeg(), field="evidence", meta={"upload_key": "race-key-01"}
        )
        db.session.commit()
        assert seen and again.id == first.id and len(calls) == 2
        assert db.session.scalar(select(func.count()).where(Attachment.upload_key == "race-key-01")) == 1
        assert len(stored_files(app)) == files  # the loser's file was removed


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"taken_at": "昨天下午"}, "拍摄时间格式无效"),
        ({"taken_at": "2026-12-01T10:00:00"}, "拍摄时间缺少时区"),
        ({"taken_at": "2099-01-01T00:00:00+08:00"}, "拍摄时间晚于当前时间"),
        ({"latitude": "91", "longitude": "121.4"}, "纬度超出范围"),
        ({"latitude": "31.2"}, "经度不是数字"),
        ({"latitude": "31.2", "longitude": "东经121"}, "经度不是数字"),
        ({"latitude": "31.2", "longitude": "121.4", "accuracy": "-3"}, "定位精度超出范围"),
        ({"key": "短"}, "上传标识无效"),
        ({"field": "findings_photo"}, "表单中没有这个附件字段"),
    ],
)
def test_bad_metadata_is_refused_in_chinese_and_nothing_is_stored(app, at_handle, client_for, meta, message):
    officer = client_for("hp_officer")
    form = {"taken_at": utcnow().isoformat(), **meta}
    resp = post_photo(officer, at_handle, **form)
    assert resp.status_code == 422, resp.get_json()
    assert message in resp.get_json()["message"]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.field == "evidence")) == 0
        )


def test_refusals_of_other_people_files_and_keys(app, at_handle, client_for):
    officer, leader = client_for("hp_officer"), client_for("hp_leader")
    # Only the one who may act on the task uploads into its form.
    assert post_photo(leader, at_handle).status_code == 403
    # Not a picture of any allowed type.
    bad = post_photo(officer, at_handle, key="k-exe-0001", data=b"MZ\x90\x00" + b"\x00" * 200, name="x.exe")
    assert bad.status_code == 422 and "不支持的文件类型" in bad.get_json()["message"]
    ok = post_photo(officer, at_handle, key="k-0003-photo")
    assert ok.status_code == 201
    # A key names one file of one field: used for another field it is a conflict, not a silent reuse.
    with app.app_context():
        row = db.session.get(HumanTask, at_handle)
        from app.inbox import uploads

        with pytest.raises(Exception, match="该上传标识已用于另一份材料"):
            uploads.upload(
                row,
                user("hp_officer"),
                filename="b.jpg",
                data=jpeg(),
                field="findings",
                meta={"upload_key": "k-0003-photo"},
            )
        db.session.rollback()
    # The form cannot claim an attachment that is not this officer's upload for this field.
    with app.app_context():
        theirs = Attachment(
            instance_id=db.session.get(HumanTask, at_handle).instance_id,
            field="evidence",
            filename="别人的.jpg",
            content_type="image/jpeg",
            size=1,
            sm3="0" * 64,
            path="none",
            uploaded_by_id=user("hp_leader").id,
        )
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    resp = officer.post(
        f"/inbox/tasks/{at_handle}/act",
        data={
            "action": "complete",
            "investigators": "张伟、刘芳",
            "investigated_on": "2026-11-20",
            "findings": "经现场核查，该企业 2 号仓库超量储存乙醇约 3.2 吨。",
            "measures": "责令立即停止违规装卸。",
            "evidence__uploaded": [str(ok.get_json()["id"]), str(theirs_id)],
        },
    )
    assert resp.status_code == 422
    text = page_text(resp)
    assert (
        "附件无效或不属于本任务" in text and "经现场核查，该企业 2 号仓库超量储存乙醇约 3.2 吨。" in text
    )  # nothing lost
    with app.app_context():
        assert db.session.get(HumanTask, at_handle).status == "open"


def test_registration_photos_keep_their_metadata(app, clue_process, fast_pdf, client_for):  # noqa: F811
    officer = client_for("hp_officer")
    taken = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    meta = [{"name": "门口.jpg", "taken_at": taken.isoformat(), "latitude": 31.2, "longitude": 121.5, "accuracy": 30}]
    clue_id = registered(app, officer, attachments=(io.BytesIO(jpeg()), "门口.jpg"), attachments__meta=json.dumps(meta))
    with app.app_context():
        [row] = db.session.scalars(select(Attachment).where(Attachment.field == "attachments"))
        assert row.taken_at == taken and (row.latitude, row.longitude, row.accuracy_m) == (31.2, 121.5, 30.0)
    assert "位置 31.20000, 121.50000 ±30 m" in page_text(officer.get(f"/clues/{clue_id}"))
    from tests.test_clue_process import register

    bad = register(app, officer, content="另一条线索内容，企业夜间违规作业情况。", attachments__meta="[1, 2]")
    assert bad.status_code == 422 and "照片的拍摄信息格式无效" in page_text(bad)


def test_home_screen_files_and_logout_clears_the_phone(app, client_for, login_as):
    anon = app.test_client()
    manifest = anon.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["start_url"] == "/inbox/" and body["display"] == "standalone" and body["short_name"]
    for icon in body["icons"]:
        with anon.get(icon["src"]) as resp:
            assert resp.status_code == 200 and resp.mimetype == "image/png"
            width, height = Image.open(io.BytesIO(resp.data)).size
        assert f"{width}x{height}" == icon["sizes"]
    assert {i["purpose"] for i in body["icons"]} == {"any", "maskable"}
    sw = anon.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/" and "no-cache" in sw.headers["Cache-Control"]
    offline = anon.get("/offline")
    assert offline.status_code == 200 and "网络未连接" in page_text(offline)
    # The offline page is the same for everybody: no name, no case data.
    officer = client_for("hp_officer")
    assert page_text(officer.get("/offline")) == page_text(offline)
    # Pages with case data are never stored by the browser; logging out clears the phone.
    assert officer.get("/inbox/").headers["Cache-Control"] == "no-store"
    out = officer.post("/logout")
    assert out.status_code == 302 and out.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_inbox_cards_name_the_sender(app, at_handle, client_for):
    page = page_text(client_for("hp_officer").get("/inbox/"))
    assert "data-mobile-cards" in page and 'data-label="发起"' in page
    with app.app_context():
        registrar = user("hp_officer").name
    assert f'data-label="发起">{registrar}' in page
