"""Version pages: download, compare, roll back, migrate instances, the heatmap, and dry runs of the drafts."""

from __future__ import annotations

import io
import json
import zipfile

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine import deploy
from app.engine.errors import SpecInvalid
from app.engine.models import INSTANCE_STATUS
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.processes import diff, dryrun, heatmap, layout, operations, workspace
from app.processes.routes import _attachment, _json_wanted, admin_required, bp, spec_invalid_response


def _model(pid: str):
    model = workspace.get_model(pid)
    if model is None:
        raise NotFound(f"流程「{pid}」尚未部署")
    return model


def _version_number(value: str | None, what: str) -> int:
    if not value or not value.isdigit():
        raise ValidationFailed(f"请选择{what}")
    return int(value)


@bp.get("/<pid>/versions/<int:number>/bpmn")
@admin_required
def version_bpmn(pid: str, number: int):
    version = workspace.get_version(_model(pid), number)
    # The viewers draw files without BPMNDI with a generated layout.
    return Response(layout.for_display(version.bpmn), mimetype="text/plain")


@bp.get("/<pid>/versions/<int:number>/files/<name>")
@admin_required
def version_file(pid: str, number: int, name: str):
    version = workspace.get_version(_model(pid), number)
    files = diff.all_files(deploy.version_sources(version))
    if name not in files:
        raise NotFound(f"第 {number} 版中没有文件「{name}」")
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    return Response(files[name], mimetype=mimetype, headers={"Content-Disposition": _attachment(name)})


@bp.get("/<pid>/versions/<int:number>/download")
@admin_required
def version_zip(pid: str, number: int):
    version = workspace.get_version(_model(pid), number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in diff.all_files(deploy.version_sources(version)).items():
            folder = {"bpmn": "workflows", "dmn": "rules"}.get(name.rsplit(".", 1)[-1], "forms")
            archive.writestr(f"{folder}/{name}", text)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": _attachment(f"{pid}-v{number}.zip")},
    )


@bp.post("/<pid>/versions/<int:number>/rollback")
@admin_required
def rollback(pid: str, number: int):
    model = _model(pid)
    try:
        version = workspace.rollback(model, number, current_user)
    except SpecInvalid as exc:
        db.session.rollback()
        if _json_wanted():
            return spec_invalid_response(exc)
        flash(f"第 {number} 版的定义已无法通过校验：{exc.problems[0].message}", "danger")
        return redirect(url_for(".model", pid=pid))
    db.session.commit()
    message = f"已将第 {number} 版的内容部署为第 {version.version} 版"
    if _json_wanted():
        return jsonify({"ok": True, "version": version.version, "message": message})
    flash(message, "success")
    return redirect(url_for(".model", pid=pid))


def _side(pid: str, model, value: str | None, what: str):
    """A version's sources, or the workspace drafts ("draft"), with a label."""
    if value == "draft":
        return workspace.load(pid).sources(), "草稿"
    version = workspace.get_version(model, _version_number(value, what))
    return deploy.version_sources(version), f"第 {version.version} 版"


@bp.get("/<pid>/compare")
@admin_required
def compare(pid: str):
    model = _model(pid)
    old, old_label = _side(pid, model, request.args.get("a"), "旧版本")
    new, new_label = _side(pid, model, request.args.get("b"), "新版本")
    semantic = diff.semantic_diff(old.bpmn, new.bpmn)
    extra = {}
    for name in sorted(set(old.extra_bpmn) & set(new.extra_bpmn)):
        extra[name] = diff.semantic_diff(old.extra_bpmn[name], new.extra_bpmn[name])
    text = diff.text_diff(diff.all_files(old), diff.all_files(new))
    if _json_wanted():
        return jsonify(
            {
                "added": [e.id for e in semantic.added],
                "removed": [e.id for e in semantic.removed],
                "changed": {e.id: [c.key for c in changes] for e, changes in semantic.changed},
                "text": text,
            }
        )
    return render_template(
        "processes/compare.html",
        model=model,
        semantic=semantic,
        extra=extra,
        text=text,
        old_label=old_label,
        new_label=new_label,
        a=request.args.get("a"),
        b=request.args.get("b"),
    )


@bp.post("/<pid>/migrate")
@admin_required
def migrate_all(pid: str):
    model = _model(pid)
    target = workspace.get_version(model, _version_number(request.form.get("target"), "目标版本"))
    apply = request.form.get("apply") == "1"
    results = operations.migrate_many(model.id, target, current_user, apply=apply)
    if apply:
        db.session.commit()
    else:
        db.session.rollback()
    if _json_wanted():
        return jsonify(
            {
                "applied": apply,
                "results": [{"instance": r.instance.id, "ok": r.ok, "reason": r.reason} for r in results],
            }
        )
    return render_template(
        "processes/migrate.html", model=model, target=target, results=results, applied=apply, statuses=INSTANCE_STATUS
    )


@bp.get("/<pid>/heatmap")
@admin_required
def heatmap_view(pid: str):
    model = _model(pid)
    number = request.args.get("version")
    version = workspace.get_version(model, int(number)) if number and number.isdigit() else model.current_version
    stats = heatmap.step_stats(current_user, pid, version.id if request.args.get("scope") != "all" else None)
    for row in stats.values():
        row["avg_label"] = heatmap.duration_label(row["avg_seconds"])
    versions = sorted({v.version for v in _versions(model)}, reverse=True)
    return render_template(
        "processes/heatmap.html",
        model=model,
        version=version,
        versions=versions,
        stats=stats,
        stats_json=json.dumps(stats, ensure_ascii=False),
        all_versions=request.args.get("scope") == "all",
    )


def _versions(model):
    from sqlalchemy import select

    from app.engine.models import ProcessVersion

    return db.session.scalars(select(ProcessVersion).where(ProcessVersion.model_id == model.id))


# ---------------------------------------------------------------------------------------------
# dry runs (no rows are written: the route never commits and rolls back)


@bp.get("/<pid>/dryrun")
@admin_required
def dryrun_page(pid: str):
    ws = workspace.load(pid)
    return render_template(
        "processes/dryrun.html",
        ws=ws,
        bpmn_url=url_for(".file", pid=pid, name=ws.main, layout=1) if ws.main else None,
    )


@bp.post("/<pid>/dryrun")
@admin_required
def dryrun_step(pid: str):
    ws = workspace.load(pid)
    try:
        data = dryrun.parse_data(request.form.get("data"))
        token = request.form.get("token")
        if token and request.form.get("advance"):
            result = dryrun.advance(ws, token, dryrun.parse_hours(request.form.get("hours")), current_user)
        elif token:
            task_id = request.form.get("task_id") or ""
            action = request.form.get("action") or None
            result = dryrun.step(ws, token, task_id, data, action, current_user)
        else:
            result = dryrun.start(ws, data, current_user)
    except SpecInvalid as exc:
        db.session.rollback()
        return render_template("processes/_dryrun.html", problems=exc.problems, result=None, pid=pid), 422
    finally:
        db.session.rollback()
    return render_template("processes/_dryrun.html", result=result, problems=None, pid=pid)
