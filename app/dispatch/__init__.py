"""Command and dispatch (指挥调度, R2.2.1–R2.2.3): device gateway client, registry and bindings, the one
screen (map, live positions, dispatch), enforcement video (recordings, storage, retention).

`init_app` registers the blueprints, the dispatch.* service tasks, the scheduler jobs and the names."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app import names
    from app.dispatch import jobs, services
    from app.dispatch.api import bp as api_bp
    from app.dispatch.api import hook_bp
    from app.dispatch.routes import bp
    from app.engine.cli import register_jobs
    from app.engine.services import register_services

    for blueprint in (bp, api_bp, hook_bp):
        app.register_blueprint(blueprint)
    register_services(services)
    register_jobs(jobs)
    from app.cli import ducha
    from app.devicesim.cli import devicesim_command

    if "devicesim" not in ducha.commands:
        ducha.add_command(devicesim_command)
    names.AUDIT_ACTIONS.update(
        {
            "dispatch.create": "调度派发",
            "dispatch.close": "调度办结",
            "dispatch.bind": "执法记录仪绑定人员",
            "dispatch.unbind": "执法记录仪解绑人员",
            "dispatch.device_register": "登记调度设备",
            "dispatch.device_retire": "调度设备退役",
            "dispatch.recording_link": "录像关联检查记录",
            "dispatch.recording_hold": "录像保全",
            "dispatch.recording_release": "解除录像保全",
            "dispatch.recording_purge": "录像到期删除",
            "dispatch.layer_import": "导入地图图层",
        }
    )
    names.OBJECT_TYPES.update(
        {"device": "调度设备", "dispatch": "调度记录", "recording": "执法录像", "map_layer": "地图图层"}
    )
    names.SERVICES.update({"dispatch.close": "调度办结"})
