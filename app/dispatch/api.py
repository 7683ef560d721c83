"""指挥调度 JSON for the one screen: map data, live positions (SSE), locate, suggest, dispatch, video calls,
the HLS proxy, and the gateway's webhook (signed, no login)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context
from flask_login import current_user
from sqlalchemy import or_, select

from app.dispatch import devices, gateway, services, video
from app.dispatch.models import Device, DispatchRecord, MapLayer
from app.dispatch.routes import COMMAND, READ, visible_devices
from app.enterprises.models import GRADES, Enterprise
from app.errors import BadRequest, NotFound, ValidationFailed
from app.extensions import csrf, db
from app.orgs.models import Organisation
from app.security.access import permission_required
from app.security.scope import scope_for

bp = Blueprint("dispatch_api", __name__, url_prefix="/dispatch/api")
hook_bp = Blueprint("dispatch_hook", __name__, url_prefix="/dispatch/gateway")
csrf.exempt(hook_bp)
DISTRICTS = Path(__file__).with_name("data") / "shanghai_districts.geojson"
SSE_SECONDS = 25.0
SSE_EVERY = 2.0
SSE_MAX_HELD = 2  # held streams per process (gunicorn: 4 threads per worker)


@cache
def _districts() -> dict:
    return json.loads(DISTRICTS.read_text(encoding="utf-8"))


def _device_json(d: Device, holders: dict) -> dict:
    person = holders.get(d.id)
    return {
        "id": d.id,
        "code": d.code,
        "kind": d.kind,
        "name": d.name,
        "org": d.org.short_name or d.org.name,
        "online": d.online,
        "busy": d.busy,
        "lon": d.longitude,
        "lat": d.latitude,
        "person": person.name if person else "",
        "status": d.gateway_status or "",
    }


@bp.get("/districts")
@permission_required(*READ)
def districts():
    resp = jsonify(_districts())
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


@bp.get("/map")
@permission_required(*READ)
def map_data():
    scope = scope_for(current_user)
    devs = list(db.session.scalars(visible_devices().where(Device.active.is_(True))))
    holders = devices.holder_map([d.id for d in devs])
    ents = db.session.execute(
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.grade,
            Enterprise.longitude,
            Enterprise.latitude,
            Enterprise.address,
        )
        .where(Enterprise.longitude.is_not(None), scope.org_clause(Enterprise.org_id))
        .limit(5000)
    ).all()
    layers = [
        {"id": lyr.id, "name": lyr.name, "features": lyr.features}
        for lyr in db.session.scalars(select(MapLayer).order_by(MapLayer.id))
    ]
    return jsonify(
        devices=[_device_json(d, holders) for d in devs],
        enterprises=[
            {
                "id": e.id,
                "name": e.name,
                "grade": e.grade or "",
                "grade_label": GRADES.get(e.grade or "", "未分级"),
                "lon": e.longitude,
                "lat": e.latitude,
                "address": e.address or "",
            }
            for e in ents
        ],
        events=services.open_events(scope),
        layers=layers,
        records=[_record_json(r) for r in services.records(scope, 30)],
    )


def _record_json(r: DispatchRecord) -> dict:
    return {
        "id": r.id,
        "title": r.title,
        "event": r.event_label,
        "status": r.status,
        "status_label": r.status_label,
        "org": r.org.short_name or r.org.name,
        "device": r.device.name if r.device else "",
        "person": r.user.name if r.user else "",
        "gateway_status": r.gateway_status or "",
        "distance_m": r.distance_m,
        "created_at": r.created_at.isoformat(),
    }


@bp.get("/records")
@permission_required(*READ)
def records():
    return jsonify(records=[_record_json(r) for r in services.records(scope_for(current_user), 30)])


_SNAPSHOT: dict = {"at": -1e9, "rows": []}
_SNAPSHOT_LOCK = threading.Lock()
_HELD = {"n": 0}


def _snapshot(max_age: float) -> list:
    """Every active device's position, read at most once per `max_age` seconds per process and shared by
    all open screens (50 screens cost one query per interval, not fifty)."""
    with _SNAPSHOT_LOCK:
        if time.monotonic() - _SNAPSHOT["at"] >= max_age:
            rows = db.session.execute(
                select(
                    Device.id,
                    Device.org_id,
                    Device.longitude,
                    Device.latitude,
                    Device.online,
                    Device.busy,
                    Device.position_at,
                ).where(Device.active.is_(True))
            ).all()
            # Each device's JSON once per snapshot; a screen's payload joins the fragments it may see.
            _SNAPSHOT["rows"] = [
                (
                    r.org_id,
                    r.position_at,
                    json.dumps({"id": r.id, "lon": r.longitude, "lat": r.latitude, "online": r.online, "busy": r.busy}),
                )
                for r in rows
            ]
            _SNAPSHOT["at"] = time.monotonic()
            db.session.close()  # no connection held between polls
        return _SNAPSHOT["rows"]


@bp.get("/stream")
@permission_required(*READ)
def stream():
    """Server-sent events: devices changed since the screen's cursor, every 2 s for 25 s; then the browser
    reconnects (retry) with Last-Event-ID. Past DISPATCH_SSE_MAX_HELD streams per process a screen gets one
    tick per request (a long poll), so open screens never take every web worker thread."""
    org_ids = set(
        db.session.scalars(select(Organisation.id).where(scope_for(current_user).org_clause(Organisation.id)))
    )
    since = request.args.get("since", type=float) or request.headers.get("Last-Event-ID", type=float) or 0.0
    app = current_app._get_current_object()
    every = app.config.get("DISPATCH_SSE_EVERY", SSE_EVERY)
    db.session.close()

    # A held stream keeps a web worker thread: only a few per process are held; the others answer one tick
    # and close, and the browser comes back in `retry` ms with its Last-Event-ID (a long poll, same data).
    with _SNAPSHOT_LOCK:
        held = _HELD["n"] < app.config.get("DISPATCH_SSE_MAX_HELD", SSE_MAX_HELD)
        _HELD["n"] += int(held)

    def gen():
        try:
            yield from ticks()
        finally:
            if held:
                with _SNAPSHOT_LOCK:
                    _HELD["n"] -= 1

    def ticks():
        cursor = datetime.fromtimestamp(since, tz=UTC) if since else None
        yield f"retry: {1000 if held else int(every * 1000)}\n\n"
        end = time.monotonic() + (app.config.get("DISPATCH_SSE_SECONDS", SSE_SECONDS) if held else 0)
        while True:
            rows = [
                r
                for r in _snapshot(every / 2)
                if r[0] in org_ids and (cursor is None or (r[1] is not None and r[1] > cursor))
            ]
            if rows:
                cursor = max((r[1] for r in rows if r[1]), default=cursor)
                ts = cursor.timestamp() if cursor else 0
                yield f"id: {ts}\nevent: positions\ndata: [{','.join(r[2] for r in rows)}]\n\n"
            if time.monotonic() >= end:
                return
            time.sleep(every)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(gen()), mimetype="text/event-stream", headers=headers)


@bp.get("/locate")
@permission_required(*READ)
def locate():
    """Quick locate by name, code or address: devices, enterprises, imported points."""
    q = (request.args.get("q") or "").strip()
    if len(q) < 1:
        return jsonify(results=[])
    out = []
    for d in db.session.scalars(
        visible_devices()
        .where(or_(Device.name.contains(q), Device.code.contains(q), Device.plate.contains(q)))
        .where(Device.retired_at.is_(None))
        .limit(10)
    ):
        out.append({"type": d.kind_label, "name": d.name, "code": d.code, "lon": d.longitude, "lat": d.latitude})
    scope = scope_for(current_user)
    for e in db.session.scalars(
        select(Enterprise)
        .where(
            or_(Enterprise.name.contains(q), Enterprise.credit_code.contains(q), Enterprise.address.contains(q)),
            Enterprise.longitude.is_not(None),
            scope.org_clause(Enterprise.org_id),
        )
        .limit(10)
    ):
        out.append(
            {
                "type": "企业",
                "name": e.name,
                "code": e.credit_code,
                "lon": e.longitude,
                "lat": e.latitude,
                "address": e.address or "",
            }
        )
    for lyr in db.session.scalars(select(MapLayer)):
        for f in lyr.features:
            if q in f["name"] and len(out) < 30:
                out.append({"type": lyr.name, "name": f["name"], "code": "", "lon": f["lon"], "lat": f["lat"]})
    return jsonify(results=[r for r in out if r["lon"] is not None][:30])


def _point() -> tuple[float, float]:
    try:
        lon = float(request.values.get("lon") if request.values.get("lon") is not None else request.json["lon"])
        lat = float(request.values.get("lat") if request.values.get("lat") is not None else request.json["lat"])
    except (TypeError, ValueError, KeyError) as exc:
        raise BadRequest("经纬度不正确") from exc
    if not (120.5 <= lon <= 122.5 and 30.4 <= lat <= 32.0):
        raise BadRequest("经纬度超出上海范围")
    return lon, lat


@bp.get("/suggest")
@permission_required(*COMMAND)
def suggest():
    lon, lat = _point()
    return jsonify(units=services.suggest(lon, lat))


@bp.post("/dispatch")
@permission_required(*COMMAND)
def dispatch():
    body = request.get_json(silent=True) or {}
    try:
        lon, lat = float(body["lon"]), float(body["lat"])
        device_id = int(body["device_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed("调度参数不完整：需要事件位置和调度单元") from exc
    rec = services.create(
        current_user,
        event_kind=str(body.get("event_kind") or "manual"),
        event_ref=body.get("event_ref"),
        title=str(body.get("title") or ""),
        lon=lon,
        lat=lat,
        device_id=device_id,
    )
    db.session.commit()
    return jsonify(record=_record_json(rec)), 201


def _device_for_video(device_id: int) -> Device:
    dev = db.session.scalar(visible_devices().where(Device.id == device_id, Device.retired_at.is_(None)))
    if dev is None:
        raise NotFound("设备不存在、已退役或不在您的数据范围内")
    return dev


def _gateway_failure(dev: Device, exc: gateway.GatewayError):
    dev.gateway_status = exc.message[:200]
    if exc.kind in ("gone", "offline"):
        dev.online = False
    db.session.commit()  # the device's status is worth keeping; nothing else changed
    return jsonify(code="gateway_error", kind=exc.kind, message=exc.message), 502


@bp.post("/devices/<int:device_id>/live")
@permission_required(*READ)
def live(device_id: int):
    dev = _device_for_video(device_id)
    try:
        gateway.from_config(current_app.config).live_url(dev.code)
    except gateway.GatewayError as exc:
        return _gateway_failure(dev, exc)
    return jsonify(url=f"/dispatch/api/hls/{dev.id}/index.m3u8")


@bp.post("/devices/<int:device_id>/call")
@permission_required(*COMMAND)
def call_start(device_id: int):
    dev = _device_for_video(device_id)
    try:
        res = gateway.from_config(current_app.config).start_call(dev.code)
    except gateway.GatewayError as exc:
        return _gateway_failure(dev, exc)
    return jsonify(call_id=res["call_id"], url=f"/dispatch/api/hls/{dev.id}/index.m3u8")


@bp.post("/devices/<int:device_id>/call/<call_id>/stop")
@permission_required(*COMMAND)
def call_stop(device_id: int, call_id: str):
    dev = _device_for_video(device_id)
    client = gateway.from_config(current_app.config)
    try:
        res = client.stop_call(call_id)
        link = db.session.get(DispatchRecord, request.args.get("dispatch", type=int) or 0)
        link_id = link.id if link is not None and link.device_id == dev.id else None  # only its own dispatch
        recs = video.sync(client, only_id=res.get("recording_id"), dispatch_id=link_id)
    except gateway.GatewayError as exc:
        return _gateway_failure(dev, exc)
    db.session.commit()
    return jsonify(recordings=[{"id": r.id, "size": r.size, "sm3": r.sm3} for r in recs])


@bp.get("/hls/<int:device_id>/<name>")
@permission_required(*READ)
def hls(device_id: int, name: str):
    """The live stream through the app (the browser never talks to the gateway)."""
    dev = _device_for_video(device_id)
    if not (name == "index.m3u8" or (name.endswith(".ts") and name[:-3].replace("index", "").isdigit())):
        raise NotFound("没有这个视频分片")
    client = gateway.from_config(current_app.config)
    try:
        body = client._request("GET", f"/hls/{dev.code}/{name}", raw=True)
    except gateway.GatewayError as exc:
        return jsonify(code="gateway_error", message=exc.message), 502
    ctype = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
    return Response(body, 200, {"Content-Type": ctype, "Cache-Control": "no-cache"})


@hook_bp.post("/webhook")
def webhook():
    """Status changes (and position batches) pushed by the gateway, signed with the shared secret."""
    body = request.get_data(cache=False)
    if not gateway.verify_signature(
        current_app.config["GATEWAY_WEBHOOK_SECRET"], body, request.headers.get("X-Gateway-Signature")
    ):
        return jsonify(code="unauthorized", message="签名无效"), 401
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return jsonify(code="bad_request", message="请求体不是合法的 JSON"), 400
    n_status = devices.apply_status_events(doc.get("events") or [])
    n_pos = devices.apply_positions(doc.get("positions") or [])
    db.session.commit()
    return jsonify(status=n_status, positions=n_pos)
