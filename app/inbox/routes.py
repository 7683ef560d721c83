"""Inbox pages: tabs, the task page and its action buttons, the instance page, starting a process."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine import deploy
from app.engine.models import INSTANCE_STATUS
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.inbox import actions, acts, collab, lifecycle, printing, queries, services, uploads
from app.inbox.models import OUTCOMES, TASK_STATUS, HumanTask
from app.portal import params
from app.portal.paging import paginate
from app.security.access import permission_required

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
TABS = {"todo": "待办", "done": "已办", "started": "我发起的", "cc": "抄送我的"}


def filters_from(args) -> queries.Filters:
    def _int(name):
        value = args.get(name)
        return int(value) if value and value.isdigit() else None

    return queries.Filters(
        process=args.get("process") or None,
        status=args.get("status") or None,
        priority=_int("priority"),
        org_id=_int("org_id"),
        q=(args.get("q") or "").strip() or None,
        sort=args.get("sort") or "created_desc",
    )


@bp.get("/")
@permission_required("inbox.use")
def index():
    tab = request.args.get("tab", "todo")
    if tab not in TABS:
        tab = "todo"
    f = filters_from(request.args)
    stmt = {"todo": queries.todo, "done": queries.done, "started": queries.started, "cc": queries.copied}[tab](
        current_user, f
    )
    page = paginate(stmt, request.args.get("page"))
    processes = services.process_choices()
    template = "inbox/_list.html" if request.headers.get("HX-Request") else "inbox/index.html"
    return render_template(
        template,
        tab=tab,
        tabs=TABS,
        page=page,
        filters=f,
        processes=processes,
        counts=queries.counts(current_user),
        senders=services.sender_names(page.items),
        instance_status=INSTANCE_STATUS,
        task_status=TASK_STATUS,
        outcomes=OUTCOMES,
    )


@bp.get("/tasks/<int:task_id>")
@permission_required("inbox.use")
def task(task_id: int):
    row = services.visible_task(task_id, current_user)
    return _render_task(row)


def _render_task(row: HumanTask, values: dict | None = None, errors: dict | None = None, status: int = 200):
    view = services.task_view(row, current_user, values=values, errors=errors)
    return render_template(
        "inbox/task.html",
        view=view,
        history=services.history(row.instance),
        comments=services.comments(row.instance),
        attachments=services.attachments(row.instance),
        phrases=services.phrases(current_user),
        errors=errors or {},
        outcomes=OUTCOMES,
        task_status=TASK_STATUS,
        instance_status=INSTANCE_STATUS,
    ), status


@bp.post("/tasks/<int:task_id>/act")
@permission_required("inbox.use")
def act(task_id: int):
    row = services.visible_task(task_id, current_user)
    action = request.form.get("action", "")
    comment = (request.form.get("comment") or "").strip() or None
    try:
        message = _dispatch(row, action, comment)
    except ValidationFailed as exc:
        db.session.rollback()
        row = db.session.get(HumanTask, task_id)
        errors = dict(exc.errors) or {"_": exc.message}
        errors.setdefault("_", exc.message)
        return _render_task(row, values=request.form.to_dict(), errors=errors, status=422)
    db.session.commit()
    flash(message, "success")
    if action in ("claim", "release", "draft", "urge", "cc"):
        return redirect(url_for(".task", task_id=task_id))
    return redirect(url_for(".index"))


def _dispatch(row: HumanTask, action: str, comment: str | None) -> str:
    """The form's fields as the act's input; `acts.perform` does the act (the API calls it too)."""
    f = request.form
    if action == "return":
        comment = (f.get("return_reason") or "").strip() or comment  # typed in the 退回 dialog
    given = acts.ActInput(
        comment=comment,
        data=f,
        signature=f.get("signature") or None,
        target=f.get("target", ""),
        direct=bool(f.get("direct")),
        user=f.get("user", ""),
        users=f.getlist("users") or f.get("user", "").split(","),
        mode=f.get("mode", "after"),
    )
    if action in ("complete", "approve"):
        actions.ensure_actor(row, current_user)
        given.files = uploads.form_files(row, current_user, request.files, f)
    return acts.perform(row, current_user, action, given)


@bp.get("/instances/<int:instance_id>")
@permission_required("inbox.use", "process.admin")
def instance(instance_id: int):
    inst = services.visible_instance(instance_id, current_user)
    services.mark_cc_read(inst, current_user)
    db.session.commit()
    from app.engine.predict import predict

    return render_template(
        "inbox/instance.html",
        instance=inst,
        prediction=predict(inst),
        may_terminate=lifecycle.may_terminate(inst, current_user),
        history=services.history(inst),
        comments=services.comments(inst),
        attachments=services.attachments(inst),
        open_rows=services.open_rows(inst),
        instance_status=INSTANCE_STATUS,
        task_status=TASK_STATUS,
        outcomes=OUTCOMES,
    )


@bp.get("/instances/<int:instance_id>/diagram.json")
@permission_required("inbox.use", "process.admin")
def instance_diagram(instance_id: int):
    return services.diagram(services.visible_instance(instance_id, current_user))


@bp.post("/instances/<int:instance_id>/<verb>")
@permission_required("inbox.use")
def instance_act(instance_id: int, verb: str):
    inst = services.visible_instance(instance_id, current_user)
    if verb not in acts.INSTANCE_MESSAGES:
        abort(404)
    given = acts.ActInput(
        comment=request.form.get("reason") or request.form.get("comment"),
        data=request.form.get("body", ""),
        users=request.form.get("user", "").split(","),
    )
    storage = request.files.get("file")
    upload = (storage.filename, storage.read()) if storage is not None and storage.filename else None
    message = acts.perform_on_instance(inst, current_user, verb, given, upload=upload)
    db.session.commit()
    flash(message, "success")
    return redirect(request.referrer or url_for(".instance", instance_id=instance_id))


@bp.get("/attachments/<int:attachment_id>")
@permission_required("inbox.use", "process.admin")
def attachment(attachment_id: int):
    from app.security.uploads import clean_filename
    from app.storage import files

    item = collab.get_attachment(attachment_id)
    services.visible_instance(item.instance_id, current_user)
    name = clean_filename(item.filename)  # rows stored before names were cleaned may hold a NUL
    missing = "附件文件不存在或已被移除"
    return files.send(files.UPLOADS + item.path, mimetype=item.content_type, download_name=name, missing=missing)


@bp.route("/start", methods=["GET"])
@permission_required("inbox.use")
def start_list():
    return render_template("inbox/start_list.html", models=services.startable(current_user))


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@permission_required("inbox.use")
def start(process_id: str):
    model = services.get_model(process_id)
    schema, ui = services.start_form(model)
    errors: dict = {}
    if request.method == "POST":
        try:
            data = services.forms.check(schema, request.form) if schema else {}
            version = deploy.current_version(process_id, model=model)
            inst = actions.start(process_id, actor=current_user, data=data, version=version)
        except DomainError as exc:
            db.session.rollback()
            errors = dict(exc.errors) or {"_": exc.message}
            errors.setdefault("_", exc.message)
        else:
            # Everything the answer needs is read before the commit (no second transaction after it).
            flash(acts.started_message(inst), "success")
            mine = services.my_open_task(inst, current_user)
            db.session.commit()
            return redirect(url_for(".task", task_id=mine) if mine else url_for(".index", tab="started"))
    fields = services.forms.fields(schema, ui, request.form.to_dict(), errors) if schema else []
    return render_template("inbox/start.html", model=model, fields=fields, errors=errors), (422 if errors else 200)


@bp.post("/phrases")
@permission_required("inbox.use")
def add_phrase():
    services.add_phrase(current_user, request.form.get("text", ""))
    db.session.commit()
    return redirect(request.referrer or url_for(".index"))


@bp.get("/notifications")
@permission_required("inbox.use")
def notifications():
    page = paginate(services.notifications(current_user), request.args.get("page"))
    return render_template("inbox/notifications.html", page=page)


@bp.post("/notifications/read")
@permission_required("inbox.use")
def notifications_read():
    services.mark_notifications_read(current_user)
    db.session.commit()
    return redirect(url_for(".notifications"))


@bp.get("/badge")
@permission_required("inbox.use")
def badge():
    # Polled by every open page (~20 a second for 600 people): the session lookup and one count, no more.
    return render_template("inbox/_badge.html", counts={"todo": queries.todo_count(current_user)})


@bp.get("/pick/<kind>")
@permission_required("inbox.use")
def pick(kind: str):
    """Scoped look-ups for pickers: users, organisations, enterprises (value + label)."""
    from app.inbox.pickers import search

    instance = None
    if request.args.get("instance"):
        # Only people the instance may be handed or copied to (app/inbox/targets.py).
        instance = services.visible_instance(params.int_id(request.args.get("instance"), "instance"), current_user)
    return search(kind, request.args.get("q", ""), current_user, instance=instance)


@bp.get("/instances/<int:instance_id>/print")
@permission_required("inbox.use", "process.admin")
def print_instance(instance_id: int):
    inst = services.visible_instance(instance_id, current_user)
    return render_template(
        "inbox/print.html",
        instance=inst,
        sections=printing.record(inst),
        history=services.history(inst),
        signatures=services.signatures(inst),
        event_label=printing.event_label,
    )


@bp.get("/instances/<int:instance_id>/print.pdf")
@permission_required("inbox.use", "process.admin")
def print_pdf(instance_id: int):
    """The same record as the print page, as a PDF in the layout of an official document.

    Rendered by the job worker, once per content: the page shows the progress and links back here,
    where the finished (or an identical earlier) record is served.
    """
    from app.reports import background
    from app.reports.services import document_key
    from app.storage import files

    inst = services.visible_instance(instance_id, current_user)
    context = services.approval_record_context(inst)
    doc, job = background.render_once(
        user=current_user,
        kind="approval_record",
        title=context["title"],
        template="approval_record.html",
        context=context,
        org_id=inst.org_id,
        url=url_for(".print_pdf", instance_id=inst.id),
        instance_id=inst.id,
        business_key=inst.number,
    )
    if doc is not None:
        return files.send(
            document_key(doc),
            mimetype="application/pdf",
            as_attachment=False,
            download_name=f"record-{inst.number or inst.id}.pdf",
            missing="文书文件不存在或已被移除",
        )
    db.session.commit()
    return render_template("inbox/print_pending.html", instance=inst, job=job), 202
