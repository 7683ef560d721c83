"""Browser tests: the app served by werkzeug in a thread against the session's test database, and
Debian's chromium driven by Playwright (never a downloaded browser).

Fixtures:
- ``live_server``: the base URL (``http://127.0.0.1:<random port>``) of the running app;
- ``browser_page``: a factory, ``browser_page("procadmin")`` returns a logged-in Playwright page;
  each call opens its own browser context (own cookies), closed after the test;
- ``console_errors``: messages the pages logged as errors (CSP violations appear here).

Data is set up in the test through the services with ``with app.app_context(): ...`` and committed
before the browser acts; the per-test cleanup of tests/conftest.py empties it afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "e2e"


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed")
        for item in items:
            if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches the system chromium with these arguments."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def live_server(app):
    """Serve the session's app on 127.0.0.1 and a free port; yields the base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture
def console_errors() -> list[str]:
    return []


# Messages of the vendored bundles that are not faults: the dmn-js bundle is built with Inferno's
# development build, which says so on the console.
KNOWN_VENDOR_MESSAGES = ("It looks like you're using a minified copy of the development build of Inferno",)


def _console(errors: list[str], msg) -> None:
    # A failed load is recorded with its URL by _response; the console line alone does not say which.
    if msg.type != "error" or msg.text.startswith("Failed to load resource"):
        return
    if not msg.text.startswith(KNOWN_VENDOR_MESSAGES):
        errors.append(msg.text)


def _response(errors: list[str], resp) -> None:
    expected = resp.request.resource_type in ("fetch", "xhr", "document")  # refusals the page shows itself
    if resp.status >= 400 and not expected:
        errors.append(f"{resp.status} {resp.url}")


@pytest.fixture
def browser_page(browser, live_server, console_errors):
    """``browser_page(login)`` -> a Playwright page logged in as that test user at the live server."""
    contexts = []

    def open_page(login: str = "procadmin", password: str = TEST_PASSWORD):
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1600, "height": 1000})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: _console(console_errors, msg))
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        page.on("response", lambda resp: _response(console_errors, resp))
        page.goto("/login")
        page.fill("#login", login)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()
