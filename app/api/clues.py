"""Clues: the registration form, registering a clue (which starts its verification process), a clue."""

from __future__ import annotations

from flask_login import current_user

from app.api import body, bp
from app.api.instances import instance_detail
from app.api.schemas import ClueInput, ClueResult, ClueSchema, FormDoc
from app.clues import documents
from app.clues import services as clue_services
from app.clues.routes import CLUE_PERMISSIONS
from app.engine import forms
from app.engine.models import ProcessInstance
from app.extensions import db
from app.security.access import permission_required


def _clue(clue) -> dict:
    return {
        **{
            c: getattr(clue, c)
            for c in ("id", "number", "status", "status_label", "outcome", "priority", "enterprise_name")
        },
        "instance_id": clue.instance_id,
        "registered_at": clue.registered_at,
        "documents": documents.documents_of(clue),
    }


@bp.get("/clues/register-form")
@permission_required("clue.register")
def clue_form():
    """The registration form.
    ---
    get:
      tags: [线索核查]
      summary: 线索登记表单
      description: 登记线索所填的表单（JSON Schema，所属区的可选值已填入）。
      responses:
        200: {description: 表单, content: {application/json: {schema: FormDoc}}}
        404: NotFound
    """
    schema, ui = clue_services.register_schema()
    return FormDoc().dump({"form": schema, "ui": ui})


@bp.post("/clues")
@permission_required("clue.register")
def register_clue():
    """Register a clue.
    ---
    post:
      tags: [线索核查]
      summary: 登记线索
      description: 按登记表单校验 data，登记线索（举报人信息 SM4 加密保存）并发起线索核查流程（受理审批）。
        30 天内同一企业有内容相似的线索时返回 422 并列出疑似重复线索，核对后带 confirm_duplicate=true 再提交。
      requestBody: {required: true, content: {application/json: {schema: ClueInput}}}
      responses:
        201: {description: 已登记, content: {application/json: {schema: ClueResult}}}
        404: NotFound
    """
    payload = body(ClueInput())
    schema, _ui = clue_services.register_schema()
    data = forms.check(schema, payload["data"])
    try:
        clue = clue_services.register(current_user, data, confirm_duplicate=payload["confirm_duplicate"])
    except clue_services.DuplicateSuspected as exc:
        numbers = "、".join(d.clue.number or str(d.clue.id) for d in exc.duplicates if d.visible)
        exc.errors = {"confirm_duplicate": f"疑似重复线索：{numbers}" if numbers else "请确认"}
        raise
    instance = db.session.get(ProcessInstance, clue.instance_id)
    detail = instance_detail(instance, current_user)
    result = ClueResult().dump(
        {
            "message": f"线索已登记：{clue.number}，已提交受理审批",
            "clue": _clue(clue),
            "instance": detail,
            "tasks": detail["tasks"],
        }
    )
    db.session.commit()
    return result, 201


@bp.get("/clues/<int:clue_id>")
@permission_required(*CLUE_PERMISSIONS, "stats.read")
def show_clue(clue_id: int):
    """A clue.
    ---
    get:
      tags: [线索核查]
      summary: 线索详情
      description: 线索的编号、状态、结论、优先级、流程实例，以及生成的文书（调查单、调查报告：文号、签发状态、
        SM3 摘要、签发人）。
        保密规则与页面相同：办结前只有承办单位、登记人和市总队可见，其余一律 404。
      parameters: [{in: path, name: clue_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 线索, content: {application/json: {schema: ClueSchema}}}
    """
    return ClueSchema().dump(_clue(clue_services.get_visible(clue_id, current_user)))
