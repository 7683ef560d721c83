"""Every setting, read from DUCHA_* environment variables (and DATABASE_URL), with defaults."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"DUCHA_{name}", default)


def _int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value in (None, ""):
        return default
    return value.lower() in ("1", "true", "yes", "on")


class ConfigError(RuntimeError):
    """Raised when the configuration is unusable (fail fast at start-up)."""


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config dict from the environment, then apply overrides (tests)."""
    env = _env("ENV", "development")
    instance = Path(_env("INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
    default_db = f"sqlite:///{instance / 'ducha.sqlite3'}"
    cfg: dict = {
        "ENV_NAME": env,
        "SECRET_KEY": _env("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", default_db),
        # No ping per checkout: app/dbpool.py pings only connections idle longer than this.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "DB_PING_IDLE_SECONDS": float(_env("DB_PING_IDLE_SECONDS", "10") or 10),
        # Streaming replica for heavy read-only pages and jobs (app/ops/replica.py); empty: the primary reads all.
        # Farther behind than REPLICA_MAX_LAG_SECONDS: the primary; after a failed connection the replica is
        # not asked again for REPLICA_RETRY_SECONDS.
        "DATABASE_REPLICA_URL": os.environ.get("DATABASE_REPLICA_URL", ""),
        "REPLICA_MAX_LAG_SECONDS": float(_env("REPLICA_MAX_LAG_SECONDS", "30") or 30),
        "REPLICA_RETRY_SECONDS": float(_env("REPLICA_RETRY_SECONDS", "10") or 0),
        "INSTANCE_DIR": str(instance),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(instance / "uploads")),
        "UPLOAD_MAX_BYTES": _int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024),
        "WORKFLOWS_DIR": _env("WORKFLOWS_DIR", str(PROJECT_ROOT / "workflows")),
        "FORMS_DIR": _env("FORMS_DIR", str(PROJECT_ROOT / "forms")),
        "RULES_DIR": _env("RULES_DIR", str(PROJECT_ROOT / "rules")),
        # Scheduler: "off" in web workers; the one scheduler process sets it on.
        "SCHEDULER_ENABLED": _bool("SCHEDULER", False),
        "SCHEDULER_INTERVAL_SECONDS": _int("SCHEDULER_INTERVAL", 5),  # deadlines, round jobs, heartbeat
        # Timers fire at their due time; the earliest due time is looked up again at least this often (s).
        "SCHEDULER_TIMER_POLL": float(_env("SCHEDULER_TIMER_POLL", "1") or 1),
        # A task is reminded as 即将到期 once this share (percent) of its time has passed; 催办 once per interval.
        "REMIND_AT_PERCENT": _int("REMIND_AT_PERCENT", 75),
        "URGE_INTERVAL_MINUTES": _int("URGE_INTERVAL_MINUTES", 30),
        "TIMEZONE": _env("TIMEZONE", "Asia/Shanghai"),
        # Background jobs (app/reports/jobs.py): "worker" = the job worker process (make run), "thread" =
        # threads of the process that queued them (flask run, tests). Lease, backoff and polling in seconds.
        "JOBS_RUNNER": _env("JOBS", "thread"),
        "JOBS_WORKER_THREADS": _int("JOBS_WORKER_THREADS", 2),
        "JOBS_POLL_SECONDS": float(_env("JOBS_POLL_SECONDS", "0.25") or 0.25),
        "JOBS_LEASE_SECONDS": float(_env("JOBS_LEASE_SECONDS", "30") or 30),
        "JOBS_BACKOFF_SECONDS": float(_env("JOBS_BACKOFF_SECONDS", "2") or 2),
        "JOBS_MAX_ATTEMPTS": _int("JOBS_MAX_ATTEMPTS", 3),
        # The job worker recycles itself (finishes its running jobs, exits; serve / systemd / compose start
        # a fresh one) after this many jobs or once its resident memory is above this many MiB; 0 = never.
        # 工作台 parts that may lag without harm (alerts in scope, unit totals, startable processes), per person.
        "WORKBENCH_CACHE_SECONDS": float(_env("WORKBENCH_CACHE_SECONDS", "20") or 0),
        "JOBS_WORKER_MAX_JOBS": _int("JOBS_WORKER_MAX_JOBS", 500),
        "JOBS_WORKER_MAX_RSS_MB": _int("JOBS_WORKER_MAX_RSS_MB", 512),
        # Password policy (MLPS level 2 assessor practice; configurable).
        "PASSWORD_MIN_LENGTH": _int("PASSWORD_MIN_LENGTH", 8),
        "PASSWORD_MAX_AGE_DAYS": _int("PASSWORD_MAX_AGE_DAYS", 90),
        "PASSWORD_HISTORY": _int("PASSWORD_HISTORY", 5),
        "PASSWORD_ITERATIONS": _int("PASSWORD_ITERATIONS", 300_000),
        "PASSWORD_PEPPER": _env("PASSWORD_PEPPER", "ducha-development-pepper"),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_FAILURE_WINDOW_MINUTES": _int("LOGIN_FAILURE_WINDOW", 15),
        "LOGIN_LOCK_MINUTES": _int("LOGIN_LOCK_MINUTES", 30),
        "AUDIT_KEY": _env("AUDIT_KEY", "ducha-development-audit-key"),
        # Knowledge searches (ranked ids, facets) kept per process until the library changes; 0: none kept.
        "KNOWLEDGE_SEARCH_KEEP": _int("KNOWLEDGE_SEARCH_KEEP", 500),
        # Knowledge search: the newest entries holding every word that are ranked (facets count them all).
        "KNOWLEDGE_SEARCH_CANDIDATES": _int("KNOWLEDGE_SEARCH_CANDIDATES", 300),
        # Audit chain checkpoint outside the database (default: <instance>/audit-checkpoint.json).
        "AUDIT_CHECKPOINT_PATH": _env("AUDIT_CHECKPOINT_PATH"),
        # Seconds between checkpoint writes per process (0: after every commit); scheduler rounds catch up.
        "AUDIT_CHECKPOINT_INTERVAL": float(_env("AUDIT_CHECKPOINT_INTERVAL", "2") or 0),
        # Append-only log of every checkpoint (rollback detection); default <checkpoint>.log.
        "AUDIT_CHECKPOINT_LOG_PATH": _env("AUDIT_CHECKPOINT_LOG_PATH"),
        "AUDIT_EXPORT_MAX_ROWS": _int("AUDIT_EXPORT_MAX_ROWS", 100_000),
        # Server-side sessions (app/security/sessions.py): one per user, idle and absolute limits.
        "SESSION_TOKEN_COOKIE": _env("SESSION_TOKEN_COOKIE", "ducha_session"),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        "SESSION_SINGLE": _bool("SESSION_SINGLE", True),
        "ACCOUNT_IDLE_DAYS": _int("ACCOUNT_IDLE_DAYS", 90),
        # Per-address login throttling (Flask-Limiter); share counts between workers with redis://...
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "20 per 5 minutes"),
        # memory:// counts per worker process; `make run` uses the local Redis when it answers. Production:
        # DUCHA_RATELIMIT_STORAGE_URI=redis://host:6379/0 (a start with memory:// logs a warning).
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": _env("RATELIMIT_KEY_PREFIX", "ducha"),
        # Storage down: count in memory rather than refuse every login.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # TOTP second factor, required for roles holding any of these permissions (comma separated).
        "TOTP_REQUIRED_PERMISSIONS": [
            p.strip()
            for p in (
                _env("TOTP_REQUIRED_PERMISSIONS", "process.admin,user.admin,role.admin,security.admin,audit.read") or ""
            ).split(",")
            if p.strip()
        ],
        "TOTP_ISSUER": _env("TOTP_ISSUER", "督查系统"),
        # Key-encryption key: "file" (instance/keys/kek.key, development) or "module:factory" (certified module).
        "KEY_PROVIDER": _env("KEY_PROVIDER", "file"),
        "KEY_DIR": _env("KEY_DIR"),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "PAGE_SIZE": _int("PAGE_SIZE", 20),
        # http.call service task (app/designer/outbound.py): hosts it may call (required in production) and
        # internal networks opened on purpose (CIDRs); loopback/private/link-local/... are refused otherwise.
        "HTTP_CALL_ALLOWED_HOSTS": _env("HTTP_CALL_ALLOWED_HOSTS", ""),
        "HTTP_CALL_ALLOWED_NETWORKS": _env("HTTP_CALL_ALLOWED_NETWORKS", ""),
        # Operations (app/ops): proxies in front (X-Forwarded-For/-Proto/-Host hops trusted by ProxyFix; 0 = none),
        # /metrics bearer token (empty: loopback only), logs, readiness, retention, backups.
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        "METRICS_TOKEN": _env("METRICS_TOKEN", ""),
        "LOG_FORMAT": _env("LOG_FORMAT", "json" if env == "production" else "text"),
        "ACCESS_LOG": _bool("ACCESS_LOG", env == "production"),
        "READY_HEARTBEAT_SECONDS": _int("READY_HEARTBEAT_SECONDS", 60),
        "AUDIT_RETENTION_DAYS": _int("AUDIT_RETENTION_DAYS", 365),
        "SESSION_RETENTION_DAYS": _int("SESSION_RETENTION_DAYS", 30),
        "EXPORT_RETENTION_DAYS": _int("EXPORT_RETENTION_DAYS", 7),  # background export files; 0 keeps them
        "BACKUP_DIR": _env("BACKUP_DIR", str(instance / "backups")),
        # Device gateway (指挥调度, app/dispatch/gateway.py): base URL, token, seconds per call, retries.
        "GATEWAY_URL": _env("GATEWAY_URL", "http://127.0.0.1:7310"),
        "GATEWAY_TOKEN": _env("GATEWAY_TOKEN", "ducha-devicesim-token"),
        "GATEWAY_TIMEOUT": float(_env("GATEWAY_TIMEOUT", "3") or 3),
        "GATEWAY_RETRIES": _int("GATEWAY_RETRIES", 2),
        "GATEWAY_POLL": _bool("GATEWAY_POLL", False),  # the scheduler polls the gateway (make run: on)
        "GATEWAY_WEBHOOK_SECRET": _env("GATEWAY_WEBHOOK_SECRET", "ducha-devicesim-webhook"),
        # Object storage (app/storage): file (default, STORAGE_DIR or <instance>/storage) or s3.
        "STORAGE": _env("STORAGE", "file"),
        "STORAGE_DIR": _env("STORAGE_DIR"),
        "S3_BUCKET": _env("S3_BUCKET"),
        "S3_ENDPOINT": _env("S3_ENDPOINT"),
        "S3_ACCESS_KEY": _env("S3_ACCESS_KEY"),
        "S3_SECRET_KEY": _env("S3_SECRET_KEY"),
        "S3_REGION": _env("S3_REGION", "us-east-1"),
        # Downloads from a file store through nginx: its internal location for STORAGE_DIR, e.g. /_files/
        # (deploy/nginx.conf); unset, the app sends the file itself. S3 objects at or above this size are
        # streamed in chunks, smaller ones read whole.
        "STORAGE_X_ACCEL": _env("STORAGE_X_ACCEL", ""),
        "STORAGE_STREAM_MIN_BYTES": _int("STORAGE_STREAM_MIN_BYTES", 8 * 1024 * 1024),
        # What `ducha backup` does with uploads and documents: "archive" (into the archive, from whichever
        # store is configured) or "none" (left to the object store's versioning and replication).
        "BACKUP_FILES": _env("BACKUP_FILES", "archive"),
        "RECORDING_RETENTION_DAYS": _int("RECORDING_RETENTION_DAYS", 365),
        "TESTING": False,
    }
    if overrides:
        cfg.update(overrides)
    if not cfg["SECRET_KEY"]:
        if cfg["ENV_NAME"] == "production":
            raise ConfigError("DUCHA_SECRET_KEY must be set in production")
        cfg["SECRET_KEY"] = "ducha-development-secret-key-not-for-production"
    if cfg["ENV_NAME"] == "production":
        for key in ("PASSWORD_PEPPER", "AUDIT_KEY"):
            if str(cfg[key]).startswith("ducha-development"):
                raise ConfigError(f"DUCHA_{key} must be set in production")
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://") :]
    return cfg
