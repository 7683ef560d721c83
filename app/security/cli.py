"""`flask --app wsgi ducha security ...` and `flask --app wsgi ducha keys ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

security_cli = AppGroup("security", help="Account security policy jobs.")
keys_cli = AppGroup("keys", help="Data keys for field encryption and blind indexes.")


@security_cli.command("disable-idle")
@click.option("--dry-run", is_flag=True, help="List the accounts without disabling them.")
def disable_idle_command(dry_run: bool):
    """Disable accounts without a login for ACCOUNT_IDLE_DAYS days."""
    from app.security import policy

    if dry_run:
        users = policy.idle_accounts()
        db.session.rollback()
    else:
        users = policy.disable_idle_accounts()
        db.session.commit()
    for user in users:
        click.echo(f"{'would disable' if dry_run else 'disabled'}: {user.login} ({user.name})")
    click.echo(f"{len(users)} idle accounts")


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True)
def rotate_command(batch_size: int):
    """New field-key version; re-encrypt every registered encrypted column in batches."""
    from app.audit import services as audit
    from app.security.crypto import registered_columns, rotate_field_keys

    click.echo("registered columns: " + ", ".join(f"{c.table}.{c.column}" for c in registered_columns()))
    result = rotate_field_keys(batch_size=batch_size)
    audit.record("keys.rotate", object_type="data_key", object_id=f"field-{result['version']}", detail=result)
    db.session.commit()
    click.echo(f"field key version {result['version']} active")
    for column, count in result["reencrypted"].items():
        click.echo(f"  {column}: {count} re-encrypted")


@keys_cli.command("status")
def status_command():
    """List data-key versions (never the keys)."""
    from app.security.keys import key_status, provider

    click.echo(f"key provider: {provider().kek_id}")
    for row in key_status():
        created = row.created_at.strftime("%Y-%m-%d")
        click.echo(f"{row.purpose:6} v{row.version:<3} {row.status:8} kek={row.kek_id} created={created}")
