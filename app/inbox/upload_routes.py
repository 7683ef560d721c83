"""Evidence uploads from the task page, one file per request (app/inbox/uploads.py); answers JSON."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from app.errors import ValidationFailed
from app.extensions import db
from app.inbox import services, uploads
from app.security.access import permission_required

bp = Blueprint("uploads", __name__, url_prefix="/inbox")


@bp.post("/tasks/<int:task_id>/uploads")
@permission_required("inbox.use")
def upload(task_id: int):
    """One file for a field of the task's form; the same ``key`` again returns the stored file (200)."""
    row = services.visible_task(task_id, current_user)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise ValidationFailed("请选择要上传的文件", errors={"file": "没有文件"})
    attachment, seen = uploads.upload(
        row,
        current_user,
        filename=storage.filename,
        data=storage.read(),
        field=(request.form.get("field") or "").strip(),
        meta=uploads.capture_meta(request.form),
    )
    db.session.commit()
    return jsonify(uploads.as_json(attachment) | {"duplicate": seen}), (200 if seen else 201)
