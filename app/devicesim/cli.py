"""`flask --app wsgi ducha devicesim`: the device simulator in the foreground, for a service manager.

The same process and the same defaults as `make devicesim-start` (which runs it in the background): loopback,
port DEVICESIM_PORT (7310), data in <instance>/devicesim, webhooks to the app on PORT (5000). SIGTERM stops it.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


def default_webhook() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/dispatch/gateway/webhook"


def argv_for(
    *, host, port, cameras, vehicles, seed, churn, tick, token, webhook, no_webhook, secret, data_dir
) -> list[str]:
    """The `python -m app.devicesim` arguments of the command's options (unset ones keep the module's defaults)."""
    argv = ["--host", host, "--port", str(port), "--data-dir", str(data_dir)]
    for flag, value in (
        ("--cameras", cameras),
        ("--vehicles", vehicles),
        ("--seed", seed),
        ("--churn", churn),
        ("--tick", tick),
        ("--token", token),
        ("--secret", secret),
    ):
        if value is not None:
            argv += [flag, str(value)]
    if not no_webhook:
        argv += ["--webhook", webhook or default_webhook()]
    return argv


@click.command("devicesim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option(
    "--port", type=int, default=lambda: int(os.environ.get("DUCHA_DEVICESIM_PORT", "7310")), show_default="7310"
)
@click.option("--cameras", type=int, help="Number of body cameras (50).")
@click.option("--vehicles", type=int, help="Number of vehicles (20).")
@click.option("--seed", type=int, help="Random seed of the world (7).")
@click.option("--churn", type=float, help="Chance per second that a device goes off/online (0.002).")
@click.option("--tick", type=float, help="Seconds between moves (1.0).")
@click.option("--token", help="Gateway bearer token (DUCHA_GATEWAY_TOKEN).")
@click.option("--webhook", help="Where status changes are pushed (default: the app on $PORT).")
@click.option("--no-webhook", is_flag=True, help="Push no webhooks (the app polls).")
@click.option("--secret", help="Webhook signing secret (DUCHA_GATEWAY_WEBHOOK_SECRET).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="HLS and recordings (<instance>/devicesim).")
@with_appcontext
def devicesim_command(data_dir, **options):
    """Run the device gateway simulator (50 cameras, 20 vehicles) in the foreground until SIGTERM/SIGINT."""
    from app.devicesim.__main__ import main

    folder = Path(data_dir) if data_dir else Path(current_app.config["INSTANCE_DIR"]) / "devicesim"
    raise SystemExit(main(argv_for(data_dir=folder, **options)))
