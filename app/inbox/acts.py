"""One act on a task, by name: the task page's buttons and the JSON API both come through here, so
they follow the same rules and say the same Chinese messages. The caller parses its input (a form, a
JSON body) and commits; the acts themselves are the services of `actions` and `collab`."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine import runtime
from app.errors import ValidationFailed
from app.inbox import actions, collab, services, signature
from app.inbox.models import HumanTask

# The acts a task offers, with the message shown after each (the page flashes it, the API returns it).
MESSAGES = {
    "complete": "已提交",
    "approve": "已审批通过",
    "reject": "已拒绝",
    "return": "已退回",
    "transfer": "已转办",
    "delegate": "已委派，对方办理后将回到您这里",
    "add_sign": "已加签",
    "remove_sign": "已减签",
    "cc": "已抄送",
    "draft": "已暂存",
    "claim": "已认领",
    "release": "已释放，任务回到角色待办",
    "urge": "已催办 {count} 人",
}


@dataclass
class ActInput:
    """What an act may carry; each act reads the parts it needs."""

    comment: str | None = None
    data: object = None  # form values: a dict (API) or a MultiDict (page)
    files: dict | None = None  # field -> [{"id", "name"}] of attachments stored for the form
    signature: str | None = None
    target: str = ""
    direct: bool = False
    user: str = ""
    users: list[str] = field(default_factory=list)
    mode: str = "after"


def perform(row: HumanTask, actor, action: str, given: ActInput) -> str:
    """Do one act on a row; returns its message. Raises the services' exceptions (the caller rolls back)."""
    comment = (given.comment or "").strip() or None
    if action in actions.DECISIONS:
        actions.ensure_actor(row, actor)
        values = given.data if given.data is not None else {}
        wf = runtime.load(row.instance)  # once for the form check and the act
        data = actions.check_form(row, values, files=given.files, wf=wf) if action != "reject" else {}
        actions.complete(
            row,
            actor,
            action=action,
            form_data=data,
            comment=comment,
            signature=signature.clean(given.signature),
            wf=wf,
        )
    elif action == "return":
        actions.return_to(row, actor, target=given.target, comment=comment, direct=given.direct)
    elif action == "transfer":
        collab.transfer(row, actor, to=given.user, comment=comment)
    elif action == "delegate":
        collab.delegate(row, actor, to=given.user, comment=comment)
    elif action == "add_sign":
        collab.add_sign(row, actor, users=given.users, mode=given.mode, comment=comment)
    elif action == "remove_sign":
        collab.remove_sign(row, actor, comment=comment)
    elif action == "cc":
        collab.carbon_copy(row.instance, actor, users=given.users, note=comment, step_name=row.step_name)
    elif action == "draft":
        collab.save_draft(row, actor, services.draft_data(row, given.data if given.data is not None else {}))
    elif action == "claim":
        collab.claim(row, actor)
    elif action == "release":
        collab.release(row, actor)
    elif action == "urge":
        return MESSAGES["urge"].format(count=collab.urge(row, actor, note=comment))
    else:
        raise ValidationFailed(f"未知的操作：{action}")
    return MESSAGES[action]


# Acts on a whole instance (the instance page's buttons and the API).
INSTANCE_MESSAGES = {
    "withdraw": "已撤回",
    "reclaim": "已拿回",
    "terminate": "流程已终止",
    "void": "流程已作废",
    "comment": "评论已发表",
    "attach": "附件已上传",
    "cc": "已抄送",
}


def perform_on_instance(instance, actor, verb: str, given: ActInput, *, upload=None) -> str:
    """撤回/拿回, 终止/作废, 评论, 附件 (upload = (filename, bytes)), 抄送; returns the message."""
    reason = (given.comment or "").strip()
    if verb in ("withdraw", "reclaim"):
        actions.take_back(instance, actor, kind=verb)
    elif verb in ("terminate", "void"):
        actions.terminate(instance, actor, reason=reason, void=verb == "void")
    elif verb == "comment":
        collab.add_comment(instance, actor, given.data or "")
    elif verb == "cc":
        collab.carbon_copy(instance, actor, users=given.users, note=reason or None)
    elif verb == "attach":
        if upload is None or not upload[0]:
            raise ValidationFailed("请选择要上传的文件", errors={"file": "请选择文件"})
        collab.store_attachment(instance, actor, filename=upload[0], data=upload[1])
    else:
        raise ValidationFailed(f"未知的操作：{verb}")
    return INSTANCE_MESSAGES[verb]


def started_message(instance) -> str:
    return f"已发起：{instance.title}（{instance.number or instance.id}）"
