"""Processes: which the caller may start, with their start forms, and starting an instance."""

from __future__ import annotations

from flask_login import current_user

from app.api import body, bp
from app.api.instances import instance_detail
from app.api.schemas import ProcessList, ProcessSchema, StartInput, StartResult
from app.engine import forms
from app.errors import NotFound
from app.extensions import db
from app.inbox import actions, acts, services
from app.security.access import permission_required


def _process(model) -> dict:
    schema, ui = services.start_form(model)
    return {
        "process_id": model.process_id,
        "name": model.name,
        "category": model.category,
        "description": model.description,
        "start_form": schema or {},
        "start_ui": ui or {},
    }


def _startable(process_id: str):
    model = next((m for m in services.startable(current_user) if m.process_id == process_id), None)
    if model is None:
        raise NotFound("流程不存在、未部署或您不能发起")
    return model


@bp.get("/processes")
@permission_required("inbox.use")
def list_processes():
    """Startable processes.
    ---
    get:
      tags: [流程]
      summary: 可发起的流程
      description: 调用者可以发起的流程（已部署、已启用、调用者的角色在发起角色之内），每个带发起表单的 JSON Schema。
        线索核查等由业务模块登记的流程不在此列（线索见 /clues）。
      responses:
        200: {description: 流程列表, content: {application/json: {schema: ProcessList}}}
    """
    return ProcessList().dump({"items": [_process(m) for m in services.startable(current_user)]})


@bp.get("/processes/<process_id>")
@permission_required("inbox.use")
def show_process(process_id: str):
    """One startable process.
    ---
    get:
      tags: [流程]
      summary: 流程及其发起表单
      parameters: [{in: path, name: process_id, required: true, schema: {type: string}}]
      responses:
        200: {description: 流程, content: {application/json: {schema: ProcessSchema}}}
    """
    return ProcessSchema().dump(_process(_startable(process_id)))


@bp.post("/processes/<process_id>/instances")
@permission_required("inbox.use")
def start(process_id: str):
    """Start an instance.
    ---
    post:
      tags: [流程]
      summary: 发起流程
      description: 按发起表单校验 data（错误逐字段以中文返回，422），发起流程，
        返回新实例及第一批待办（mine 表示调用者可以办理）。
      parameters: [{in: path, name: process_id, required: true, schema: {type: string}}]
      requestBody: {required: true, content: {application/json: {schema: StartInput}}}
      responses:
        201: {description: 已发起, content: {application/json: {schema: StartResult}}}
    """
    model = _startable(process_id)
    payload = body(StartInput())
    schema, _ui = services.start_form(model)
    data = forms.check(schema, payload["data"]) if schema else {}
    instance = actions.start(process_id, actor=current_user, data=data)
    db.session.flush()
    detail = instance_detail(instance, current_user)
    result = StartResult().dump(
        {"message": acts.started_message(instance), "instance": detail, "tasks": detail["tasks"]}
    )
    db.session.commit()
    return result, 201
