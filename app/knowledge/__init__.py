"""知识智库 (R2.1.1): 违法行为库, 典型案例库, 合规指引; search, review through BPMN, import/export, the picker.

`init_app` registers the blueprint and the knowledge.* service tasks of workflows/knowledge_review.bpmn."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.engine.services import register_services
    from app.knowledge import review, search
    from app.knowledge.routes import bp

    app.register_blueprint(bp)
    register_services(review)
    search.install()  # kept facets are counted again after a change (search.mark_changed)
