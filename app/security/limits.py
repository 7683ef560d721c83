"""Per-address throttling of login attempts (Flask-Limiter), on top of the per-account lockout.

Storage comes from RATELIMIT_STORAGE_URI (DUCHA_RATELIMIT_STORAGE_URI): "memory://" counts per
worker process; several workers or nodes share counts through e.g. "redis://host:6379/0".
The limit itself is LOGIN_RATE_LIMIT (a `limits` string such as "20 per 5 minutes"), read per request.
A breach answers 429 with a Chinese message that says nothing about whether the login exists.
"""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

LOGIN_THROTTLED = "登录尝试过于频繁，请稍后再试"


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_throttle():
    """Decorator for the views that check a password or a one-time code (POST only)."""
    return limiter.shared_limit(login_limit, "login", methods=["POST"], error_message=LOGIN_THROTTLED)
