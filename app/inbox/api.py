"""The inbox JSON API under /api/v1 (session login; POSTs carry the X-CSRFToken header)."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user
from marshmallow import ValidationError

from app.errors import ValidationFailed
from app.extensions import db
from app.inbox import actions, collab, queries, services, signature
from app.inbox.routes import filters_from
from app.inbox.schemas import (
    CommentInput,
    CompleteInput,
    EventSchema,
    ReturnInput,
    TaskDetail,
    TaskPage,
)
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("api_inbox", __name__, url_prefix="/api/v1")


def _load(schema, payload):
    try:
        return schema.load(payload or {})
    except ValidationError as exc:
        raise ValidationFailed("请求数据有误", errors=params.messages_zh(exc.messages)) from exc


@bp.get("/tasks")
@permission_required("inbox.use")
def list_tasks():
    """List tasks of a tab (todo / done).
    ---
    get:
      tags: [inbox]
      parameters:
        - {in: query, name: tab, schema: {type: string, enum: [todo, done]}}
        - {in: query, name: process, schema: {type: string}}
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: page, schema: {type: integer}}
      responses:
        200: {content: {application/json: {schema: TaskPage}}}
    """
    tab = request.args.get("tab", "todo")
    stmt = (queries.done if tab == "done" else queries.todo)(current_user, filters_from(request.args))
    page = paginate(stmt, request.args.get("page"))
    return TaskPage().dump({"items": page.items, "page": page.page, "pages": page.pages, "total": page.total})


@bp.get("/tasks/<int:task_id>")
@permission_required("inbox.use")
def show_task(task_id: int):
    """A task with its form fields, buttons, return targets and history.
    ---
    get:
      tags: [inbox]
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      responses:
        200: {content: {application/json: {schema: TaskDetail}}}
        404: {content: {application/json: {schema: ErrorSchema}}}
    """
    row = services.visible_task(task_id, current_user)
    view = services.task_view(row, current_user)
    body = TaskDetail().dump(
        {
            **{
                c: getattr(row, c)
                for c in (
                    "id",
                    "step",
                    "step_name",
                    "kind",
                    "method",
                    "status",
                    "outcome",
                    "priority",
                    "due_at",
                    "created_at",
                    "completed_at",
                    "candidate_role",
                    "assignee_id",
                )
            },
            "instance": row.instance,
            "can_act": view.can_act,
            "fields_": view.fields,
            "buttons": [list(b) for b in view.buttons],
            "return_targets": view.return_targets,
            "history": services.history(row.instance),
        }
    )
    return body


@bp.post("/tasks/<int:task_id>/claim")
@permission_required("inbox.use")
def claim(task_id: int):
    """Claim a role task.
    ---
    post:
      tags: [inbox]
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: claimed}
        409: {content: {application/json: {schema: ErrorSchema}}}
    """
    row = services.visible_task(task_id, current_user)
    collab.claim(row, current_user)
    db.session.commit()
    return {"ok": True, "task": task_id}


@bp.post("/tasks/<int:task_id>/complete")
@permission_required("inbox.use")
def complete(task_id: int):
    """Submit, approve or reject a task with its form data.
    ---
    post:
      tags: [inbox]
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      requestBody: {content: {application/json: {schema: CompleteInput}}}
      responses:
        200: {description: done}
        409: {content: {application/json: {schema: ErrorSchema}}}
        422: {content: {application/json: {schema: ErrorSchema}}}
    """
    row = services.visible_task(task_id, current_user)
    payload = _load(CompleteInput(), request.get_json(silent=True))
    actions.ensure_actor(row, current_user)
    data = actions.check_form(row, payload["data"]) if payload["action"] != "reject" else {}
    instance = actions.complete(
        row,
        current_user,
        action=payload["action"],
        form_data=data,
        comment=payload["comment"],
        signature=signature.clean(payload["signature"]),
    )
    body = {"ok": True, "instance": instance.id, "status": instance.status}  # read before the commit expires it
    db.session.commit()
    return body


@bp.post("/tasks/<int:task_id>/return")
@permission_required("inbox.use")
def send_back(task_id: int):
    """Send back (退回) to a visited step with a reason.
    ---
    post:
      tags: [inbox]
      parameters: [{in: path, name: task_id, required: true, schema: {type: integer}}]
      requestBody: {content: {application/json: {schema: ReturnInput}}}
      responses:
        200: {description: returned}
        422: {content: {application/json: {schema: ErrorSchema}}}
    """
    row = services.visible_task(task_id, current_user)
    payload = _load(ReturnInput(), request.get_json(silent=True))
    actions.return_to(row, current_user, target=payload["target"], comment=payload["comment"], direct=payload["direct"])
    db.session.commit()
    return {"ok": True}


@bp.post("/instances/<int:instance_id>/comments")
@permission_required("inbox.use")
def comment(instance_id: int):
    """Comment on an instance.
    ---
    post:
      tags: [inbox]
      parameters: [{in: path, name: instance_id, required: true, schema: {type: integer}}]
      requestBody: {content: {application/json: {schema: CommentInput}}}
      responses:
        201: {description: created}
    """
    instance = services.visible_instance(instance_id, current_user)
    payload = _load(CommentInput(), request.get_json(silent=True))
    item = collab.add_comment(instance, current_user, payload["body"])
    db.session.commit()
    return {"ok": True, "id": item.id}, 201


@bp.get("/instances/<int:instance_id>/history")
@permission_required("inbox.use")
def history(instance_id: int):
    instance = services.visible_instance(instance_id, current_user)
    return {"items": EventSchema(many=True).dump(services.history(instance))}


@bp.get("/counts")
@permission_required("inbox.use")
def counts():
    return queries.counts(current_user)


@bp.get("/openapi.json")
@permission_required("inbox.use", "process.admin")
def openapi():
    from app.inbox.openapi import spec_dict

    return spec_dict()
