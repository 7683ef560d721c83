"""`flask --app wsgi ducha fakes`: the fake upstream systems for the demo (loopback only)."""

from __future__ import annotations

import click


@click.command("fakes")
@click.option("--port", default=7500, show_default=True, help="Loopback port (one process, every source).")
def fakes_command(port: int):
    """Run the fake upstream systems (统一综合执法、综合应用平台、数据治理平台、工商登记、地理编码)."""
    from app.exchange.fakes.server import main

    main(["--port", str(port)])
