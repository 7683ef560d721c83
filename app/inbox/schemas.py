"""Marshmallow schemas of the inbox JSON API (they also build the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class InstanceBrief(Schema):
    id = fields.Int()
    number = fields.Str(allow_none=True)
    title = fields.Str()
    process_id = fields.Str()
    status = fields.Str()
    started_at = fields.DateTime()
    summary = fields.Dict()


class TaskSchema(Schema):
    id = fields.Int()
    step = fields.Str()
    step_name = fields.Str()
    kind = fields.Str(metadata={"description": "task | approval"})
    method = fields.Str(metadata={"description": "single | all | any | sequential | ratio"})
    status = fields.Str()
    outcome = fields.Str(allow_none=True)
    priority = fields.Int()
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    candidate_role = fields.Str(allow_none=True)
    assignee_id = fields.Int(allow_none=True)
    instance = fields.Nested(InstanceBrief)


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    page = fields.Int()
    pages = fields.Int()
    total = fields.Int()


class FieldSchema(Schema):
    name = fields.Str()
    title = fields.Str()
    type = fields.Str()
    widget = fields.Str()
    required = fields.Bool()
    permission = fields.Str()
    value = fields.Raw(allow_none=True)
    options = fields.List(fields.List(fields.Raw()))


class EventSchema(Schema):
    at = fields.DateTime()
    kind = fields.Str()
    actor_name = fields.Str(allow_none=True)
    step_name = fields.Str(allow_none=True)
    comment = fields.Str(allow_none=True)


class TaskDetail(TaskSchema):
    can_act = fields.Bool()
    fields_ = fields.List(fields.Nested(FieldSchema), data_key="fields")
    buttons = fields.List(fields.List(fields.Str()))
    return_targets = fields.List(fields.Dict())
    history = fields.List(fields.Nested(EventSchema))


class CompleteInput(Schema):
    action = fields.Str(required=True, validate=validate.OneOf(["complete", "approve", "reject"]))
    data = fields.Dict(load_default=dict)
    comment = fields.Str(load_default=None, allow_none=True)
    signature = fields.Str(load_default=None, allow_none=True)


class ReturnInput(Schema):
    target = fields.Str(required=True)
    comment = fields.Str(required=True)
    direct = fields.Bool(load_default=False)


class CommentInput(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=2000))


class ErrorSchema(Schema):
    error = fields.Str()
    message = fields.Str()
    errors = fields.Dict()
