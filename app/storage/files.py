"""The product's files in the store: write with the transaction, read, serve as a download, delete.

Keys by kind (the database rows keep the part after the prefix, as they always did):

- ``uploads/<Attachment.path>`` (process and clue attachments, form uploads, photos),
  ``uploads/knowledge/<entry>/<file>`` (knowledge base), ``uploads/exchange/<group>/<sha256>`` (SOE files);
- ``documents/<Document.path>``: generated PDFs (reports, periodic statistics);
- ``exports/<user id>-<token>.<xlsx|csv>``: background exports.

`put_new` removes the object again if the current transaction rolls back (app/reports/txn.py), so a
registration that fails after storing one upload leaves nothing behind. `send` answers a download: from
the filesystem through nginx (``X-Accel-Redirect`` when DUCHA_STORAGE_X_ACCEL names the internal location)
or `send_file`; from S3 streamed in chunks (small objects are read whole). A key the store cannot find
answers 404 with a Chinese message. Access checks stay in the routes, before these calls.
"""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response, current_app, send_file

from app.errors import NotFound
from app.reports.txn import after_commit, after_rollback
from app.storage import BadKey, ObjectMissing, get_storage

UPLOADS = "uploads/"
DOCUMENTS = "documents/"
EXPORTS = "exports/"
MISSING = "文件不存在或已被移除"
STREAM_MIN_BYTES = 8 * 1024 * 1024  # smaller objects are read whole: no connection held by the response


def put_new(key: str, data: bytes, content_type: str = "application/octet-stream") -> int:
    """Store bytes for the current database transaction: the object goes again if it rolls back."""
    store = get_storage()
    size = store.put(key, data, content_type)
    after_rollback(lambda: store.delete(key))
    return size


def delete_after_commit(key: str) -> None:
    """Delete an object once the current transaction commits (a superseded draft, a replaced file)."""
    store = get_storage()
    after_commit(lambda: store.delete(key))


def delete(key: str) -> bool:
    return get_storage().delete(key)


def exists(key: str) -> bool:
    try:
        return get_storage().exists(key)
    except BadKey:
        return False


def read(key: str, missing: str = MISSING) -> bytes:
    """The object's bytes; NotFound (404, `missing`) when the store has no such object or the key is bad."""
    try:
        return get_storage().get(key)
    except (ObjectMissing, BadKey) as exc:  # a tampered row must not read anything either
        raise NotFound(missing) from exc


def send(
    key: str,
    *,
    mimetype: str,
    download_name: str,
    as_attachment: bool = True,
    missing: str = MISSING,
    max_age: int | None = None,
) -> Response:
    """A download response for one object (the caller has checked access)."""
    store = get_storage()
    try:
        path = store.local_path(key)
        if path is None:
            size = store.size(key)
    except (ObjectMissing, BadKey) as exc:
        raise NotFound(missing) from exc
    extra = {} if max_age is None else {"max_age": max_age}
    if path is not None:
        accel = current_app.config.get("STORAGE_X_ACCEL")
        root = getattr(getattr(store, "primary", store), "root", None)
        if accel and root is not None and path.resolve().is_relative_to(root.resolve()):
            resp = send_file(
                io.BytesIO(b""), mimetype=mimetype, as_attachment=as_attachment, download_name=download_name, **extra
            )
            resp.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(key)
            resp.headers.pop("Content-Length", None)
            return resp
        size = path.stat().st_size
        if size >= _stream_min():
            return send_file(path, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name, **extra)
        body = io.BytesIO(path.read_bytes())  # read whole: no file handle left open after the response
        return send_file(body, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name, **extra)
    try:
        if size < _stream_min():
            body = io.BytesIO(store.get(key))
        else:
            body = store.open_stream(key)  # closed by werkzeug's file wrapper when the response closes
    except ObjectMissing as exc:
        raise NotFound(missing) from exc
    resp = send_file(body, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name, **extra)
    resp.content_length = size
    return resp


def _stream_min() -> int:
    return int(current_app.config.get("STORAGE_STREAM_MIN_BYTES") or STREAM_MIN_BYTES)
