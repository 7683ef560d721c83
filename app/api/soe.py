"""监管指导建议 over the API: the threads the caller may see (the corps all, a group its own), one thread with its
messages and read receipts, and a reply: the group's 意见反馈, or the corps' review (办结 or 退回补充), done as
the caller's open step of the thread's soe_guidance process, by the same act as on the task page."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from app.api import body, bp, query, schema
from app.api.paging import Paged, page_body
from app.api.schemas import Input
from app.engine.models import ProcessInstance
from app.errors import Conflict
from app.extensions import db
from app.inbox import acts
from app.inbox.models import HumanTask
from app.inbox.queries import can_act
from app.inbox.services import open_rows
from app.portal.paging import paginate
from app.security.access import permission_required
from app.soe import guidance
from app.soe.models import GUIDANCE_STATUS, Guidance
from app.soe.routes import READ


class GuidanceQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.Str(
        load_default="",
        validate=validate.OneOf(
            ["", "overdue", *GUIDANCE_STATUS], error="应为 open、answered、returned、closed 或 overdue"
        ),
    )
    page = fields.Int(
        load_default=1, strict=False, validate=validate.Range(min=1, max=100000, error="页码应为 1 到 100000")
    )


class ReplyInput(Input):
    body = fields.Str(
        required=True,
        validate=validate.Length(min=2, max=4000, error="回复应为 2 到 4000 字"),
        error_messages={"required": "必填项", "null": "不能为空", "invalid": "应为文本"},
        metadata={"description": "集团：意见反馈；监管部门：审阅意见"},
    )
    close = fields.Bool(
        load_default=False,
        error_messages={"invalid": "应为 true 或 false"},
        metadata={"description": "监管部门审阅时：true 确认办结，false 退回集团补充（集团反馈时不用）"},
    )


class GuidanceBrief(Schema):
    id = fields.Int()
    title = fields.Str(metadata={"description": "标题"})
    group_id = fields.Int()
    group_name = fields.Str(attribute="group.name", metadata={"description": "国有集团"})
    status = fields.Str(
        metadata={"description": "open 待反馈 / answered 已反馈待审阅 / returned 退回补充 / closed 已办结"}
    )
    status_label = fields.Str()
    deadline = fields.Date(metadata={"description": "反馈期限"})
    overdue = fields.Method("_overdue", metadata={"description": "已超期未反馈"})
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    instance_id = fields.Int(allow_none=True)

    def _overdue(self, g) -> bool:
        return g["overdue"] if isinstance(g, dict) else g.overdue(guidance.today())


class GuidancePage(Paged):
    items = fields.List(fields.Nested(GuidanceBrief))


class GuidanceMessageSchema(Schema):
    id = fields.Int()
    kind = fields.Str(
        metadata={"description": "guidance 指导建议 / feedback 意见反馈 / reply 审阅意见 / remind 催办提醒"}
    )
    kind_label = fields.Str()
    author = fields.Str(allow_none=True, attribute="author.name")
    org_name = fields.Str(attribute="org.name")
    body = fields.Str()
    attachments = fields.List(fields.Dict(), metadata={"description": "附件 [{id, name}]"})
    created_at = fields.DateTime()


class ReadSchema(Schema):
    user = fields.Str(attribute="user.name")
    read_at = fields.DateTime()


class GuidanceDetail(GuidanceBrief):
    body = fields.Str(metadata={"description": "建议内容"})
    messages = fields.List(fields.Nested(GuidanceMessageSchema))
    read_by_group = fields.List(fields.Nested(ReadSchema), metadata={"description": "集团阅读回执"})
    read_by_corps = fields.List(fields.Nested(ReadSchema), metadata={"description": "监管部门阅读回执"})
    my_step = fields.Str(
        allow_none=True, metadata={"description": "调用者可回复的步骤：feedback 集团意见反馈 / review 审阅反馈 / null"}
    )


class ReplyResult(Schema):
    message = fields.Str()
    thread = fields.Nested(GuidanceDetail)


def _my_task(g: Guidance) -> HumanTask | None:
    """The caller's open step of the thread's process (集团意见反馈 or 审阅反馈), if any."""
    instance = db.session.get(ProcessInstance, g.instance_id) if g.instance_id else None
    rows = open_rows(instance) if instance is not None else []
    return next((r for r in rows if r.status == "open" and can_act(current_user, r)), None)


def _detail(g: Guidance) -> dict:
    """The thread as GuidanceDetail dumps it."""
    receipts = guidance.receipts(g)
    task = _my_task(g)
    return {
        **{c: getattr(g, c) for c in ("id", "title", "group_id", "status", "status_label", "deadline", "body")},
        **{c: getattr(g, c) for c in ("created_at", "closed_at", "instance_id", "group", "messages")},
        "overdue": g.overdue(guidance.today()),
        "read_by_group": receipts["group"],
        "read_by_corps": receipts["corps"],
        "my_step": task.step if task else None,
    }


@bp.get("/soe/guidance")
@permission_required(READ)
def list_guidance():
    """Guidance threads.
    ---
    get:
      tags: [国企交流]
      summary: 监管指导建议列表
      description: 调用者可见的监管指导建议（监管部门见全部，国有集团只见发给本集团的），按状态筛选，
        分页（每页 20 条）。
      parameters:
        - {in: query, name: status,
           description: open 待反馈 / answered 已反馈待审阅 / returned 退回补充 / closed 已办结 / overdue 已超期,
           schema: {type: string, enum: [open, answered, returned, closed, overdue]}}
        - {in: query, name: page, description: 页码, schema: {type: integer, minimum: 1, maximum: 100000}}
      responses:
        200: {description: 指导建议列表, content: {application/json: {schema: GuidancePage}}}
        422: Unprocessable
    """
    args = query(schema(GuidanceQuery))
    stmt = guidance.visible(current_user)
    if args["status"] == "overdue":
        stmt = stmt.where(Guidance.status.in_(("open", "returned")), Guidance.deadline < guidance.today())
    elif args["status"]:
        stmt = stmt.where(Guidance.status == args["status"])
    page = paginate(stmt.order_by(Guidance.id.desc()), str(args["page"]))
    return schema(GuidancePage).dump(page_body(page))


@bp.get("/soe/guidance/<int:guidance_id>")
@permission_required(READ)
def show_guidance(guidance_id: int):
    """One thread.
    ---
    get:
      tags: [国企交流]
      summary: 指导建议交流记录
      description: 指导建议、往来消息（指导建议、意见反馈、审阅意见、催办提醒，含附件名）、双方阅读回执，
        以及调用者当前可回复的步骤。读取即记为已读。数据范围外的返回 404。
      parameters: [{in: path, name: guidance_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 交流记录, content: {application/json: {schema: GuidanceDetail}}}
    """
    g = guidance.get_guidance(current_user, guidance_id)
    guidance.mark_read(g, current_user)
    result = schema(GuidanceDetail).dump(_detail(g))
    db.session.commit()
    return result


@bp.post("/soe/guidance/<int:guidance_id>/reply")
@permission_required(READ, "inbox.use")
def reply_guidance(guidance_id: int):
    """Reply in a thread.
    ---
    post:
      tags: [国企交流]
      summary: 回复指导建议
      description: 国有集团提交意见反馈；监管部门审阅反馈，close=true 确认办结，false 退回集团补充
        （回复内容为退回意见）。等同于在待办中办理本条指导建议的当前步骤；调用者当前没有可办理的步骤时返回 409。
      parameters: [{in: path, name: guidance_id, required: true, schema: {type: integer}}]
      requestBody: {required: true, content: {application/json: {schema: ReplyInput}}}
      responses:
        200: {description: 已回复, content: {application/json: {schema: ReplyResult}}}
    """
    g = guidance.get_guidance(current_user, guidance_id)
    payload = body(schema(ReplyInput))
    task = _my_task(g)
    if task is None:
        raise Conflict("这条指导建议当前没有需要您回复的步骤（可能已由他人处理或已办结）")
    if task.step == "feedback":
        given = acts.ActInput(data={"feedback": payload["body"]})
        message = acts.perform(task, current_user, "complete", given)
    else:
        given = acts.ActInput(comment=payload["body"], data={})
        message = acts.perform(task, current_user, "approve" if payload["close"] else "reject", given)
    db.session.flush()
    db.session.refresh(g)
    guidance.mark_read(g, current_user)
    result = {"message": message, "thread": _detail(g)}
    db.session.commit()
    return schema(ReplyResult).dump(result)
