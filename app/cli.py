"""The `flask --app wsgi ducha ...` commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db

ducha = AppGroup("ducha", help="Ducha administration commands.")


@ducha.command("seed-demo")
def seed_demo_command():
    """Load realistic demo data (idempotent)."""
    from app.demo.seed import seed_demo

    result = seed_demo()
    db.session.commit()
    click.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in result.items()))


@ducha.command("seed-reference")
def seed_reference_command():
    """Load the roles, the organisation tree and the default 案卷评查 checklists (production install)."""
    from app.cases.review import ensure_defaults
    from app.demo.reference import seed_orgs, seed_roles

    seed_roles()
    orgs = seed_orgs()
    checklists = ensure_defaults()
    db.session.commit()
    click.echo(f"reference data: organisations={len(orgs)}, case checklists={len(checklists)}")


@ducha.command("audit-verify")
@click.option("--reset-checkpoint", is_flag=True, help="Accept the current end as the checkpoint (first run).")
def audit_verify_command(reset_checkpoint: bool):
    """Verify the audit chain and its checkpoint outside the database; exit 1 when tampered with."""
    from app.audit.checkpoint import checkpoint_path
    from app.audit.services import verify

    result = verify(reset_checkpoint=reset_checkpoint)
    click.echo(f"checked {result.checked} entries (checkpoint: {checkpoint_path()})")
    for problem in result.problems:
        click.echo("PROBLEM: " + problem)
    raise SystemExit(0 if result.ok else 1)


def register_cli(app: Flask) -> None:
    from app.engine.cli import register as register_engine

    register_engine(ducha)
    from app.reports.worker import register as register_worker

    if "worker" not in ducha.commands:
        register_worker(ducha)
    from app.security.cli import keys_cli, security_cli

    for group in (security_cli, keys_cli):
        if group.name not in ducha.commands:
            ducha.add_command(group)
    from app.storage.migrate import register as register_storage

    register_storage(ducha)
    app.cli.add_command(ducha)
