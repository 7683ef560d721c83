"""Tasks: the lists, one task, and every act the task page offers (through `app.inbox.acts`)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api import body, bp, query, schema
from app.api.schemas import (
    ActResult,
    AddSignInput,
    CompleteInput,
    DraftInput,
    HandOverInput,
    NoteInput,
    ReturnInput,
    TaskDetail,
    TaskPage,
    TaskQuery,
    UsersInput,
)
from app.extensions import db
from app.inbox import acts, queries, services
from app.inbox.routes import filters_from
from app.portal.paging import paginate
from app.security.access import permission_required

TASK_PARAM = [{"in": "path", "name": "task_id", "required": True, "schema": {"type": "integer"}}]


@bp.get("/tasks")
@permission_required("inbox.use")
def list_tasks():
    """Tasks of a tab.
    ---
    get:
      tags: [待办]
      summary: 待办 / 已办列表
      description: 调用者的待办（可办理的任务，含所在角色的任务）或已办任务，按条件筛选，分页（每页 20 条）。
      parameters:
        - {in: query, name: tab, description: todo 待办 / done 已办, schema: {type: string, enum: [todo, done]}}
        - {in: query, name: process, description: 流程标识, schema: {type: string}}
        - {in: query, name: q, description: 标题、编号或步骤名称包含, schema: {type: string}}
        - {in: query, name: status, description: overdue 已超期 / due_soon 即将到期 / normal,
           schema: {type: string, enum: [overdue, due_soon, normal]}}
        - {in: query, name: page, description: 页码, schema: {type: integer, minimum: 1, maximum: 100000}}
      responses:
        200: {description: 任务列表, content: {application/json: {schema: TaskPage}}}
        422: Unprocessable
    """
    args = query(schema(TaskQuery))
    stmt = (queries.done if args["tab"] == "done" else queries.todo)(current_user, filters_from(request.args))
    page = paginate(stmt, str(args["page"]))
    return schema(TaskPage).dump({"items": page.items, "page": page.page, "pages": page.pages, "total": page.total})


@bp.get("/tasks/<int:task_id>")
@permission_required("inbox.use")
def show_task(task_id: int):
    """One task.
    ---
    get:
      tags: [待办]
      summary: 任务详情
      description: 任务及其表单字段（含字段权限与当前值）、可用的操作按钮、可退回的步骤和流程历史。
        看不到的任务与不存在的任务一样返回 404。
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: 任务, content: {application/json: {schema: TaskDetail}}}
    """
    row = services.visible_task(task_id, current_user)
    view = services.task_view(row, current_user)
    columns = "id step step_name kind method status outcome priority due_at created_at completed_at"
    columns += " candidate_role assignee_id"
    return schema(TaskDetail).dump(
        {
            **{c: getattr(row, c) for c in columns.split()},
            "instance": row.instance,
            "can_act": view.can_act,
            "fields_": view.fields,
            "buttons": [list(b) for b in view.buttons],
            "return_targets": view.return_targets,
            "history": services.history(row.instance),
        }
    )


def _done(row, message: str):
    """Commit once and answer from what is in memory (no re-read of the instance after the commit)."""
    instance = row.instance
    result = {"ok": True, "message": message, "task": row.id, "instance": instance.id, "status": instance.status}
    db.session.commit()
    return schema(ActResult).dump(result)


@bp.post("/tasks/<int:task_id>/complete")
@permission_required("inbox.use")
def complete(task_id: int):
    """Submit, approve or reject.
    ---
    post:
      tags: [待办]
      summary: 提交 / 通过 / 拒绝
      description: |
        办理任务用 action=complete 并附表单数据；审批任务用 approve（通过）或 reject（拒绝，按节点设置可能须填写意见）。
        表单按任务的 JSON Schema 与字段权限校验，错误逐字段以中文返回（422）；任务已被他人处理时返回 409。
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      requestBody: {required: true, content: {application/json: {schema: CompleteInput}}}
      responses:
        200: {description: 已处理, content: {application/json: {schema: ActResult}}}
    """
    row = services.visible_task(task_id, current_user)
    payload = body(schema(CompleteInput))
    given = acts.ActInput(comment=payload["comment"], data=payload["data"], signature=payload["signature"])
    message = acts.perform(row, current_user, payload["action"], given)
    return _done(row, message)


# The other acts: (path, act, input schema, summary, description). One view each, the same shape.
ACTS = [
    (
        "return",
        "return",
        ReturnInput,
        "退回",
        "退回到本流程已经过的步骤（target 取自任务的 return_targets），须填写原因。",
    ),
    ("transfer", "transfer", HandOverInput, "转办", "任务转给他人办理，本人不再参与。"),
    ("delegate", "delegate", HandOverInput, "委派", "他人代为办理，办理结果回到本人，由本人决定。"),
    (
        "add-sign",
        "add_sign",
        AddSignInput,
        "加签",
        "审批节点增加审批人：before 向前加签（他们先审），after 向后加签（一起审）。",
    ),
    ("remove-sign", "remove_sign", NoteInput, "减签", "在该任务上执行：减去由本人加签、尚未审批的审批人。"),
    ("cc", "cc", UsersInput, "抄送", "把流程抄送给他人（出现在对方的“抄送我的”并收到通知）。"),
    ("urge", "urge", NoteInput, "催办", "提醒当前办理人（发起人、流程管理员或数据范围内的上级；30 分钟内不重复）。"),
    ("draft", "draft", DraftInput, "暂存", "保存尚未提交的表单数据（可不完整），任务归本人。"),
    ("claim", "claim", None, "认领", "认领角色待办，任务只属于本人。"),
    ("release", "release", None, "释放", "释放本人认领的角色任务，回到角色待办。"),
]


def _act_view(path: str, act: str, schema, summary: str, description: str):
    def view(task_id: int):
        row = services.visible_task(task_id, current_user)
        payload = body(schema()) if schema is not None else {}
        given = acts.ActInput(
            comment=payload.get("comment"),
            data=payload.get("data"),
            target=payload.get("target", ""),
            direct=payload.get("direct", False),
            user=payload.get("user", ""),
            users=payload.get("users", []),
            mode=payload.get("mode", "after"),
        )
        return _done(row, acts.perform(row, current_user, act, given))

    request_body = (
        f"      requestBody: {{required: true, content: {{application/json: {{schema: {schema.__name__}}}}}}}\n"
        if schema is not None
        else ""
    )
    view.__name__ = f"task_{act}"
    view.__doc__ = (
        f"{summary}.\n---\npost:\n  tags: [待办]\n  summary: {summary}\n  description: {description}\n"
        "  parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]\n"
        + request_body.replace("      ", "  ")
        + "  responses:\n    200: {description: 已处理, content: {application/json: {schema: ActResult}}}\n"
    )
    bp.add_url_rule(
        f"/tasks/<int:task_id>/{path}", view.__name__, permission_required("inbox.use")(view), methods=["POST"]
    )


for _spec in ACTS:
    _act_view(*_spec)
