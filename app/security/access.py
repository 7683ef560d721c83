"""Route decorators for login and permission checks, and safe redirect targets."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask_login import current_user, login_required

from app.errors import PermissionDenied


def permission_required(*permissions: str):
    """Require login and any one of the named permissions."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(current_user.can(p) for p in permissions):
                raise PermissionDenied()
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths are allowed as redirect targets (no scheme, no host, no //)."""
    if not target or len(target) > 2000 or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default  # CR/LF would split the Location header (a 500 from werkzeug, or a header injection)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
