"""Storage figures: `ducha storage migrate` throughput and object reads, file store vs S3 (moto on loopback).

    .venv/bin/python bench/storage.py --files 300 --size 65536

Makes `--files` files of `--size` bytes in an old-style upload folder, migrates them into a file store and
into a moto S3 bucket (timing each, then a second, idempotent pass), and reads 100 objects back from each.
moto is an in-process Python server: S3 figures show the client-side cost and a lower bound, not MinIO's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.storage import FileStorage, LegacyFallback, S3Storage
from app.storage.migrate import migrate
from tests.storage_support import MotoServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--size", type=int, default=64 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ducha-bench-storage-") as tmp, MotoServer() as url:
        old = Path(tmp) / "uploads"
        for i in range(args.files):
            path = old / f"{i // 100:04d}" / str(i) / f"{i:06d}.pdf"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.size))
        folders = {"uploads/": old}
        s3 = S3Storage("bench", endpoint_url=url, access_key="testing", secret_key="testing")
        s3.ensure_bucket()
        total_mb = args.files * args.size / 1e6
        print(f"{args.files} files x {args.size} bytes = {total_mb:.1f} MB")
        for name, primary in (("file", FileStorage(Path(tmp) / "store")), ("s3 (moto)", s3)):
            store = LegacyFallback(primary, folders)
            t0 = time.perf_counter()
            report = migrate(store, folders)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = migrate(store, folders)
            second = time.perf_counter() - t0
            keys = list(primary.iter_keys("uploads/"))[:100]
            t0 = time.perf_counter()
            for key in keys:
                primary.get(key)
            per_get = (time.perf_counter() - t0) / len(keys) * 1000
            print(
                f"{name:<10} migrate: {report.copied} copied in {first:.2f} s ({total_mb / first:.1f} MB/s, "
                f"{args.files / first:.0f} files/s); second pass: {again.present} present, {again.copied} copied "
                f"in {second:.2f} s; get: {per_get:.2f} ms per object"
            )


if __name__ == "__main__":
    main()
