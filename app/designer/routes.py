"""The simple designer pages (/admin/designer): the list, the tree editor, and its JSON endpoints.

Each view: permission ``process.admin`` → parse input → one service → one commit → render or JSON.
The editor posts ``{"tree": ..., "new": bool}``; errors come back as JSON with Chinese messages.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_login import current_user

from app.designer import services, templates
from app.designer.compile import compile_tree
from app.designer.parse import OutsideSubset
from app.designer.tree import DELAY_UNITS, NODE_TYPES, OPERATORS, check, normalize
from app.errors import DomainError, ValidationFailed, wants_json
from app.extensions import db
from app.security.access import permission_required

bp = Blueprint("designer", __name__, url_prefix="/admin/designer")
admin_required = permission_required("process.admin")


def _json_request() -> bool:
    return request.is_json or wants_json()


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    if _json_request():
        body = {"ok": False, "error": exc.code, "message": exc.message}
        if exc.errors:
            body["errors"] = exc.errors
        if isinstance(exc, services.DesignInvalid):
            body["problems"] = exc.problems
            body["errors_count"] = sum(1 for p in exc.problems if p["severity"] == "error")
        return jsonify(body), exc.status
    return render_template("errors/error.html", status=exc.status, message=exc.message, errors=exc.errors), exc.status


def _modeler_url(process_id: str) -> str | None:
    if process_id and "processes.edit" in current_app.view_functions:
        return url_for("processes.edit", pid=process_id)
    return None


def _payload() -> tuple[dict, bool]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("tree"), dict | str):
        raise ValidationFailed("请求中缺少流程树（tree）")
    return normalize(body["tree"]), bool(body.get("new"))


def _editor(opened: services.Opened, *, new: bool, notice: str | None = None):
    pid = opened.process_id
    config = {
        "tree": opened.tree,
        "new": new,
        "catalog": services.page_config(pid),
        "nodeTypes": NODE_TYPES,
        "operators": OPERATORS,
        "delayUnits": DELAY_UNITS,
        "urls": {
            "compile": url_for(".compile_view"),
            "validate": url_for(".validate_view"),
            "save": url_for(".save_view"),
            "deploy": url_for(".deploy_view"),
            "modeler": url_for(".modeler_view") if "processes.edit" in current_app.view_functions else None,
            "index": url_for(".index"),
            "edit": url_for(".edit", pid="__pid__"),
            "start": url_for("inbox.start", process_id="__pid__"),
        },
    }
    return render_template(
        "designer/editor.html",
        opened=opened,
        new=new,
        notice=notice,
        config=json.dumps(config, ensure_ascii=False),
    )


# ---------------------------------------------------------------------------------------------
# pages


@bp.get("/")
@admin_required
def index():
    return render_template(
        "designer/index.html",
        templates=templates.catalogue(),
        rows=services.catalogue(),
        modeler=("processes.edit" in current_app.view_functions),
    )


@bp.get("/new")
@admin_required
def new():
    key = request.args.get("template", "blank")
    if key not in templates.TEMPLATES:
        raise ValidationFailed(f"没有名为「{key}」的模板")
    opened = services.Opened(templates.template_tree(key), "", False, True, None)
    return _editor(opened, new=True)


@bp.get("/edit/<pid>")
@admin_required
def edit(pid: str):
    try:
        opened = services.open_process(pid)
    except OutsideSubset as exc:
        return render_template("designer/refused.html", pid=pid, reason=exc.message, modeler=_modeler_url(pid)), 422
    return _editor(opened, new=False)


@bp.get("/edit/<pid>/tree")
@admin_required
def tree_json(pid: str):
    opened = services.open_process(pid)
    return jsonify({"ok": True, "tree": opened.tree, "draft": opened.draft, "version": opened.version})


@bp.post("/import")
@admin_required
def import_view():
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationFailed("请选择要导入的 .bpmn 文件", errors={"file": "请选择文件"})
    try:
        opened = services.import_bpmn(file.filename, file.read())
    except OutsideSubset as exc:
        pid = ""
        return render_template("designer/refused.html", pid=pid, reason=exc.message, modeler=None, upload=True), 422
    notice = f"已从文件「{file.filename}」读入流程，保存或部署后生效"
    return _editor(opened, new=not opened.exists, notice=notice)


# ---------------------------------------------------------------------------------------------
# JSON endpoints of the editor


@bp.post("/api/compile")
@admin_required
def compile_view():
    tree, _new = _payload()
    compiled = compile_tree(tree)
    problems = [p.as_dict() for p in check(compiled.tree)]
    return jsonify({"ok": True, "bpmn": compiled.xml, "problems": problems})


@bp.post("/api/validate")
@admin_required
def validate_view():
    tree, _new = _payload()
    checked = services.check(tree)
    return jsonify({"ok": checked.errors == 0, "errors": checked.errors, "problems": checked.problems})


@bp.post("/api/save")
@admin_required
def save_view():
    tree, new = _payload()
    draft = services.save_draft(tree, current_user, new=new)
    db.session.commit()
    pid = draft.process_id
    return jsonify(
        {
            "ok": True,
            "process_id": pid,
            "saved_at": draft.updated_at.isoformat(),
            "edit_url": url_for(".edit", pid=pid),
            "message": "草稿已保存（部署后生效）",
        }
    )


@bp.post("/api/deploy")
@admin_required
def deploy_view():
    tree, new = _payload()
    comment = (request.get_json(silent=True) or {}).get("comment")
    version = services.deploy_tree(tree, current_user, new=new, comment=comment if isinstance(comment, str) else None)
    db.session.commit()
    pid = version.model.process_id
    return jsonify(
        {
            "ok": True,
            "process_id": pid,
            "version": version.version,
            "message": f"已部署流程「{version.model.name}」第 {version.version} 版",
            "edit_url": url_for(".edit", pid=pid),
            "start_url": url_for("inbox.start", process_id=pid),
            "model_url": url_for("processes.model", pid=pid)
            if "processes.model" in current_app.view_functions
            else None,
        }
    )


@bp.post("/api/modeler")
@admin_required
def modeler_view():
    """Save the tree as the workspace draft and hand over to the BPMN modeler for advanced edits."""
    tree, new = _payload()
    draft = services.save_draft(tree, current_user, new=new)
    db.session.commit()
    url = _modeler_url(draft.process_id)
    if url is None:
        raise ValidationFailed("BPMN 编辑器不可用")
    return jsonify({"ok": True, "url": url, "process_id": draft.process_id})
