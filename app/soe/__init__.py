"""国有集团 (R2.5.3, R2.5.4): the groups' structure and inspection records (received by app/exchange),
典型隐患 and 典型违法行为 across groups with charts, and 监管指导建议 / 意见反馈 through the inbox.

`init_app` registers the blueprint, the soe.* service tasks and the reminder round."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.engine.cli import register_jobs
    from app.engine.services import register_services
    from app.soe import guidance
    from app.soe.routes import bp

    app.register_blueprint(bp)
    register_services(guidance)
    register_jobs(guidance)
