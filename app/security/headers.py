"""The security headers every response carries (the app's pages and gunicorn's own error pages)."""

BASE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; font-src 'self' data:; frame-ancestors 'none'; object-src 'none'"
    ),
}
