"""`flask --app wsgi ducha storage migrate`: copy the files of the old folders into the configured store.

Before app.storage held everything, uploads were written under UPLOAD_DIR, generated documents under
<instance>/documents (or DOCUMENTS_DIR) and exports under <instance>/exports. Those files stay readable
(`LegacyFallback`), and this command copies each of them to its key (``uploads/…``, ``documents/…``,
``exports/…``) so that the folders can be retired (or, with S3, so that every node sees them).

Safe to run while the app serves, and again and again: a key the store already holds with the same size
is skipped (nothing is overwritten: a file written by the app since is newer than the folder's), a put
is atomic on both backends, and reads find a file in the folder until its copy exists. A file the app
deletes while the command copies it may be left behind in the store as an unreferenced object (a
harmless orphan; the database no longer names it). ``--remove-source`` deletes a folder's file once
its copy is verified (same size, read back), never before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.storage import LegacyFallback, ObjectMissing, Storage, StorageError, iter_legacy, legacy_folders


@dataclass
class Report:
    copied: int = 0
    present: int = 0
    removed: int = 0
    bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    by_prefix: dict[str, int] = field(default_factory=dict)

    @property
    def seen(self) -> int:
        return self.copied + self.present + len(self.failed)


def migrate(
    store: Storage,
    folders: dict[str, Path],
    *,
    dry_run: bool = False,
    remove_source: bool = False,
    progress: Callable[[Report, str], None] | None = None,
) -> Report:
    """Copy every file of `folders` ({prefix: folder}) to its key in `store`; return the counts."""
    primary = store.primary if isinstance(store, LegacyFallback) else store
    report = Report()
    for key in iter_legacy(folders):
        prefix = key.split("/", 1)[0] + "/"
        source = folders[prefix] / key[len(prefix) :]
        try:
            size = source.stat().st_size
            if _stored_size(primary, key) == size:  # one HEAD on S3
                report.present += 1
            elif dry_run:
                report.copied += 1
                report.bytes += size
            else:
                with source.open("rb") as fh:
                    primary.put(key, fh)
                if primary.size(key) != size:
                    raise StorageError("复制后的文件大小不符")
                report.copied += 1
                report.bytes += size
            report.by_prefix[prefix] = report.by_prefix.get(prefix, 0) + 1
            if remove_source and not dry_run and _stored_size(primary, key) == size:
                source.unlink()
                report.removed += 1
        except FileNotFoundError:
            continue  # deleted by the app meanwhile
        except (OSError, StorageError) as exc:
            report.failed.append((key, str(exc)))
        if progress is not None:
            progress(report, key)
    return report


def _stored_size(store: Storage, key: str) -> int | None:
    try:
        return store.size(key)
    except ObjectMissing:
        return None


@click.group("storage")
def storage_cli():
    """Files in app.storage (uploads, documents, exports, recordings)."""


@storage_cli.command("migrate")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
@click.option("--remove-source", is_flag=True, help="Delete a folder's file once its copy is verified.")
@with_appcontext
def migrate_command(dry_run: bool, remove_source: bool):
    """Copy the files of UPLOAD_DIR, <instance>/documents and <instance>/exports into the configured store."""
    from flask import current_app

    from app.storage import get_storage

    folders = legacy_folders(current_app.config)
    store = get_storage()
    primary = store.primary if isinstance(store, LegacyFallback) else store
    root = getattr(primary, "root", None)
    if root is not None:  # the file store's own folders are no source
        folders = {p: f for p, f in folders.items() if f.resolve() != (Path(root) / p).resolve()}
    for prefix, folder in folders.items():
        click.echo(f"{prefix:<11} <- {folder}{'' if folder.is_dir() else '（不存在）'}")

    def tick(report: Report, key: str) -> None:
        if report.seen % 500 == 0:
            click.echo(f"  已处理 {report.seen} 个文件 …")

    report = migrate(store, folders, dry_run=dry_run, remove_source=remove_source, progress=tick)
    verb = "将复制" if dry_run else "已复制"
    click.echo(
        f"{verb} {report.copied} 个文件（{report.bytes} 字节），已在存储中 {report.present} 个，"
        f"删除源文件 {report.removed} 个，失败 {len(report.failed)} 个"
    )
    for prefix, n in sorted(report.by_prefix.items()):
        click.echo(f"  {prefix} {n}")
    for key, message in report.failed[:50]:
        click.echo(f"  失败 {key}: {message}", err=True)
    if report.failed:
        raise SystemExit(1)


@storage_cli.command("check")
@with_appcontext
def check_command():
    """Create the S3 bucket if missing, then write, read and delete a probe object (exit 1 on failure)."""
    import uuid

    from app.storage import S3Storage, get_storage

    store = get_storage()
    primary = store.primary if isinstance(store, LegacyFallback) else store
    key = f"health/probe-{uuid.uuid4().hex}"
    try:
        if isinstance(primary, S3Storage):
            primary.ensure_bucket()
        primary.put(key, b"ok", "text/plain")
        ok = primary.get(key) == b"ok"
        primary.delete(key)
    except StorageError as exc:
        raise click.ClickException(f"存储不可用：{exc}") from exc
    except Exception as exc:  # botocore's errors at bucket creation: credentials, endpoint
        raise click.ClickException(f"存储不可用：{type(exc).__name__}: {exc}") from exc
    if not ok:
        raise click.ClickException("存储不可用：读回的内容与写入的不同")
    where = f"s3://{primary.bucket}" if isinstance(primary, S3Storage) else str(getattr(primary, "root", ""))
    click.echo(f"storage ok: {where}")


def register(ducha) -> None:
    if storage_cli.name not in ducha.commands:
        ducha.add_command(storage_cli)
