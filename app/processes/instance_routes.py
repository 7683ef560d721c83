"""Instance administration: the scoped list, the instance page, and the acts on an instance."""

from __future__ import annotations

import json

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.auth.models import User
from app.engine import runtime
from app.engine.models import INSTANCE_STATUS, Incident, InstanceEvent, ProcessInstance, ProcessModel, ProcessVersion
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.inbox.models import TASK_STATUS, HumanTask
from app.orgs import services as orgs
from app.orgs.models import Organisation
from app.portal.paging import paginate
from app.processes import instances, operations, workspace
from app.processes.routes import _json_wanted, admin_required, bp
from app.security.scope import scope_for

EVENT_LABELS = {
    "start": "发起",
    "complete": "提交",
    "approve": "通过",
    "reject": "拒绝",
    "return": "退回",
    "withdraw": "撤回",
    "reclaim": "拿回",
    "timer": "定时器",
    "terminate": "终止",
    "end": "办结",
    "suspend": "挂起",
    "resume": "恢复",
    "retry": "重试",
    "move": "移动令牌",
    "migrate": "迁移版本",
    "auto_approve": "自动通过",
    "auto_reject": "自动拒绝",
    "skip": "跳过",
}


@bp.get("/instances")
@admin_required
def instance_list():
    filters = instances.Filters.from_args(request.args)
    page = paginate(instances.list_query(current_user, filters), request.args.get("page"))
    org_ids = {i.org_id for i in page.items}
    user_ids = {i.initiator_id for i in page.items if i.initiator_id}
    org_names = (
        {o.id: o.name for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
        if org_ids
        else {}
    )
    people = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    models = db.session.scalars(select(ProcessModel).order_by(ProcessModel.process_id)).all()
    return render_template(
        "processes/instances.html",
        page=page,
        filters=filters,
        statuses=INSTANCE_STATUS,
        models=models,
        orgs=orgs.list_orgs(scope_for(current_user)),
        org_names=org_names,
        people=people,
    )


@bp.get("/instances/export.<fmt>")
@admin_required
def instance_export(fmt: str):
    """The instance list with the page's filters and scope, as CSV or XLSX; a large one as a background job
    with progress (app/tabular/background.py)."""
    from sqlalchemy import func

    from app.tabular import background, lists
    from app.tabular.export import send

    filters = instances.Filters.from_args(request.args)
    stmt = instances.list_query(current_user, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if total > background.threshold():
        page = background.start("instances", user=current_user, args=request.args.to_dict(), fmt=fmt, title="流程实例")
        db.session.commit()
        return page
    rows = db.session.scalars(stmt.limit(10000)).all()
    org_ids = {i.org_id for i in rows}
    user_ids = {i.initiator_id for i in rows if i.initiator_id}
    org_names = dict(
        db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))).all()
    )
    people = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
    columns = lists.instance_columns(org_names, people, INSTANCE_STATUS)
    return send(columns, rows, filename="流程实例", fmt=fmt, sheet="流程实例")


def _load(instance_id: int):
    return instances.get_scoped(current_user, instance_id)


@bp.get("/instances/<int:instance_id>")
@admin_required
def instance_detail(instance_id: int):
    instance = _load(instance_id)
    version = instance.version
    wf = runtime.load(instance)
    marks = instances.markers(wf, version.bpmn)
    unmask = current_user.can("sensitive.unmask")
    raw = runtime.instance_data(wf)
    data = raw if unmask else instances.mask_data(raw)
    events = db.session.scalars(
        select(InstanceEvent)
        .where(InstanceEvent.instance_id == instance.id)
        .order_by(InstanceEvent.at, InstanceEvent.id)
    ).all()
    incidents = db.session.scalars(
        select(Incident).where(Incident.instance_id == instance.id).order_by(Incident.id.desc())
    ).all()
    tasks = db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at, HumanTask.id)
    ).all()
    newer = db.session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.model_id == version.model_id, ProcessVersion.version > version.version)
        .order_by(ProcessVersion.version.desc())
    ).all()
    failed_data = {}
    for task in wf.get_tasks(state=TaskState.ERROR):
        failed_data[task.task_spec.bpmn_id] = dict(task.data) if unmask else instances.mask_data(dict(task.data))
    return render_template(
        "processes/instance.html",
        instance=instance,
        version=version,
        org=db.session.get(Organisation, instance.org_id),
        initiator=db.session.get(User, instance.initiator_id) if instance.initiator_id else None,
        marks=json.dumps(marks),
        marks_dict=marks,
        data=json.dumps(data, ensure_ascii=False, indent=2, default=str),
        failed_data={k: json.dumps(v, ensure_ascii=False, indent=2, default=str) for k, v in failed_data.items()},
        events=events,
        event_labels=EVENT_LABELS,
        incidents=incidents,
        tasks=tasks,
        task_status=TASK_STATUS,
        statuses=INSTANCE_STATUS,
        choices=instances.step_choices(wf),
        newer=newer,
    )


def _done(instance, message: str):
    db.session.commit()
    if _json_wanted():
        return jsonify({"ok": True, "status": instance.status, "message": message})
    flash(message, "success")
    return redirect(url_for(".instance_detail", instance_id=instance.id))


@bp.post("/instances/<int:instance_id>/suspend")
@admin_required
def instance_suspend(instance_id: int):
    instance = _load(instance_id)
    operations.suspend(instance, current_user, request.form.get("reason"))
    return _done(instance, "流程已挂起")


@bp.post("/instances/<int:instance_id>/resume")
@admin_required
def instance_resume(instance_id: int):
    instance = _load(instance_id)
    operations.resume(instance, current_user, request.form.get("reason"))
    return _done(instance, "流程已恢复")


@bp.post("/instances/<int:instance_id>/terminate")
@admin_required
def instance_terminate(instance_id: int):
    instance = _load(instance_id)
    operations.terminate(instance, current_user, request.form.get("reason"))
    return _done(instance, "流程已终止")


@bp.post("/instances/<int:instance_id>/move")
@admin_required
def instance_move(instance_id: int):
    instance = _load(instance_id)
    operations.move(instance, current_user, request.form.get("target") or "", request.form.get("reason"))
    return _done(instance, "令牌已移动")


@bp.post("/instances/<int:instance_id>/incidents/<int:incident_id>/retry")
@admin_required
def instance_retry(instance_id: int, incident_id: int):
    instance = _load(instance_id)
    incident = db.session.get(Incident, incident_id)
    if incident is None or incident.instance_id != instance.id:
        raise NotFound("异常事件不存在")
    try:
        changes = json.loads(request.form.get("data") or "{}")
    except json.JSONDecodeError as exc:
        message = f"修改的数据不是有效的 JSON：{workspace.json_error(exc)}"
        raise ValidationFailed(message, errors={"data": "请输入 JSON 对象"}) from exc
    ok = operations.retry(instance, incident, current_user, changes)
    return _done(instance, "重试成功，流程已继续" if ok else "重试仍然失败，请查看异常信息")


@bp.post("/instances/<int:instance_id>/migrate")
@admin_required
def instance_migrate(instance_id: int):
    instance = _load(instance_id)
    model = db.session.get(ProcessModel, instance.version.model_id)
    value = request.form.get("target") or ""
    if not value.isdigit():
        raise ValidationFailed("请选择目标版本")
    target = workspace.get_version(model, int(value))
    operations.migrate(instance, target, current_user)
    return _done(instance, f"已迁移到第 {target.version} 版")


def _instances_export(user, args: dict):
    """The background export of the instance list (app/tabular/background.py): all of the user's scope."""
    from sqlalchemy import func
    from werkzeug.datastructures import MultiDict

    from app.tabular import lists

    stmt = instances.list_query(user, instances.Filters.from_args(MultiDict(args))).order_by(None)
    stmt = stmt.order_by(ProcessInstance.id.desc())
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    org_names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    people = dict(db.session.execute(select(User.id, User.name)).all())
    return lists.instance_columns(org_names, people, INSTANCE_STATUS), stmt, total, "流程实例", "流程实例"


def _register_exports() -> None:
    from app.tabular.background import exporter

    exporter("instances")(_instances_export)


_register_exports()
