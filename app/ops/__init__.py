"""Operations: metrics, request ids and JSON logs, readiness, the proxy setting, production checks,
retention purges and backup/restore (R7.2, R7.4, R7.6). Wired by `init_app` from create_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.ops import settings_check

    settings_check.check(app.config)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust exactly `proxies` hops of X-Forwarded-For/-Proto/-Host: the address rate limits and the
        # audit log see is the client's, and a client cannot forge it by sending the header itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from app.ops import metrics, requestlog
    from app.ops.health import bp as health_bp

    requestlog.configure_logging(app)
    app.before_request(requestlog.begin_request)
    app.before_request(metrics.start_timer)
    app.after_request(metrics.record_response)
    app.after_request(requestlog.end_request)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(health_bp)
    from app.ops.replica import init_replica

    init_replica(app)  # DATABASE_REPLICA_URL: heavy reads on the streaming replica

    from app.ops import retention

    retention.register(app)
    from app.ops.cli import register as register_cli

    register_cli(app)
