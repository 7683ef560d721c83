"""Ducha application factory. No side effects at import time."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, request, session

from app.config import PROJECT_ROOT, load_config
from app.extensions import csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(load_config(test_config))
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from app import models  # noqa: F401  (register every table with the metadata)

    db.init_app(app)
    from app.dbpool import install_idle_ping, install_read_only_commit

    with app.app_context():  # pre-ping only connections that sat idle; reads end with COMMIT (app/dbpool.py)
        install_idle_ping(db.engine, app.config["DB_PING_IDLE_SECONDS"])
        install_read_only_commit(app, db)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"

    from app.ops import init_app as init_ops

    init_ops(app)  # request ids, metrics, readiness, ProxyFix, production checks (first: its hooks run first)
    from app.security.web import init_security

    # Crypto self-test (refuses to start), server-side sessions, throttling, audit checkpoint.
    init_security(app)

    from app.accounts_apply.routes import bp as accounts_apply_bp
    from app.admin.calendar import bp as calendar_bp
    from app.admin.routes import bp as admin_bp
    from app.alerts.routes import bp as alerts_bp
    from app.audit.routes import bp as audit_bp
    from app.auth.routes import bp as auth_bp
    from app.clues.routes import bp as clues_bp
    from app.designer.routes import bp as designer_bp
    from app.efficiency.routes import bp as efficiency_bp
    from app.engine.wiring import init_engine
    from app.inbox.clock_routes import bp as deadlines_bp
    from app.inbox.routes import bp as inbox_bp
    from app.inbox.upload_routes import bp as uploads_bp
    from app.plans.routes import bp as plans_bp
    from app.portal import params
    from app.portal.pwa import bp as pwa_bp
    from app.portal.routes import bp as portal_bp
    from app.processes.routes import bp as processes_bp
    from app.reports.routes import bp as reports_bp
    from app.security.routes import bp as security_bp
    from app.stats.routes import bp as stats_bp
    from app.stats.screen import bp as screen_bp

    params.init_app(app)  # before the blueprints: every <int:...> gets the id range
    for bp in (
        auth_bp,
        portal_bp,
        pwa_bp,
        admin_bp,
        reports_bp,
        audit_bp,
        security_bp,
        inbox_bp,
        deadlines_bp,
        uploads_bp,
        calendar_bp,
        clues_bp,
        plans_bp,
        alerts_bp,
        accounts_apply_bp,
        stats_bp,
        efficiency_bp,
        screen_bp,
    ):
        app.register_blueprint(bp)
    app.register_blueprint(processes_bp)
    app.register_blueprint(designer_bp)
    from app.api import init_api
    from app.api.openapi import docs_bp
    from app.security.token_routes import bp as tokens_bp

    init_api(app)
    app.register_blueprint(docs_bp)
    app.register_blueprint(tokens_bp)
    init_engine(app)
    # Service tasks and scheduler-round jobs, registered explicitly (never by importing a routes file).
    from app import accounts_apply, alerts, clues, designer, efficiency, plans, stats

    for module in (clues, plans, accounts_apply, alerts, designer, efficiency, stats):
        module.init_app(app)

    from app.enterprises import init_app as init_enterprises

    init_enterprises(app)  # 一企一档, grading, labels, triggered supervision, check once
    from app.knowledge import init_app as init_knowledge

    init_knowledge(app)  # 知识智库
    from app.exchange import init_app as init_exchange

    init_exchange(app)  # 数据交互: connectors, SOE reporting, reconciliation, data quality
    from app.training import init_app as init_training

    init_training(app)  # 技能拉练: question bank, competitions, practice
    from app.dispatch import init_app as init_dispatch

    init_dispatch(app)  # 指挥调度: devices, the one screen, enforcement video
    from app.appraisal import init_app as init_appraisal
    from app.soe import init_app as init_soe

    init_appraisal(app)  # 评议考核
    init_soe(app)  # 国有集团监督检查数据, 监管部门与国有集团交流
    from app.cases import init_app as init_cases

    init_cases(app)  # 案卷评查辅助: cases, review checklists, 评查 in the inbox, 行刑衔接

    from app.errors import register_error_handlers

    register_error_handlers(app)
    _register_template_helpers(app)
    _register_security_headers(app)

    from app.cli import register_cli

    register_cli(app)
    return app


class LazyCount:
    """A number for templates that is computed the first time a template uses it."""

    __slots__ = ("_compute", "_value")

    def __init__(self, compute):
        self._compute, self._value = compute, None

    @property
    def value(self) -> int:
        if self._value is None:
            self._value = int(self._compute() or 0)
        return self._value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __int__(self) -> int:
        return self.value

    def __str__(self) -> str:
        return str(self.value)

    def __eq__(self, other) -> bool:
        return self.value == (other.value if isinstance(other, LazyCount) else other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __gt__(self, other) -> bool:
        return self.value > int(other)

    def __lt__(self, other) -> bool:
        return self.value < int(other)

    def __ge__(self, other) -> bool:
        return self.value >= int(other)

    def __le__(self, other) -> bool:
        return self.value <= int(other)


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from app.portal.nav import nav_for

    @app.context_processor
    def inject_shell():
        if not current_user.is_authenticated:
            return {}
        counter = app.extensions.get("ducha.inbox_count")
        unread = app.extensions.get("ducha.unread_notifications")
        user = current_user._get_current_object()
        return {
            "nav_items": nav_for(current_user),
            # Counted only where a template shows them (the page shell), not for every fragment rendered:
            # the inbox badge, polled by every open page, counted the to-do list twice.
            "inbox_count": LazyCount(lambda: counter(user) if counter else 0),
            "unread_count": LazyCount(lambda: unread(user) if unread else 0),
        }

    from app.models_base import utcnow

    app.jinja_env.globals["now_utc"] = utcnow

    from app import names

    names.init_app(app)

    @app.template_filter("local")
    def local_time(value, fmt: str = "%Y-%m-%d %H:%M"):
        from zoneinfo import ZoneInfo

        if value is None:
            return ""
        return value.astimezone(ZoneInfo(app.config["TIMEZONE"])).strftime(fmt)


FLASHES_KEPT = 5  # messages waiting in the cookie session for the next page


def _register_security_headers(app: Flask) -> None:
    from app.security.headers import BASE_HEADERS

    @app.after_request
    def headers(response):
        for name, value in BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config["ENV_NAME"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    @app.before_request
    def remember_ip():
        g.ip = request.remote_addr

    @app.after_request
    def cap_flashes(response):
        # A client that never opens a page (scripts, the JSON API after a form start) never reads its
        # messages: keep the newest few, so the signed cookie and its decoding per request stay small.
        if "_flashes" in session:  # `in` does not mark the session accessed (no Vary: Cookie on every answer)
            queued = session["_flashes"]
            if len(queued) > FLASHES_KEPT:
                session["_flashes"] = queued[-FLASHES_KEPT:]
        return response
