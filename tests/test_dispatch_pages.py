"""指挥调度 pages without the simulator: the screen, registry and binding forms, layer import with a
Chinese error per bad row, map data and locate, and scope."""

from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from app.dispatch import devices
from app.dispatch.models import Device, DeviceBinding, MapLayer
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import page_text, user


def _org(code):
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def test_register_and_bind_through_the_pages(app, client_for):
    c = client_for("city_officer")
    with app.app_context():
        hp_id = _org("310101").id
    resp = c.post(
        "/dispatch/devices", data={"code": "CAM9001", "name": "记录仪9001", "kind": "camera", "org_id": hp_id}
    )
    assert resp.status_code == 302
    with app.app_context():
        dev_id = db.session.scalar(select(Device.id).where(Device.code == "CAM9001"))
        officer_id = user("hp_officer").id
    # the same code twice: refused in Chinese, still one device
    resp = c.post(
        "/dispatch/devices",
        data={"code": "CAM9001", "name": "重复", "kind": "camera", "org_id": hp_id},
        follow_redirects=True,
    )
    assert "设备编号 CAM9001 已登记" in page_text(resp)
    assert c.post(f"/dispatch/devices/{dev_id}/bind", data={"user_id": officer_id}).status_code == 302
    text = page_text(c.get(f"/dispatch/devices/{dev_id}"))
    assert "当前绑定： 黄浦队员" in text or "当前绑定：<strong>黄浦队员" in c.get(
        f"/dispatch/devices/{dev_id}"
    ).get_data(as_text=True)
    assert "黄浦队员（记录仪9001）" in page_text(c.get("/dispatch/devices"))
    assert c.post(f"/dispatch/devices/{dev_id}/unbind").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DeviceBinding)) == 1
        assert db.session.scalar(select(DeviceBinding.unbound_at)) is not None
    # a district officer may look but not register
    assert client_for("hp_officer").get("/dispatch/devices").status_code == 200
    assert client_for("hp_officer").post("/dispatch/devices", data={"code": "X"}).status_code == 403


def test_devices_are_scoped_to_the_district(app, client_for):
    with app.app_context():
        devices.register_device(code="CAM7001", kind="camera", name="黄浦记录仪", org=_org("310101"))
        devices.register_device(code="CAM7002", kind="camera", name="徐汇记录仪", org=_org("310104"))
        db.session.commit()
    text = page_text(client_for("hp_officer").get("/dispatch/devices"))
    assert "黄浦记录仪" in text and "徐汇记录仪" not in text
    names = {d["name"] for d in client_for("hp_officer").get("/dispatch/api/map").get_json()["devices"]}
    assert names == {"黄浦记录仪"}
    assert {d["name"] for d in client_for("city_officer").get("/dispatch/api/map").get_json()["devices"]} == {
        "黄浦记录仪",
        "徐汇记录仪",
    }
    found = client_for("city_officer").get("/dispatch/api/locate?q=CAM7002").get_json()["results"]
    assert found == [] or found[0]["name"] == "徐汇记录仪"  # no position yet: not locatable on the map


def test_screen_and_districts(app, client_for):
    c = client_for("city_officer")
    resp = c.get("/dispatch/")
    assert resp.status_code == 200 and "media-src 'self' blob:" in resp.headers["Content-Security-Policy"]
    assert 'id="dispatch-map"' in resp.get_data(as_text=True)
    geo = c.get("/dispatch/api/districts").get_json()
    assert len(geo["features"]) == 16 and "浦东新区" in {f["properties"]["name"] for f in geo["features"]}


CSV_BAD = "名称,经度,纬度,备注\n应急物资库,121.47,31.23,一号库\n,121.4,31.2,\n二号库,abc,31.2,\n三号库,125.0,31.2,\n"


def test_layer_import_reports_every_bad_row_and_keeps_nothing(app, client_for):
    c = client_for("city_officer")
    resp = c.post(
        "/dispatch/layers",
        data={"name": "物资库", "file": (io.BytesIO(CSV_BAD.encode()), "depots.csv")},
        content_type="multipart/form-data",
    )
    text = page_text(resp)
    assert resp.status_code == 422
    assert "第 3 行：名称为空" in text and "第 4 行：经度“abc”不是数字" in text and "第 5 行：经度 125.0 超出" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MapLayer)) == 0  # nothing half-imported
    resp = c.post(
        "/dispatch/layers",
        data={"name": "物资库", "partial": "1", "file": (io.BytesIO(CSV_BAD.encode()), "depots.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "已导入 1 个点，跳过 3 行" in page_text(resp)


def test_layer_import_geojson_and_kml(app, client_for):
    c = client_for("city_officer")
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "避难场所A"},
                "geometry": {"type": "Point", "coordinates": [121.5, 31.2]},
            },
            {"type": "Feature", "properties": {"name": "线"}, "geometry": {"type": "LineString", "coordinates": []}},
        ],
    }
    resp = c.post(
        "/dispatch/layers",
        data={"name": "避难", "file": (io.BytesIO(json.dumps(geo).encode()), "a.geojson")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "第 2 个要素：只支持点要素，此要素为 LineString" in page_text(resp)
    kml = (
        b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        b"<Placemark><name>\xe6\xb6\x88\xe9\x98\xb2\xe7\xab\x99</name><Point><coordinates>121.45,31.22,0</coordinates>"
        b"</Point></Placemark></Document></kml>"
    )
    resp = c.post(
        "/dispatch/layers",
        data={"name": "消防", "file": (io.BytesIO(kml), "f.kml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "已导入 1 个点" in page_text(resp)
    layers = c.get("/dispatch/api/map").get_json()["layers"]
    assert layers[0]["features"][0]["name"] == "消防站"
    assert c.get("/dispatch/api/locate?q=消防").get_json()["results"][0]["lon"] == 121.45
    resp = c.post(
        "/dispatch/layers",
        data={"name": "x", "file": (io.BytesIO(b"<kml><oops"), "bad.kml")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "KML 文件格式错误" in page_text(resp)


def test_a_dispatch_whose_process_cannot_start_is_kept_as_failed(app, client_for):
    with app.app_context():  # the dispatch_task process is not deployed in this test
        dev = devices.register_device(code="VEH7009", kind="vehicle", name="沪A·执009", org=_org("310101"))
        dev.online, dev.longitude, dev.latitude = True, 121.48, 31.23
        db.session.commit()
        dev_id = dev.id
    resp = client_for("city_officer").post(
        "/dispatch/api/dispatch",
        json={"event_kind": "manual", "title": "流程未部署时的调度", "lon": 121.48, "lat": 31.23, "device_id": dev_id},
    )
    assert resp.status_code == 201
    rec = resp.get_json()["record"]
    assert rec["status"] == "failed" and rec["gateway_status"].startswith("流程启动失败：")
    with app.app_context():
        assert db.session.get(Device, dev_id).busy is False  # the unit stays free
    assert "派发失败" in page_text(client_for("city_officer").get("/dispatch/records"))
