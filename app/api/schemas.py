"""Marshmallow schemas of the JSON API: what requests carry and responses hold (they also build the
OpenAPI document). Names in Chinese go in `metadata.description`; field errors are Chinese."""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

_REQUIRED = {"required": "必填项", "null": "不能为空", "invalid": "类型不正确"}


def _text(description: str, *, required: bool = False, max_length: int = 2000, **kw):
    options = {"required": required, "allow_none": not required, "metadata": {"description": description}}
    if not required:
        options["load_default"] = None
    return fields.Str(
        validate=validate.Length(max=max_length, error=f"不能超过 {max_length} 字"),
        error_messages=_REQUIRED,
        **options,
        **kw,
    )


class Input(Schema):
    class Meta:
        unknown = RAISE


# ---------------------------------------------------------------------------------------------
# requests


class CompleteInput(Input):
    action = fields.Str(
        required=True,
        validate=validate.OneOf(["complete", "approve", "reject"], error="应为 complete、approve 或 reject"),
        error_messages=_REQUIRED,
        metadata={"description": "complete 提交（办理任务）/ approve 通过 / reject 拒绝（审批任务）"},
    )
    data = fields.Dict(load_default=dict, error_messages=_REQUIRED, metadata={"description": "表单数据"})
    comment = _text("意见")
    signature = fields.Str(
        load_default=None, allow_none=True, metadata={"description": "手写签名（data:image/png;base64,...）"}
    )


class ReturnInput(Input):
    target = fields.Str(
        required=True,
        error_messages=_REQUIRED,
        metadata={"description": "退回到的步骤（见任务的 return_targets；initiator 为第一步）"},
    )
    comment = _text("退回原因", required=True)
    direct = fields.Bool(load_default=False, metadata={"description": "退回后办理人提交时直接回到本步骤"})


class CommentInput(Input):
    body = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=2000, error="评论应为 1 到 2000 字"),
        error_messages=_REQUIRED,
        metadata={"description": "评论内容"},
    )


class HandOverInput(Input):
    user = fields.Str(required=True, error_messages=_REQUIRED, metadata={"description": "对方的登录名或用户编号"})
    comment = _text("说明")


class UsersInput(Input):
    users = fields.List(
        fields.Str(validate=validate.Length(min=1, max=64, error="登录名或编号应为 1 到 64 个字符")),
        required=True,
        validate=validate.Length(min=1, max=50, error="请选择 1 到 50 人"),
        error_messages=_REQUIRED,
        metadata={"description": "人员的登录名或用户编号"},
    )
    comment = _text("说明")


class AddSignInput(UsersInput):
    mode = fields.Str(
        load_default="after",
        validate=validate.OneOf(["before", "after"], error="应为 before（向前加签）或 after（向后加签）"),
        metadata={"description": "before 向前加签（他们先审，再回到我）/ after 向后加签（与我一起审）"},
    )


class NoteInput(Input):
    comment = _text("说明")


class DraftInput(Input):
    data = fields.Dict(required=True, error_messages=_REQUIRED, metadata={"description": "暂存的表单数据"})


class ReasonInput(Input):
    reason = _text("终止原因", required=True, max_length=300)


class StartInput(Input):
    data = fields.Dict(load_default=dict, error_messages=_REQUIRED, metadata={"description": "发起表单的数据"})


class ClueInput(Input):
    data = fields.Dict(required=True, error_messages=_REQUIRED, metadata={"description": "线索登记表单的数据"})
    confirm_duplicate = fields.Bool(
        load_default=False, metadata={"description": "已核对疑似重复线索，确认不是重复线索"}
    )


class TaskQuery(Schema):
    """The task list's query string (other parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.Str(load_default="todo", validate=validate.OneOf(["todo", "done"], error="应为 todo 或 done"))
    process = fields.Str(load_default=None)
    q = fields.Str(load_default=None)
    status = fields.Str(
        load_default=None,
        validate=validate.OneOf(["overdue", "due_soon", "normal"], error="应为 overdue、due_soon 或 normal"),
    )
    page = fields.Int(
        load_default=1,
        strict=False,
        validate=validate.Range(min=1, max=100000, error="页码应为 1 到 100000"),
        error_messages=_REQUIRED,
    )


# ---------------------------------------------------------------------------------------------
# responses


class InstanceBrief(Schema):
    id = fields.Int()
    number = fields.Str(allow_none=True, metadata={"description": "流程编号"})
    title = fields.Str()
    process_id = fields.Str()
    status = fields.Str(metadata={"description": "running / suspended / completed / terminated / error"})
    started_at = fields.DateTime()
    summary = fields.Dict()


class TaskSchema(Schema):
    id = fields.Int()
    step = fields.Str()
    step_name = fields.Str()
    kind = fields.Str(metadata={"description": "task 办理 / approval 审批"})
    method = fields.Str(metadata={"description": "single | all 会签 | any 或签 | sequential 依次 | ratio 比例"})
    status = fields.Str(metadata={"description": "open / pending / completed / cancelled"})
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


class EventList(Schema):
    items = fields.List(fields.Nested(EventSchema))


class ReturnTarget(Schema):
    step = fields.Str()
    name = fields.Str()
    task_id = fields.Str()


class TaskDetail(TaskSchema):
    can_act = fields.Bool()
    fields_ = fields.List(fields.Nested(FieldSchema), data_key="fields")
    buttons = fields.List(fields.List(fields.Str()), metadata={"description": "[操作, 按钮名称]"})
    return_targets = fields.List(fields.Nested(ReturnTarget))
    history = fields.List(fields.Nested(EventSchema))


class ActResult(Schema):
    ok = fields.Bool()
    message = fields.Str(metadata={"description": "与页面相同的提示"})
    task = fields.Int(allow_none=True)
    instance = fields.Int(allow_none=True)
    status = fields.Str(allow_none=True, metadata={"description": "流程状态"})


class OpenTask(Schema):
    id = fields.Int()
    step = fields.Str()
    step_name = fields.Str()
    status = fields.Str()
    assignee_name = fields.Str(allow_none=True)
    candidate_role = fields.Str(allow_none=True)
    candidate_role_name = fields.Str(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    mine = fields.Bool(metadata={"description": "调用者可以办理"})


class DataItem(Schema):
    key = fields.Str(metadata={"description": "字段名"})
    label = fields.Str(metadata={"description": "字段标题"})
    value = fields.Raw(allow_none=True, metadata={"description": "取值"})
    text = fields.Str(metadata={"description": "显示文本（选项标题、日期格式化）"})


class InstanceDetail(InstanceBrief):
    process_name = fields.Str()
    status_label = fields.Str()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.Str(allow_none=True)
    initiator_name = fields.Str(allow_none=True)
    org_name = fields.Str(allow_none=True)
    current_steps = fields.List(fields.Str(), metadata={"description": "当前步骤"})
    tasks = fields.List(fields.Nested(OpenTask), metadata={"description": "当前待办"})
    data = fields.List(fields.Nested(DataItem), metadata={"description": "业务数据（敏感项已脱敏）"})


class StartResult(Schema):
    message = fields.Str()
    instance = fields.Nested(InstanceDetail)
    tasks = fields.List(fields.Nested(OpenTask), metadata={"description": "第一批待办"})


class Diagram(Schema):
    xml = fields.Str(metadata={"description": "BPMN 2.0 XML（含图形信息）"})
    done = fields.List(fields.Str(), metadata={"description": "已完成的元素"})
    current = fields.List(fields.Str(), metadata={"description": "当前元素"})
    failed = fields.List(fields.Str(), metadata={"description": "出错的元素"})
    flows = fields.List(fields.Str(), metadata={"description": "已经过的连线"})


class PredictedBranch(Schema):
    condition = fields.Str(metadata={"description": "分支条件（中文描述）"})
    steps = fields.List(fields.Nested(lambda: PredictedStep()), metadata={"description": "该分支上的步骤"})


class PredictedStep(Schema):
    step = fields.Str()
    name = fields.Str()
    people = fields.List(fields.Str())
    current = fields.Bool()
    kind = fields.Str(metadata={"description": "task 办理 · cc 抄送 · wait 等待 · end 结束 · branch 分支 · back 回到"})
    branches = fields.List(fields.Nested(PredictedBranch), metadata={"description": "数据未定时的各分支"})


class Prediction(Schema):
    items = fields.List(fields.Nested(PredictedStep))


class CommentSchema(Schema):
    id = fields.Int()
    body = fields.Str()
    author_name = fields.Str(attribute="author.name")
    created_at = fields.DateTime()


class CommentList(Schema):
    items = fields.List(fields.Nested(CommentSchema))


class AttachmentSchema(Schema):
    id = fields.Int()
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sm3 = fields.Str(metadata={"description": "SM3 摘要（十六进制）"})
    field = fields.Str(allow_none=True)
    uploaded_by_name = fields.Str(attribute="uploaded_by.name")
    created_at = fields.DateTime()


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))


class ProcessSchema(Schema):
    process_id = fields.Str()
    name = fields.Str()
    category = fields.Str(allow_none=True)
    description = fields.Str(allow_none=True)
    start_form = fields.Dict(metadata={"description": "发起表单（JSON Schema）；空对象表示无需填写"})
    start_ui = fields.Dict(metadata={"description": "表单界面设置（uiSchema）"})


class ProcessList(Schema):
    items = fields.List(fields.Nested(ProcessSchema))


class DocumentSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    title = fields.Str()
    number = fields.Str(allow_none=True, metadata={"description": "文号"})
    status = fields.Str(metadata={"description": "draft 草稿 / signed 已签发"})
    status_label = fields.Str()
    sm3 = fields.Str()
    signer_name = fields.Str(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)


class ClueSchema(Schema):
    id = fields.Int()
    number = fields.Str(allow_none=True)
    status = fields.Str()
    status_label = fields.Str()
    outcome = fields.Str(allow_none=True)
    priority = fields.Str(allow_none=True)
    enterprise_name = fields.Str(allow_none=True)
    instance_id = fields.Int(allow_none=True)
    registered_at = fields.DateTime()
    documents = fields.List(fields.Nested(DocumentSchema))


class ClueResult(Schema):
    message = fields.Str()
    clue = fields.Nested(ClueSchema)
    instance = fields.Nested(InstanceDetail)
    tasks = fields.List(fields.Nested(OpenTask))


class Counts(Schema):
    todo = fields.Int(metadata={"description": "待办数"})
    cc_unread = fields.Int(metadata={"description": "未读抄送数"})


class Me(Schema):
    id = fields.Int()
    login = fields.Str()
    name = fields.Str()
    org_name = fields.Str()
    service_account = fields.Bool()
    permissions = fields.List(fields.Str())
    scope = fields.Str(metadata={"description": "数据范围"})
    token_name = fields.Str(allow_none=True, metadata={"description": "令牌用途（令牌访问时）"})
    token_expires_at = fields.DateTime(allow_none=True)


class ErrorSchema(Schema):
    code = fields.Str(metadata={"description": "错误代码：bad_request / unauthorized / forbidden / not_found / ..."})
    message = fields.Str(metadata={"description": "中文提示"})
    errors = fields.Dict(keys=fields.Str(), values=fields.Str(), metadata={"description": "字段 → 中文提示"})


class FormDoc(Schema):
    form = fields.Dict(data_key="schema", metadata={"description": "表单（JSON Schema）"})
    ui = fields.Dict(metadata={"description": "表单界面设置（uiSchema）"})
