"""`flask --app wsgi ducha backup | restore | retention` commands."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.extensions import db

PASSPHRASE_ENV = "DUCHA_BACKUP_PASSPHRASE"


def _passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    return click.prompt("备份口令", hide_input=True, confirmation_prompt=confirm)


@click.command("backup")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder (BACKUP_DIR).")
@with_appcontext
def backup_command(out_dir: Path | None):
    """Archive the database, the files and the keys (wrapped by DUCHA_BACKUP_PASSPHRASE or a prompt)."""
    from app.ops.backup import BackupError, create_backup

    app = current_app._get_current_object()
    try:
        path = create_backup(app, out_dir or Path(app.config["BACKUP_DIR"]), _passphrase(confirm=True))
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"backup written: {path} ({path.stat().st_size} bytes)")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database, files and keys.")
@with_appcontext
def restore_command(archive: Path, yes: bool):
    """Restore an archive made by `ducha backup` (stop the app nodes, scheduler and worker first)."""
    from app.ops.backup import BackupError, restore_backup

    if not yes:
        raise click.ClickException("恢复会覆盖当前数据库、文件与密钥；确认后加 --yes 重新执行")
    try:
        manifest = restore_backup(current_app._get_current_object(), archive, _passphrase(confirm=False))
    except BackupError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"restored backup of {manifest['created_at']} (revision {', '.join(manifest['revision'])})")
    click.echo("run `flask --app wsgi db upgrade` if the code is newer, then `ducha audit-verify`")


@click.command("retention")
@with_appcontext
def retention_command():
    """Run the retention purges now (audit entries, ended sessions, export files), as the scheduler does hourly."""
    from app.ops import retention

    now = datetime.now(UTC)
    audit_n = retention.purge_audit(now)
    session_n = retention.purge_sessions(now)
    export_n = retention.purge_exports(now)
    db.session.commit()
    click.echo(f"audit entries purged: {audit_n}; sessions purged: {session_n}; export files removed: {export_n}")


def register(app: Flask) -> None:
    from app.cli import ducha

    for command in (backup_command, restore_command, retention_command):
        if command.name not in ducha.commands:
            ducha.add_command(command)
