"""SOE group reporting API (R2.6.4) under /api/v1/exchange/soe: structure, inspection records and
attachments, with an API token of the group's service account (or a group account's session).
A submission is all or nothing: 422 with the row-level report in Chinese, nothing stored."""

from __future__ import annotations

import json

from flask import request
from flask_login import current_user

from app.api import bp
from app.errors import BadRequest, ValidationFailed
from app.exchange.sources import soe
from app.extensions import db
from app.security.access import permission_required

SUBMIT = "exchange.submit"


def _items() -> list:
    try:
        payload = json.loads(request.get_data(cache=True) or b"{}")
    except ValueError as exc:
        raise BadRequest("请求体不是有效的 JSON") from exc
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise BadRequest('请求体应为 {"items": [...]}')
    if len(items) > soe.MAX_ROWS:
        raise ValidationFailed(f"一次最多报送 {soe.MAX_ROWS} 条")
    return items


def _list(dataset: str) -> dict:
    soe.group_of(current_user)
    rows = db.session.scalars(soe.visible_records(current_user, dataset).limit(500)).all()
    return {"items": [{**r.data, "version": r.version} for r in rows], "count": len(rows)}


def _submit(dataset: str):
    outcome = soe.submit(current_user, dataset, _items(), channel="api")
    if outcome.ok:
        db.session.commit()
        return {"submission_id": outcome.submission.id, "accepted": outcome.submission.accepted}
    db.session.rollback()
    kept = soe.record_refusal(outcome)
    db.session.commit()
    return {
        "code": "invalid",
        "message": f"校验未通过（{len(outcome.problems)} 处问题），本次报送未入库",
        "submission_id": kept.id,
        "problems": outcome.problems,
    }, 422


@bp.get("/exchange/soe/units")
@permission_required(SUBMIT)
def soe_units():
    """The caller's own group structure.
    ---
    get:
      tags: [数据交换]
      summary: 查询本集团已报送的架构
      responses:
        200: {description: 记录列表}
    """
    return _list("soe_unit")


@bp.get("/exchange/soe/inspections")
@permission_required(SUBMIT)
def soe_inspections():
    """The caller's own inspection records.
    ---
    get:
      tags: [数据交换]
      summary: 查询本单位已报送的检查记录
      responses:
        200: {description: 记录列表}
    """
    return _list("soe_inspection")


@bp.post("/exchange/soe/units")
@permission_required(SUBMIT)
def soe_submit_units():
    """Submit the group structure; all or nothing.
    ---
    post:
      tags: [数据交换]
      summary: 报送集团架构，整批校验，全部通过才入库
      responses:
        200: {description: 已入库}
        422: {description: 逐行校验报告}
    """
    return _submit("soe_unit")


@bp.post("/exchange/soe/inspections")
@permission_required(SUBMIT)
def soe_submit_inspections():
    """Submit inspection records; all or nothing.
    ---
    post:
      tags: [数据交换]
      summary: 报送检查记录，整批校验，全部通过才入库
      responses:
        200: {description: 已入库}
        422: {description: 逐行校验报告}
    """
    return _submit("soe_inspection")


@bp.post("/exchange/soe/attachments")
@permission_required(SUBMIT)
def soe_attachment():
    """Attach a file to one of the caller's inspection records.
    ---
    post:
      tags: [数据交换]
      summary: 上传检查记录附件（multipart：record_no, file）
      responses:
        200: {description: 已保存}
    """
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("请上传附件", errors={"file": "请选择文件"})
    record = soe.save_attachment(current_user, request.form.get("record_no", ""), file.filename or "", file.read())
    db.session.commit()
    return {"file_id": record.source_id, "sha256": record.data["sha256"], "size": record.data["size"]}
