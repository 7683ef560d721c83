"""Process instances: the instance, history, diagram, 流程预测, 撤回/拿回, 终止, comments, attachments, 抄送."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import select

from app.api import body, bp
from app.api.schemas import (
    ActResult,
    AttachmentList,
    AttachmentSchema,
    CommentInput,
    CommentList,
    CommentSchema,
    Diagram,
    EventList,
    InstanceDetail,
    Prediction,
    ReasonInput,
    UsersInput,
)
from app.auth.models import Role, User
from app.engine import runtime
from app.engine.models import INSTANCE_STATUS, ProcessInstance
from app.errors import ValidationFailed
from app.extensions import db
from app.inbox import acts, collab, printing, services
from app.inbox.queries import can_act
from app.names import field_labels
from app.orgs.models import Organisation
from app.security.access import permission_required
from app.storage import files

VIEWERS = ("inbox.use", "process.admin")


def open_tasks(instance: ProcessInstance, user) -> list[dict]:
    """The instance's current rows with names (people and roles), and whether the caller may act."""
    rows = services.open_rows(instance)
    roles = {r.candidate_role for r in rows if r.candidate_role}
    names = dict(db.session.execute(select(Role.code, Role.name).where(Role.code.in_(roles))).all()) if roles else {}
    return [
        {
            "id": r.id,
            "step": r.step,
            "step_name": r.step_name,
            "status": r.status,
            "assignee_name": r.assignee.name if r.assignee_id else None,
            "candidate_role": r.candidate_role,
            "candidate_role_name": names.get(r.candidate_role) if r.candidate_role else None,
            "due_at": r.due_at,
            "mine": can_act(user, r),
        }
        for r in rows
    ]


def instance_detail(instance: ProcessInstance, user) -> dict:
    """The instance as InstanceDetail loads it (not yet serialised)."""
    initiator = db.session.get(User, instance.initiator_id) if instance.initiator_id else None
    org = db.session.get(Organisation, instance.org_id)
    return {
        **{
            c: getattr(instance, c)
            for c in ("id", "number", "title", "process_id", "status", "started_at", "summary", "ended_at")
        },
        "end_reason": instance.end_reason,
        "process_name": instance.spec_info.name,
        "status_label": INSTANCE_STATUS.get(instance.status, instance.status),
        "initiator_name": initiator.name if initiator else None,
        "org_name": org.name if org else None,
        "current_steps": list(instance.current_steps or []),
        "tasks": open_tasks(instance, user),
        "data": business_data(instance),
    }


def business_data(instance: ProcessInstance) -> list[dict]:
    """The fields of the process's forms with their titles (app/names.py), raw value and display text;
    engine-internal keys are left out and personal data masked, as on the print page."""
    labels = field_labels(instance)
    data = runtime.instance_data(runtime.load(instance))
    out = []
    for key, value in sorted(data.items()):
        if key.startswith("_") or not labels.known(key):
            continue  # ids, urls and codes the processes keep for themselves: not business data
        if any(hint in key for hint in printing.SENSITIVE_HINTS):
            value = printing.mask(str(value))
        out.append({"key": key, "label": labels.key(key), "value": value, "text": labels.value(key, value)})
    return out


def _visible(instance_id: int) -> ProcessInstance:
    return services.visible_instance(instance_id, current_user)


@bp.get("/instances/<int:instance_id>")
@permission_required(*VIEWERS)
def show_instance(instance_id: int):
    """One instance.
    ---
    get:
      tags: [流程实例]
      summary: 流程实例详情
      description: 状态、标题、流程编号、当前步骤与待办（含调用者能否办理），以及调用者可见的业务数据（敏感项脱敏，
        与打印页相同）。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 流程实例, content: {application/json: {schema: InstanceDetail}}}
    """
    return InstanceDetail().dump(instance_detail(_visible(instance_id), current_user))


@bp.get("/instances/<int:instance_id>/history")
@permission_required(*VIEWERS)
def history(instance_id: int):
    """History.
    ---
    get:
      tags: [流程实例]
      summary: 流程历史
      description: 每一步谁在何时做了什么（发起、提交、审批、退回、转办、评论……），按时间顺序。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 历史, content: {application/json: {schema: EventList}}}
    """
    return EventList().dump({"items": services.history(_visible(instance_id))})


@bp.get("/instances/<int:instance_id>/diagram")
@permission_required(*VIEWERS)
def diagram(instance_id: int):
    """Diagram with markers.
    ---
    get:
      tags: [流程实例]
      summary: 流程图
      description: 流程图的 BPMN XML（无图形信息的文件自动布局，泳道显示角色名称），以及已完成、当前、
        出错的元素和已经过的连线。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 流程图, content: {application/json: {schema: Diagram}}}
    """
    return Diagram().dump(services.diagram(_visible(instance_id)))


@bp.get("/instances/<int:instance_id>/prediction")
@permission_required(*VIEWERS)
def prediction(instance_id: int):
    """流程预测.
    ---
    get:
      tags: [流程实例]
      summary: 流程预测
      description: 按当前数据向后推演（假定每步通过）的后续步骤及办理人；不保存任何数据。已结束的流程返回空列表。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 预测的步骤, content: {application/json: {schema: Prediction}}}
    """
    from app.engine.predict import predict

    return Prediction().dump({"items": predict(_visible(instance_id))})


def _acted(instance: ProcessInstance, message: str, status: int = 200):
    result = {"ok": True, "message": message, "instance": instance.id, "status": instance.status}
    db.session.commit()
    return ActResult().dump(result), status


# (path, verb, input schema, summary, description)
INSTANCE_ACTS = [
    ("withdraw", "withdraw", None, "撤回", "最近一步的办理人在下一步无人处理前撤回，任务回到本人。"),
    ("reclaim", "reclaim", None, "拿回", "上一步的审批人在下一步无人处理前拿回。"),
    ("terminate", "terminate", ReasonInput, "终止", "发起人或流程管理员终止流程，须填写原因。"),
    ("cc", "cc", UsersInput, "抄送", "把流程抄送给他人。"),
]


def _instance_act_view(path: str, verb: str, schema, summary: str, description: str):
    def view(instance_id: int):
        instance = _visible(instance_id)
        payload = body(schema()) if schema is not None else {}
        given = acts.ActInput(comment=payload.get("reason") or payload.get("comment"), users=payload.get("users", []))
        return _acted(instance, acts.perform_on_instance(instance, current_user, verb, given))

    request_body = (
        f"  requestBody: {{required: true, content: {{application/json: {{schema: {schema.__name__}}}}}}}\n"
        if schema is not None
        else ""
    )
    view.__name__ = f"instance_{verb}"
    view.__doc__ = (
        f"{summary}.\n---\npost:\n  tags: [流程实例]\n  summary: {summary}\n  description: {description}\n"
        "  parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]\n"
        + request_body
        + "  responses:\n    200: {description: 已处理, content: {application/json: {schema: ActResult}}}\n"
    )
    rule = f"/instances/<int:instance_id>/{path}"
    bp.add_url_rule(rule, view.__name__, permission_required("inbox.use")(view), methods=["POST"])


for _spec in INSTANCE_ACTS:
    _instance_act_view(*_spec)


@bp.get("/instances/<int:instance_id>/comments")
@permission_required(*VIEWERS)
def list_comments(instance_id: int):
    """Comments.
    ---
    get:
      tags: [流程实例]
      summary: 评论列表
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 评论, content: {application/json: {schema: CommentList}}}
    """
    return CommentList().dump({"items": services.comments(_visible(instance_id))})


@bp.post("/instances/<int:instance_id>/comments")
@permission_required("inbox.use")
def add_comment(instance_id: int):
    """Comment.
    ---
    post:
      tags: [流程实例]
      summary: 发表评论
      description: 评论记入流程历史，1 到 2000 字。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      requestBody: {required: true, content: {application/json: {schema: CommentInput}}}
      responses:
        201: {description: 已发表, content: {application/json: {schema: CommentSchema}}}
    """
    instance = _visible(instance_id)
    payload = body(CommentInput())
    item = collab.add_comment(instance, current_user, payload["body"])
    db.session.flush()
    result = CommentSchema().dump(item)
    db.session.commit()
    return result, 201


@bp.get("/instances/<int:instance_id>/attachments")
@permission_required(*VIEWERS)
def list_attachments(instance_id: int):
    """Attachments.
    ---
    get:
      tags: [流程实例]
      summary: 附件列表
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 附件, content: {application/json: {schema: AttachmentList}}}
    """
    return AttachmentList().dump({"items": services.attachments(_visible(instance_id))})


@bp.post("/instances/<int:instance_id>/attachments")
@permission_required("inbox.use")
def upload_attachment(instance_id: int):
    """Upload.
    ---
    post:
      tags: [流程实例]
      summary: 上传附件
      description: multipart/form-data，文件放在 file 字段。按文件内容识别类型（PDF、图片、Office 文档、压缩包、
        音视频、文本），有大小上限；保存 SM3 摘要。
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, required: [file], properties: {file: {type: string, format: binary}}}
      responses:
        201: {description: 已上传, content: {application/json: {schema: AttachmentSchema}}}
    """
    instance = _visible(instance_id)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise ValidationFailed("请选择要上传的文件", errors={"file": "请选择文件"})
    item = collab.store_attachment(instance, current_user, filename=storage.filename, data=storage.read())
    result = AttachmentSchema().dump(item)
    db.session.commit()
    return result, 201


@bp.get("/attachments/<int:attachment_id>")
@permission_required(*VIEWERS)
def download_attachment(attachment_id: int):
    """Download.
    ---
    get:
      tags: [流程实例]
      summary: 下载附件
      description: 附件原文件（Content-Type 为识别出的类型）。看不到其流程的附件返回 404。
      parameters: [{in: path, name: attachment_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 文件, content: {"*/*": {schema: {type: string, format: binary}}}}
    """
    item = collab.get_attachment(attachment_id)
    services.visible_instance(item.instance_id, current_user)
    return files.send(
        files.UPLOADS + item.path,
        mimetype=item.content_type,
        download_name=item.filename,
        missing="附件文件不存在或已被移除",
    )
