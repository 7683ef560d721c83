"""Settings checked when the app starts (create_app): refuse a configuration that cannot be right.

Everywhere: the proxy count is a small non-negative number; audit entries are kept at least 180 days
(the Cybersecurity Law, art. 21: network logs kept no less than six months; 0 = never purge); the file
store is `file` or `s3` with a bucket (app/storage), and backups archive files or leave them to the store.
In production (DUCHA_ENV=production), on top of app/config.py's checks (secret key, pepper, audit key):
a secret key of at least 32 characters, a PostgreSQL database (SQLite is one writer on one machine),
a shared rate-limit store (memory:// counts per worker, so a limit of 20 becomes 20 per process), secure
cookies, and a metrics token when /metrics would otherwise rely on the loopback test behind a proxy
that runs on the same host.
"""

from __future__ import annotations

from app.config import ConfigError

MIN_AUDIT_RETENTION_DAYS = 180


def problems(cfg: dict) -> list[str]:
    """Every reason the configuration `cfg` is unusable (empty: fine)."""
    found = []
    proxies = cfg.get("PROXY_COUNT", 0)
    if not isinstance(proxies, int) or not 0 <= proxies <= 5:
        found.append("DUCHA_PROXY_COUNT must be an integer from 0 to 5 (the number of proxies in front)")
    days = cfg.get("AUDIT_RETENTION_DAYS", 0)
    if days and days < MIN_AUDIT_RETENTION_DAYS:
        found.append(f"DUCHA_AUDIT_RETENTION_DAYS must be 0 (keep) or at least {MIN_AUDIT_RETENTION_DAYS}")
    if cfg.get("SESSION_RETENTION_DAYS", 1) < 1:
        found.append("DUCHA_SESSION_RETENTION_DAYS must be at least 1")
    if cfg.get("EXPORT_RETENTION_DAYS", 0) < 0:
        found.append("DUCHA_EXPORT_RETENTION_DAYS must be 0 (keep) or a number of days")
    if cfg.get("LOG_FORMAT") not in ("json", "text"):
        found.append("DUCHA_LOG_FORMAT must be json or text")
    storage = str(cfg.get("STORAGE") or "file").lower()
    if storage not in ("file", "s3"):
        found.append("DUCHA_STORAGE must be file or s3")
    elif storage == "s3" and not cfg.get("S3_BUCKET"):
        found.append("DUCHA_S3_BUCKET must be set when DUCHA_STORAGE=s3")
    if str(cfg.get("BACKUP_FILES") or "archive").lower() not in ("archive", "none"):
        found.append("DUCHA_BACKUP_FILES must be archive or none")
    if cfg.get("ENV_NAME") != "production":
        return found
    if len(str(cfg.get("SECRET_KEY") or "")) < 32:
        found.append("DUCHA_SECRET_KEY must be at least 32 characters in production")
    if str(cfg.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        found.append("DATABASE_URL must name a PostgreSQL database in production (SQLite is single-node)")
    if str(cfg.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory"):
        found.append("DUCHA_RATELIMIT_STORAGE_URI must be shared (redis://...) in production")
    if not cfg.get("SESSION_COOKIE_SECURE"):
        found.append("SESSION_COOKIE_SECURE must stay on in production (HTTPS only)")
    if proxies and not cfg.get("METRICS_TOKEN"):
        found.append("DUCHA_METRICS_TOKEN must be set in production behind a proxy (/metrics)")
    # The device gateway's development credentials (the simulator's) must not reach production.
    for key, dev_value in DEV_SECRETS.items():
        if str(cfg.get(key) or "") == dev_value:
            found.append(f"DUCHA_{key} must be set to the real gateway's value in production (not the simulator's)")
    return found


DEV_SECRETS = {"GATEWAY_TOKEN": "ducha-devicesim-token", "GATEWAY_WEBHOOK_SECRET": "ducha-devicesim-webhook"}


def check(cfg: dict) -> None:
    """Raise ConfigError listing every problem (fail fast at start-up)."""
    found = problems(cfg)
    if found:
        raise ConfigError("; ".join(found))
