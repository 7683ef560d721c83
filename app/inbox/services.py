"""What the inbox pages and the API show: a task's form, buttons, history; who may see what."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import select

from app.auth.models import User
from app.engine import deploy, forms, inbox, runtime
from app.engine.models import InstanceEvent, ProcessInstance, ProcessModel
from app.engine.nodes import NodeConfig
from app.errors import NotFound
from app.extensions import db
from app.inbox.actions import initiator_step, visited_steps
from app.inbox.models import Attachment, CarbonCopy, Comment, CommonPhrase, HumanTask
from app.inbox.queries import can_act, can_view_instance
from app.models_base import utcnow


@dataclass
class TaskView:
    row: HumanTask
    instance: ProcessInstance
    can_act: bool
    fields: list = field(default_factory=list)
    cfg: NodeConfig = field(default_factory=NodeConfig)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    return_targets: list[dict] = field(default_factory=list)
    group: list[HumanTask] = field(default_factory=list)
    instructions: str | None = None
    data: dict = field(default_factory=dict)
    returned: InstanceEvent | None = None  # the 退回 that brought the task back: who and why


GROUP_KEY = "ducha_task_rows"


def load_task(task_id: int) -> HumanTask | None:
    """A task row with, in the same statement, its activation group and its instance's other open rows:
    what an act (`actions._group_and_open`) and the task page (`task_view`) read next, now without a
    query of their own. Kept on `g` for this request; rows loaded later in it are queried as before."""
    from flask import g, has_app_context

    rows = list(db.session.scalars(_task_rows(), {"task_id": task_id}).unique())
    row = next((r for r in rows if r.id == task_id), None)
    if row is not None and has_app_context():
        g.setdefault(GROUP_KEY, {})[row.id] = rows
    return row


@lru_cache(maxsize=1)
def _task_rows():
    """`load_task`'s statement, built once per process (an alias proxies every column of the table: building
    it per request cost more than compiling, which SQLAlchemy caches)."""
    from sqlalchemy import and_, bindparam, or_
    from sqlalchemy.orm import aliased

    me, task_id = aliased(HumanTask), bindparam("task_id")
    return (
        select(HumanTask)
        .join(me, and_(me.id == task_id, HumanTask.instance_id == me.instance_id))
        .where(
            or_(HumanTask.id == task_id, HumanTask.group_id == me.group_id, HumanTask.status.in_(("open", "pending")))
        )
    )


def preloaded_rows(row: HumanTask) -> list[HumanTask] | None:
    """The rows `load_task` read with `row` (once: the caller may change them), or None."""
    from flask import g, has_app_context

    return g.get(GROUP_KEY, {}).pop(row.id, None) if has_app_context() else None


def visible_task(task_id: int, user) -> HumanTask:
    row = load_task(task_id)
    if row is None or not (
        can_act(user, row)
        or row.completed_by_id == user.id
        or row.assignee_id == user.id
        or can_view_instance(user, row.instance)
    ):
        raise NotFound("任务不存在或您无权查看")
    return row


def visible_instance(instance_id: int, user) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or not can_view_instance(user, instance):
        raise NotFound("流程不存在或您无权查看")
    return instance


def task_view(row: HumanTask, user, *, values: dict | None = None, errors: dict | None = None) -> TaskView:
    instance = row.instance
    view = TaskView(row=row, instance=instance, can_act=can_act(user, row))
    wf = runtime.load(instance)
    task = runtime.find_task(wf, row.spiff_task_id)
    data = dict(task.data) if task is not None else runtime.instance_data(wf)
    view.data = data
    info = deploy.task_info(instance.spec_info).get(task.task_spec.name, {}) if task is not None else {}
    view.instructions = info.get("instructions")
    if task is not None:
        _info, view.cfg = inbox.config_for(instance, task)
    schema = forms.parse((instance.spec_info.forms or {}).get(info.get("form") or ""))
    ui = forms.parse((instance.spec_info.forms or {}).get(info.get("ui_form") or ""))
    shown = dict(data)
    shown.update(row.form_data or {})
    shown.update(row.draft or {})
    shown.update(values or {})
    perms = dict(view.cfg.field_permissions)
    if not view.can_act:
        perms = {name: "readonly" for name in schema.get("properties", {})} | {
            k: v for k, v in perms.items() if v == "hidden"
        }
    view.fields = forms.fields(schema, ui, shown, errors, perms) if schema else []
    if view.can_act:
        allowed = [b for b in view.cfg.buttons if _button_applies(b, row)]
        view.buttons = [(b, view.cfg.label(b)) for b in allowed]
        view.return_targets = return_targets(instance, wf, row.step) if task else []
    view.returned = _returned_by(row)
    preloaded = preloaded_rows(row)
    if preloaded is not None:
        view.group = sorted((r for r in preloaded if r.group_id == row.group_id), key=lambda r: (r.seq, r.id))
    else:
        view.group = list(
            db.session.scalars(
                select(HumanTask).where(HumanTask.group_id == row.group_id).order_by(HumanTask.seq, HumanTask.id)
            )
        )
    return view


def return_targets(instance: ProcessInstance, wf, current_step: str) -> list[dict]:
    """退回 targets: always 退回发起人 (the initiator's first step), then every other visited step."""
    path = visited_steps(wf)
    visited = [v for v in path if v["step"] != current_step]
    if not visited:
        return []
    first = initiator_step(instance, path)
    if first["step"] == current_step:
        return visited
    return [{**first, "step": "initiator", "name": f"退回发起人（{first['name']}）"}, *visited]


def _returned_by(row: HumanTask) -> InstanceEvent | None:
    """The 退回 that reopened this step, if the row was created by one."""
    event = db.session.scalar(
        select(InstanceEvent)
        .where(
            InstanceEvent.instance_id == row.instance_id,
            InstanceEvent.kind == "return",
            InstanceEvent.at <= row.created_at + timedelta(seconds=5),
        )
        .order_by(InstanceEvent.at.desc(), InstanceEvent.id.desc())
        .limit(1)
    )
    if event is None or (event.data or {}).get("to") != row.step or event.at < row.created_at - timedelta(seconds=5):
        return None
    return event


def _button_applies(button: str, row: HumanTask) -> bool:
    if button in ("approve", "reject", "add_sign"):
        return row.kind == "approval"
    if button == "complete":
        return row.kind != "approval"
    return True


def history(instance: ProcessInstance) -> list[InstanceEvent]:
    return list(
        db.session.scalars(
            select(InstanceEvent)
            .where(InstanceEvent.instance_id == instance.id)
            .order_by(InstanceEvent.at, InstanceEvent.id)
        )
    )


def comments(instance: ProcessInstance) -> list[Comment]:
    return list(db.session.scalars(select(Comment).where(Comment.instance_id == instance.id).order_by(Comment.id)))


def attachments(instance: ProcessInstance) -> list[Attachment]:
    return list(
        db.session.scalars(select(Attachment).where(Attachment.instance_id == instance.id).order_by(Attachment.id))
    )


def signatures(instance: ProcessInstance) -> list[HumanTask]:
    return list(
        db.session.scalars(
            select(HumanTask)
            # only data URIs reach an <img src> (a stored URL would be fetched with the reader's cookies)
            .where(HumanTask.instance_id == instance.id, HumanTask.signature.startswith("data:image/png;base64,"))
            .order_by(HumanTask.completed_at)
        )
    )


def phrases(user) -> list[CommonPhrase]:
    return list(
        db.session.scalars(
            select(CommonPhrase)
            .where((CommonPhrase.user_id == user.id) | CommonPhrase.user_id.is_(None))
            .order_by(CommonPhrase.sort, CommonPhrase.id)
        )
    )


def add_phrase(user, text: str) -> CommonPhrase:
    from app.errors import ValidationFailed

    text = (text or "").strip()
    if not text or len(text) > 300:
        raise ValidationFailed("常用语不能为空且不超过 300 字")
    phrase = CommonPhrase(user_id=user.id, text=text)
    db.session.add(phrase)
    return phrase


def mark_cc_read(instance: ProcessInstance, user) -> None:
    for cc in db.session.scalars(
        select(CarbonCopy).where(
            CarbonCopy.instance_id == instance.id, CarbonCopy.user_id == user.id, CarbonCopy.read_at.is_(None)
        )
    ):
        cc.read_at = utcnow()


def open_rows(instance: ProcessInstance) -> list[HumanTask]:
    return list(
        db.session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance.id, HumanTask.status.in_(("open", "pending")))
            .order_by(HumanTask.id)
        )
    )


def startable(user) -> list[ProcessModel]:
    models = db.session.scalars(
        select(ProcessModel)
        .where(ProcessModel.enabled.is_(True), ProcessModel.current_version_id.is_not(None))
        .order_by(ProcessModel.category, ProcessModel.name)
    )
    out = []
    for m in models:
        roles = set(m.start_roles or [])
        if (roles and roles & user.role_codes) or (not roles and user.can("process.start")):
            out.append(m)
    return out


def start_form(model: ProcessModel) -> tuple[dict, dict]:
    version = model.current_version
    if not model.start_form:
        return {}, {}
    schema = forms.parse((version.forms or {}).get(model.start_form))
    ui = forms.parse((version.forms or {}).get(model.start_form.replace(".schema.json", ".uischema.json")))
    return schema, ui


def diagram(instance: ProcessInstance) -> dict:
    """The BPMN XML with done / current / failed step ids (and flows taken) for the viewer."""
    from app.processes.instances import markers

    xml = _drawable(instance.spec_info.bpmn)
    return {"xml": _lane_labels(xml), **markers(runtime.load(instance), xml)}


@lru_cache(maxsize=64)
def _drawable(bpmn: str) -> str:
    """The BPMN with a generated layout when the file carries no diagram (bpmn-js draws only BPMNDI)."""
    from app.processes.layout import for_display

    return for_display(bpmn)


_LANE = re.compile(r'(<(?:bpmn:)?lane\b[^>]*\bname=")([^"]+)(")')


def _lane_labels(xml: str) -> str:
    """Lanes are named by role code (the runtime's convention); people read the role's name."""
    from app.auth.models import Role

    names = dict(db.session.execute(select(Role.code, Role.name)).all())
    return _LANE.sub(lambda m: m.group(1) + names.get(m.group(2), m.group(2)) + m.group(3), xml)


def get_model(process_id: str) -> ProcessModel:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id))
    if model is None or model.current_version is None:
        raise NotFound("流程不存在或未部署")
    return model


def approval_record_context(instance: ProcessInstance) -> dict:
    """What the approval record (打印/PDF) shows: form sections, history, signatures."""
    from app.inbox import printing

    events = [
        {
            "at": e.at,
            "step_name": e.step_name,
            "actor_name": e.actor_name,
            "comment": e.comment,
            "label": printing.event_label(e.kind),
        }
        for e in history(instance)
        if e.kind not in ("claim", "release", "attach")
    ]
    signs = [
        {"name": r.completed_by.name if r.completed_by else "", "at": r.completed_at, "image": r.signature}
        for r in signatures(instance)
        if (r.signature or "").startswith("data:image/png;base64,")
    ]
    initiator = db.session.get(User, instance.initiator_id) if instance.initiator_id else None
    return {
        "title": f"{instance.title}审批单",
        "number": None,
        "process_name": instance.spec_info.name,
        "started_at": instance.started_at,
        "initiator": initiator.name if initiator else None,
        "sections": [asdict(section) for section in printing.record(instance)],  # JSON: the job stores it
        "history": events,
        "signatures": signs,
    }


def process_choices() -> list[ProcessModel]:
    return list(db.session.scalars(select(ProcessModel).order_by(ProcessModel.name)))


def form_schema(row: HumanTask) -> dict:
    """The JSON schema of the form of a row's task (empty when the task has none)."""
    wf = runtime.load(row.instance)
    task = runtime.find_task(wf, row.spiff_task_id)
    info = deploy.task_info(row.instance.spec_info).get(task.task_spec.name, {}) if task else {}
    return forms.parse((row.instance.spec_info.forms or {}).get(info.get("form") or ""))


def draft_data(row: HumanTask, form) -> dict:
    """暂存 keeps what was typed, valid or not yet."""
    data, _errors = forms.coerce(form_schema(row), form)
    return data


def my_open_task(instance: ProcessInstance, user) -> int | None:
    started = getattr(instance, "started_rows", None)  # started in this request: its rows are in memory
    if started is not None:
        return next((r.id for r in started if r.status == "open" and r.assignee_id == user.id), None)
    return db.session.scalar(
        select(HumanTask.id)
        .where(HumanTask.instance_id == instance.id, HumanTask.status == "open", HumanTask.assignee_id == user.id)
        .limit(1)
    )


def notifications(user):
    from app.inbox.models import Notification

    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_notifications_read(user) -> None:
    from app.inbox.models import Notification

    for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ):
        n.read_at = utcnow()


def sender_names(items) -> dict[int, str]:
    """Names of who sent a page of list rows (the instance's initiator, or who copied it), one query."""
    ids = set()
    for item in items:
        ids.add(getattr(item, "sender_id", None) or getattr(getattr(item, "instance", None), "initiator_id", None))
    ids.discard(None)
    if not ids:
        return {}
    return {uid: name for uid, name in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}
