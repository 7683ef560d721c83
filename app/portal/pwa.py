"""Add-to-home-screen: the web app manifest, the service worker and its offline page.

The service worker (static/js/sw.js) keeps only the offline page and the static files it needs; it never
stores a page, a list or an attachment, so no case data lands in the phone's cache. Logging out sends
``Clear-Site-Data`` (app/auth/routes.py), which also drops the worker and the drafts kept on the phone.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for

bp = Blueprint("pwa", __name__)

ICONS = (
    ("icon-192.png", "192x192", "any"),
    ("icon-512.png", "512x512", "any"),
    ("icon-maskable-512.png", "512x512", "maskable"),
)


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "id": "/inbox/",
        "name": "督查系统 · 待办",
        "short_name": "督查待办",
        "description": "上海市应急管理局执法总队督查系统：待办、线索核查、现场取证",
        "lang": "zh-CN",
        "start_url": url_for("inbox.index"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f6f9",
        "theme_color": "#0b3d6e",
        "icons": [
            {
                "src": url_for("static", filename=f"icons/{name}"),
                "sizes": sizes,
                "type": "image/png",
                "purpose": purpose,
            }
            for name, sizes, purpose in ICONS
        ],
    }
    resp = jsonify(body)
    resp.mimetype = "application/manifest+json"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that its scope is the whole app."""
    path = Path(current_app.static_folder) / "js" / "sw.js"
    resp = Response(path.read_bytes(), mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


@bp.get("/offline")
def offline():
    """The page the service worker shows when the network is gone: no user, no case data."""
    resp = current_app.make_response(render_template("portal/offline.html"))
    resp.headers["Cache-Control"] = "no-cache"
    return resp
