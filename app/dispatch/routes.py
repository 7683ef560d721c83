"""指挥调度 pages: the one screen, the device registry and bindings, dispatch records, recordings, layers."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import User
from app.dispatch import devices, layers, video
from app.dispatch.models import DEVICE_KINDS, Device, DispatchRecord, MapLayer, Recording
from app.enterprises.params import parse_int
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.portal.paging import paginate
from app.security.access import permission_required
from app.security.scope import scope_for
from app.storage import StorageError, get_storage, parse_range

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")
READ = ("clue.dispatch", "enterprise.read")
COMMAND = ("clue.dispatch",)
ADMIN = ("clue.dispatch", "org.admin")
MAP_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "font-src 'self' data:; media-src 'self' blob:; worker-src 'self' blob:; frame-ancestors 'none'; "
    "object-src 'none'"
)


def visible_devices():
    return select(Device).where(scope_for(current_user).org_clause(Device.org_id))


def _device(device_id: int) -> Device:
    dev = db.session.scalar(visible_devices().where(Device.id == device_id))
    if dev is None:
        raise NotFound("设备不存在或不在您的数据范围内")
    return dev


@bp.get("/")
@permission_required(*READ)
def screen():
    resp = Response(render_template("dispatch/screen.html", can_command=current_user.can("clue.dispatch")))
    resp.headers["Content-Security-Policy"] = MAP_CSP
    return resp


@bp.get("/devices")
@permission_required(*READ)
def device_list():
    retired = request.args.get("retired") == "1"
    stmt = visible_devices().where(Device.retired_at.is_not(None) if retired else Device.retired_at.is_(None))
    kind = request.args.get("kind", "")
    if kind in DEVICE_KINDS:
        stmt = stmt.where(Device.kind == kind)
    q = (request.args.get("q") or "").strip()
    if q:
        stmt = stmt.where(Device.name.contains(q) | Device.code.contains(q))
    page = paginate(stmt.order_by(Device.kind, Device.code), request.args.get("page"))
    holders = devices.holder_map([d.id for d in page.items])
    all_devs = list(db.session.scalars(visible_devices().where(Device.retired_at.is_(None))))
    orgs = db.session.scalars(
        select(Organisation).where(scope_for(current_user).org_clause(Organisation.id)).order_by(Organisation.path)
    ).all()
    return render_template(
        "dispatch/devices.html",
        page=page,
        holders=holders,
        kinds=DEVICE_KINDS,
        kind=kind,
        q=q,
        retired=retired,
        availability=devices.availability(all_devs),
        orgs=orgs,
    )


@bp.post("/devices")
@permission_required(*ADMIN)
def device_register():
    org = db.session.get(Organisation, parse_int(request.form.get("org_id"), field="org_id", label="所属单位") or 0)
    if org is None or not scope_for(current_user).contains(org):
        raise ValidationFailed("请选择所属单位", errors={"org_id": "请选择所属单位"})
    dev = devices.register_device(
        code=request.form.get("code", ""),
        kind=request.form.get("kind", ""),
        name=request.form.get("name", ""),
        org=org,
        plate=request.form.get("plate"),
        model=request.form.get("model"),
        actor=current_user,
    )
    db.session.commit()
    flash(f"已登记 {dev.name}", "success")
    return redirect(url_for("dispatch.device_detail", device_id=dev.id))


@bp.get("/devices/<int:device_id>")
@permission_required(*READ)
def device_detail(device_id: int):
    dev = _device(device_id)
    people = db.session.scalars(
        select(User).where(User.org_id == dev.org_id, User.status == "active").order_by(User.name)
    ).all()
    recs = db.session.scalars(
        select(Recording).where(Recording.device_id == dev.id).order_by(Recording.ended_at.desc()).limit(20)
    ).all()
    return render_template(
        "dispatch/device.html",
        dev=dev,
        history=devices.history(dev),
        current=devices.open_binding_of_device(dev.id),
        people=people,
        recordings=recs,
    )


@bp.post("/devices/<int:device_id>/bind")
@permission_required(*ADMIN)
def device_bind(device_id: int):
    dev = _device(device_id)
    user = db.session.get(User, parse_int(request.form.get("user_id"), field="user_id", label="人员") or 0)
    if user is None or not scope_for(current_user).contains(user.org):
        raise ValidationFailed("请选择要绑定的人员", errors={"user_id": "请选择要绑定的人员"})
    devices.bind(dev, user, actor=current_user, note=request.form.get("note"))
    db.session.commit()
    flash(f"{dev.name} 已绑定 {user.name}", "success")
    return redirect(url_for("dispatch.device_detail", device_id=dev.id))


@bp.route("/devices/<int:device_id>/retire", methods=["GET", "POST"])
@permission_required(*ADMIN)
def device_retire(device_id: int):
    """退役: a confirmation page with the reason; the device keeps its history (bindings, records, recordings)."""
    dev = _device(device_id)
    errors: dict = {}
    if request.method == "POST":
        try:
            devices.retire(dev, actor=current_user, reason=request.form.get("reason"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors or {"reason": exc.message}
        else:
            db.session.commit()
            flash(f"{dev.name} 已退役，历史记录保留", "success")
            return redirect(url_for("dispatch.device_detail", device_id=dev.id))
    return render_template(
        "dispatch/retire.html",
        dev=dev,
        current=devices.open_binding_of_device(dev.id),
        errors=errors,
        reason=request.form.get("reason", ""),
    ), (422 if errors else 200)


@bp.post("/devices/<int:device_id>/unbind")
@permission_required(*ADMIN)
def device_unbind(device_id: int):
    dev = _device(device_id)
    devices.unbind(dev, actor=current_user)
    db.session.commit()
    flash(f"{dev.name} 已解绑", "success")
    return redirect(url_for("dispatch.device_detail", device_id=dev.id))


@bp.get("/records")
@permission_required(*READ)
def record_list():
    stmt = select(DispatchRecord).where(scope_for(current_user).org_clause(DispatchRecord.org_id))
    page = paginate(stmt.order_by(DispatchRecord.id.desc()), request.args.get("page"))
    return render_template("dispatch/records.html", page=page)


def _visible_recordings():
    return (
        select(Recording)
        .join(Device, Device.id == Recording.device_id)
        .where(scope_for(current_user).org_clause(Device.org_id))
    )


def _recording(recording_id: int) -> Recording:
    rec = db.session.scalar(_visible_recordings().where(Recording.id == recording_id))
    if rec is None:
        raise NotFound("录像不存在或不在您的数据范围内")
    return rec


@bp.get("/recordings")
@permission_required(*READ)
def recording_list():
    page = paginate(_visible_recordings().order_by(Recording.ended_at.desc()), request.args.get("page"))
    return render_template("dispatch/recordings.html", page=page)


@bp.get("/recordings/<int:recording_id>")
@permission_required(*READ)
def recording_detail(recording_id: int):
    rec = _recording(recording_id)
    resp = Response(render_template("dispatch/recording.html", rec=rec))
    resp.headers["Content-Security-Policy"] = MAP_CSP
    return resp


@bp.get("/recordings/<int:recording_id>/media")
@permission_required(*READ)
def recording_media(recording_id: int):
    """The bytes with HTTP range requests (206), so a player can seek without the whole file."""
    rec = _recording(recording_id)
    if rec.deleted_at is not None:
        raise NotFound("录像已超过保存期限并已删除")
    store = get_storage()
    size = store.size(rec.storage_key)
    headers = {"Accept-Ranges": "bytes", "Content-Type": rec.content_type, "Cache-Control": "private, no-store"}
    try:
        rng = parse_range(request.headers.get("Range"), size)
    except StorageError as exc:
        return Response(exc.args[0], 416, {**headers, "Content-Range": f"bytes */{size}"})
    if rng is None:
        return Response(store.get(rec.storage_key), 200, {**headers, "Content-Length": str(size)})
    start, end = rng
    body = store.open_range(rec.storage_key, start, end)
    return Response(body, 206, {**headers, "Content-Range": f"bytes {start}-{end}/{size}"})


@bp.post("/recordings/<int:recording_id>/inspection")
@permission_required(*COMMAND)
def recording_link(recording_id: int):
    rec = _recording(recording_id)
    inspection_id = parse_int(request.form.get("inspection_id"), field="inspection_id", label="检查记录编号")
    if not inspection_id:
        raise ValidationFailed("请填写检查记录编号", errors={"inspection_id": "请填写检查记录编号"})
    video.link_inspection(rec, inspection_id, actor=current_user)
    db.session.commit()
    flash("已关联检查记录", "success")
    return redirect(url_for("dispatch.recording_detail", recording_id=rec.id))


@bp.post("/recordings/<int:recording_id>/hold")
@permission_required(*COMMAND)
def recording_hold(recording_id: int):
    rec = _recording(recording_id)
    video.set_hold(rec, request.form.get("hold") == "1", request.form.get("reason"), actor=current_user)
    db.session.commit()
    flash("已设置保全" if rec.legal_hold else "已解除保全", "success")
    return redirect(url_for("dispatch.recording_detail", recording_id=rec.id))


@bp.get("/layers")
@permission_required(*READ)
def layer_list():
    rows = db.session.scalars(select(MapLayer).order_by(MapLayer.id.desc())).all()
    return render_template("dispatch/layers.html", layers=rows, errors=[])


@bp.post("/layers")
@permission_required(*COMMAND)
def layer_import():
    upload = request.files.get("file")
    data = upload.read(10 * 1024 * 1024 + 1) if upload else b""
    if len(data) > 10 * 1024 * 1024:
        raise ValidationFailed("文件超过 10 MB")
    try:
        layer = layers.import_layer(
            name=request.form.get("name", ""),
            filename=upload.filename if upload else "",
            data=data,
            actor=current_user,
            partial=request.form.get("partial") == "1",
        )
    except ValidationFailed as exc:
        db.session.rollback()
        rows = db.session.scalars(select(MapLayer).order_by(MapLayer.id.desc())).all()
        errors = exc.errors.get("rows") or list(exc.errors.values())
        return render_template("dispatch/layers.html", layers=rows, errors=errors, message=exc.message), 422
    db.session.commit()
    skipped = getattr(layer, "ducha_skipped", [])
    flash(f"已导入 {len(layer.features)} 个点" + (f"，跳过 {len(skipped)} 行" if skipped else ""), "success")
    return redirect(url_for("dispatch.layer_list"))
