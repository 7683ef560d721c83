"""Process administration pages (/admin/processes): the model list, the editors, validate and deploy.

Each view: load (404) → permission `process.admin` → one service → one commit → render or JSON.
Version pages (compare, rollback, heatmap, dry run) are in ``version_routes``; instances in
``instance_routes``; both register on this blueprint.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine import forms
from app.engine.errors import SpecInvalid
from app.engine.models import INSTANCE_STATUS
from app.errors import NotFound, ValidationFailed, wants_json
from app.extensions import db
from app.processes import catalog, layout, uploads, workspace
from app.processes.editor_config import editor_config
from app.processes.models import DRAFT_KINDS
from app.security.access import permission_required

bp = Blueprint("processes", __name__, url_prefix="/admin/processes")

admin_required = permission_required("process.admin")


def _json_wanted() -> bool:
    return request.is_json or wants_json()


def spec_invalid_response(exc: SpecInvalid, status: int = 422):
    problems = [workspace.problem_dict(p) for p in exc.problems]
    errors = sum(1 for p in problems if p["severity"] == "error")
    return jsonify({"ok": False, "message": exc.message, "errors": errors, "problems": problems}), status


@bp.get("/")
@admin_required
def index():
    return render_template("processes/index.html", rows=catalog.rows(current_user), statuses=INSTANCE_STATUS)


@bp.post("/upload")
@admin_required
def upload():
    file = request.files.get("file")
    if file is not None and file.filename:
        filename, data = file.filename, file.read()
    elif request.form.get("text") and request.form.get("filename"):  # the second step of a clash: the choice
        filename, data = request.form["filename"], request.form["text"].encode("utf-8")
    else:
        raise ValidationFailed("请选择要上传的 .bpmn 文件", errors={"file": "请选择文件"})
    mode = request.form.get("mode") if request.form.get("mode") in ("version", "new") else None
    try:
        pid, note = uploads.upload_new(
            filename,
            data,
            current_user,
            mode=mode,
            new_id=request.form.get("new_id"),
            new_name=request.form.get("new_name"),
        )
    except uploads.ProcessExists as exc:
        db.session.rollback()
        if _json_wanted():
            clash = exc.clash
            body = {"ok": False, "error": "exists", "message": exc.message, "process_id": clash.process_id}
            return jsonify({**body, "choices": ["version", "new"], "suggestion": clash.suggestion}), 409
        return render_template("processes/upload_choice.html", clash=exc.clash, message=exc.message)
    db.session.commit()
    if _json_wanted():
        return jsonify({"ok": True, "process_id": pid, "note": note, "edit_url": url_for(".edit", pid=pid)})
    flash(f"已上传到流程「{pid}」的草稿" + (f"；{note}" if note else ""), "success")
    return redirect(url_for(".edit", pid=pid))


@bp.get("/<pid>")
@admin_required
def model(pid: str):
    rows = catalog.rows(current_user, pid)
    if not rows:
        raise NotFound(f"流程「{pid}」不存在")
    return render_template("processes/model.html", row=rows[0], statuses=INSTANCE_STATUS)


@bp.post("/<pid>/enabled")
@admin_required
def set_enabled(pid: str):
    model = workspace.get_model(pid)
    if model is None:
        raise NotFound(f"流程「{pid}」尚未部署")
    enabled = request.form.get("enabled") == "1"
    workspace.set_enabled(model, enabled, current_user)
    db.session.commit()
    flash(f"流程「{model.name}」已{'启用' if enabled else '停用'}", "success")
    return redirect(url_for(".model", pid=pid))


# ---------------------------------------------------------------------------------------------
# the editors


@bp.get("/<pid>/edit")
@admin_required
def edit(pid: str):
    ws = workspace.load(pid)
    name = request.args.get("file") or ws.main
    if name is None:
        raise NotFound("工作区中没有文件")
    current = ws.get(name)
    config = {
        **(editor_config(ws) if current.kind == "bpmn" else {}),
        "pid": pid,
        "file": current.name,
        "kind": current.kind,
        "main": ws.main,
        "urls": {
            "file": url_for(".file", pid=pid, name=current.name),
            "load": url_for(".file", pid=pid, name=current.name, layout=1),
            "validate": url_for(".validate", pid=pid),
            "deploy": url_for(".deploy_view", pid=pid),
            "model": url_for(".model", pid=pid),
            "preview": url_for(".form_preview", pid=pid),
        },
    }
    note = layout.editor_note(current.text) if current.kind == "bpmn" else None
    return render_template(
        "processes/editor.html",
        ws=ws,
        current=current,
        kinds=DRAFT_KINDS,
        config=json.dumps(config, ensure_ascii=False),
        layout_note=note,
    )


@bp.get("/<pid>/files/<name>")
@admin_required
def file(pid: str, name: str):
    found = workspace.load(pid).get(name)
    # Shown to the editors as plain text (never rendered by the browser); downloads keep their type.
    mimetype = "text/plain"
    headers = {}
    text = found.text
    if request.args.get("download"):
        mimetype = "application/json" if found.kind == "form" else "application/xml"
        headers["Content-Disposition"] = _attachment(found.name)
    elif request.args.get("layout") and found.kind == "bpmn":
        text = layout.for_display(text)  # generated layout when there is no BPMNDI, prefixed refs resolved
    return Response(text, mimetype=mimetype, headers=headers)


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(name)}"


@bp.post("/<pid>/files/<name>")
@admin_required
def save_file(pid: str, name: str):
    ws = workspace.load(pid)
    payload = request.get_json(silent=True)
    text = payload.get("text") if isinstance(payload, dict) else request.form.get("text")
    if not isinstance(text, str):
        raise ValidationFailed("缺少文件内容", errors={"text": "缺少文件内容"})
    allow_loss = bool(payload.get("allow_loss")) if isinstance(payload, dict) else False
    draft = workspace.save_file(ws, name, text, current_user, allow_loss=allow_loss)
    db.session.commit()
    return jsonify({"ok": True, "file": draft.filename, "saved_at": draft.updated_at.isoformat()})


@bp.post("/<pid>/files/<name>/delete")
@admin_required
def delete_file(pid: str, name: str):
    ws = workspace.load(pid)
    workspace.delete_file(ws, name, current_user)
    db.session.commit()
    flash(f"已从工作区删除「{name}」（部署后生效）", "success")
    return redirect(url_for(".edit", pid=pid))


@bp.post("/<pid>/files")
@admin_required
def add_files(pid: str):
    """Upload files into the workspace, or create a new form / decision table from a skeleton."""
    ws = workspace.load(pid)
    new_name = (request.form.get("new_name") or "").strip()
    if new_name:
        draft = workspace.new_file(ws, new_name, current_user)
        db.session.commit()
        flash(f"已新建「{draft.filename}」", "success")
        return redirect(url_for(".edit", pid=pid, file=draft.filename))
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        raise ValidationFailed("请选择要上传的文件", errors={"files": "请选择文件"})
    saved = []
    for upload_file in uploads:
        name, note = workspace.upload_into(ws, upload_file.filename, upload_file.read(), current_user)
        saved.append(name)
        if note:
            flash(f"{name}：{note}", "info")
    db.session.commit()
    if _json_wanted():
        return jsonify({"ok": True, "files": saved})
    flash(f"已上传：{'、'.join(saved)}", "success")
    return redirect(url_for(".edit", pid=pid, file=saved[0]))


@bp.post("/<pid>/discard")
@admin_required
def discard(pid: str):
    ws = workspace.load(pid)
    count = workspace.discard(ws, current_user)
    db.session.commit()
    flash(f"已放弃 {count} 个草稿文件", "success")
    if ws.model is None:
        return redirect(url_for(".index"))
    return redirect(url_for(".model", pid=pid))


@bp.post("/<pid>/validate")
@admin_required
def validate(pid: str):
    result = workspace.validate(workspace.load(pid))
    return jsonify(result)


@bp.post("/<pid>/deploy")
@admin_required
def deploy_view(pid: str):
    ws = workspace.load(pid)
    payload = request.get_json(silent=True) if request.is_json else None
    comment = (payload or {}).get("comment") if payload else request.form.get("comment")
    try:
        version = workspace.deploy_workspace(ws, current_user, comment)
    except SpecInvalid as exc:
        db.session.rollback()
        if _json_wanted():
            return spec_invalid_response(exc)
        for p in exc.problems[:10]:
            flash(f"{p.element_id or p.file}：{p.message}", "danger")
        return redirect(url_for(".edit", pid=pid))
    db.session.commit()
    message = f"已部署流程「{version.model.name}」第 {version.version} 版"
    flash(message, "success")  # the editor moves on to the version list, which shows it
    if _json_wanted():
        return jsonify({"ok": True, "version": version.version, "message": message, "url": url_for(".model", pid=pid)})
    return redirect(url_for(".model", pid=pid))


@bp.post("/<pid>/form-preview")
@admin_required
def form_preview(pid: str):
    """The form as the inbox renders it (htmx partial), from the editor's current text."""
    ws = workspace.load(pid)
    name = request.form.get("file") or ""
    text = request.form.get("text") or ""
    error = None
    schema: dict = {}
    ui: dict = {}
    try:
        if name.endswith(".uischema.json"):
            ui = json.loads(text or "{}")
            partner = ws.files.get(name.replace(".uischema.json", ".schema.json"))
            schema = json.loads(partner.text) if partner else {}
        else:
            schema = json.loads(text or "{}")
            partner = ws.files.get(name.replace(".schema.json", ".uischema.json"))
            ui = json.loads(partner.text) if partner and partner.name != name else {}
        if not isinstance(schema, dict) or not isinstance(ui, dict):
            raise ValueError("顶层必须是 JSON 对象")
        fields = forms.fields(schema, ui)
    except json.JSONDecodeError as exc:
        error, fields = f"JSON 格式错误：{workspace.json_error(exc)}", []
    except ValueError as exc:
        error, fields = f"JSON 格式错误：{exc}", []
    except (AttributeError, TypeError) as exc:
        error, fields = f"表单定义无法解析：{exc}", []
    return render_template("processes/_form_preview.html", fields=fields, schema=schema, error=error)


from app.processes import instance_routes, version_routes  # noqa: E402,F401  (register their views)
