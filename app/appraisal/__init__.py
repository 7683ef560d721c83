"""评议考核 (R2.5.2): versioned appraisal schemes over registered data sources, staff appraisal computed
as a background job plus reviewer scores through the inbox, 负责人考核生成, publication, objections.

`init_app` registers the blueprint and the appraisal.* service tasks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.appraisal import process
    from app.appraisal.routes import bp
    from app.engine.services import register_services

    app.register_blueprint(bp)
    register_services(process)
