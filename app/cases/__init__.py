"""案卷评查辅助 (R2.5.1): cases with parties, violations, documents and procedure dates; versioned review
checklists with automatic checks; the case_review process in the inbox; 合格案卷 reminders; 行刑衔接.

`init_app` registers the blueprint (with the admin pages), the cases.* service tasks of
workflows/case_review.bpmn and the reminder round of the scheduler."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.cases import admin_routes, jobs, review  # noqa: F401  (admin_routes adds its pages to bp)
    from app.cases.routes import bp
    from app.engine.cli import register_jobs
    from app.engine.services import register_services

    app.register_blueprint(bp)
    register_services(review)
    register_jobs(jobs)
