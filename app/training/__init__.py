"""Skill training (技能拉练, R2.1.2): question bank, competitions (执法比武) with blind manual marking of
案例分析 answers through the inbox, practice (模拟练习) with a wrong-answer book, records and statistics.

`init_app` registers the blueprint, the marking process's service task and the expiry job."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.engine.cli import register_job
    from app.engine.services import register_services
    from app.training import compete, marking
    from app.training.routes import bp

    app.register_blueprint(bp)
    register_services(marking)
    register_job("training.expire", compete.expire_all, every=30)  # submit papers whose time ran out
