"""Enterprise supervision (R2.1.4–R2.1.6): the enterprise base and 一企一档 (this package), the grade
model (app.grading), labels (app.labels), triggered supervision (app.triggers), check once (app.checklimit).

`init_app` registers their blueprints, service tasks and scheduler jobs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.checklimit import process as checklimit_process
    from app.checklimit.routes import bp as checklimit_bp
    from app.engine.cli import register_job
    from app.engine.services import register_services
    from app.enterprises.routes import bp as enterprises_bp
    from app.grading.events import nightly
    from app.grading.routes import bp as grading_bp
    from app.labels.routes import bp as labels_bp
    from app.triggers import process as trigger_process
    from app.triggers.routes import bp as triggers_bp
    from app.triggers.services import evaluate_new

    for bp in (enterprises_bp, grading_bp, labels_bp, triggers_bp, checklimit_bp):
        app.register_blueprint(bp)
    app.config.setdefault("GRADING_NIGHTLY_HOUR", 1)
    register_services(checklimit_process)
    register_services(trigger_process)
    register_job("grading.nightly", nightly)
    register_job("triggers.evaluate", evaluate_new)
