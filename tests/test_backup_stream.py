"""Backup and restore stream (app/ops/backup.py): a file many times larger than the copy chunk goes into the
archive and back into the store in bounded memory (tracemalloc peak), and comes back byte for byte."""

from __future__ import annotations

import hashlib
import os
import tarfile
import tracemalloc

import pytest

from app.ops import backup
from app.storage import S3_PART, get_storage
from tests.test_retention_backup import _needs_pg_tools

BIG = 50 * 1024 * 1024  # 50 MB, 50 chunks


def _write_big(path) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(BIG // backup.CHUNK):
            block = os.urandom(backup.CHUNK)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _digest_of(store, key: str) -> str:
    digest = hashlib.sha256()
    with store.open_stream(key) as handle:
        while block := handle.read(backup.CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _peak(fn, *args):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_a_large_file_is_backed_up_and_restored_in_bounded_memory(app, ctx, tmp_path):
    _needs_pg_tools(app)
    store = get_storage()
    source = tmp_path / "big.bin"
    expected = _write_big(source)
    with open(source, "rb") as handle:
        assert store.put("uploads/big-recording-evidence.bin", handle) == BIG
    source.unlink()
    store.put("uploads/small.txt", "小文件".encode())
    # S3 uploads a stream in parts of 5 MB, one at a time (boto3 holds a few copies of it); the file store
    # copies 1 MB at a time.
    limit = 4 * S3_PART if store.local_path("uploads/small.txt") is None else 6 * 1024 * 1024

    archive, made_peak = _peak(backup.create_backup, app, tmp_path / "out", "correct horse battery")
    assert made_peak < limit, f"backup peak {made_peak / 1e6:.1f} MB for a {BIG // 2**20} MB file"
    with tarfile.open(archive, "r:gz") as tar:  # the same format as before: one member per file, a manifest
        names = tar.getnames()
    assert "files/uploads/big-recording-evidence.bin" in names and names[-1] == "manifest.json"

    store.delete("uploads/big-recording-evidence.bin")
    store.put("uploads/after-backup.txt", b"gone after the restore")
    manifest, restored_peak = _peak(backup.restore_backup, app, archive, "correct horse battery")
    print(f"{BIG // 2**20} MB file: backup peak {made_peak / 2**20:.2f} MiB, restore {restored_peak / 2**20:.2f} MiB")
    # The restore also empties the store and reconnects the database: what that allocates grows with what the
    # process has done before (11 MB late in the whole suite, 4 MB alone), never with the file. Reading the file
    # whole would take at least its 50 MB.
    assert restored_peak < BIG // 2, f"restore peak {restored_peak / 1e6:.1f} MB for a {BIG // 2**20} MB file"
    assert manifest["digests"]["files/uploads/big-recording-evidence.bin"]
    assert store.size("uploads/big-recording-evidence.bin") == BIG
    assert _digest_of(store, "uploads/big-recording-evidence.bin") == expected
    assert store.get("uploads/small.txt").decode() == "小文件"
    assert not store.exists("uploads/after-backup.txt")


def test_a_member_damaged_inside_is_refused_before_anything_is_restored(app, ctx, tmp_path):
    """A flipped byte deep inside the archive (past the first member) stops the restore with a Chinese
    message; the store keeps what it had."""
    _needs_pg_tools(app)
    store = get_storage()
    store.put("uploads/keep.txt", b"x" * 300_000)
    archive = backup.create_backup(app, tmp_path, "correct horse battery")
    store.put("uploads/later.txt", b"added after the backup")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError, match=r"损坏|无法读取|不符"):
        backup.restore_backup(app, broken, "correct horse battery")
    assert store.get("uploads/later.txt") == b"added after the backup"
