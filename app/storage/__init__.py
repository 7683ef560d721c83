"""Object storage behind one small interface: the filesystem by default, S3-compatible in production.

Keys are relative paths ("recordings/2026/12/abc.mp4"): no leading slash, no "..", no backslashes.
`get_storage(config)` reads DUCHA_STORAGE (``file`` or ``s3``), DUCHA_STORAGE_DIR, DUCHA_S3_BUCKET,
DUCHA_S3_ENDPOINT, DUCHA_S3_ACCESS_KEY, DUCHA_S3_SECRET_KEY, DUCHA_S3_REGION. Every file the product keeps
lives here under one prefix per kind (app/storage/files.py): ``uploads/`` (attachments of processes, the
knowledge base, data exchange), ``documents/`` (generated PDFs), ``exports/`` (background exports) and
``recordings/`` (video).

The folders files were written to before (UPLOAD_DIR, <instance>/documents, <instance>/exports) stay
readable: `LegacyFallback` reads a key there when the store does not have it, and deletes it there too;
`flask ducha storage migrate` copies them into the store (app/storage/migrate.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
S3_PART = 5 * CHUNK  # S3's smallest multipart part: a stream is uploaded one part in memory at a time
_KEY = re.compile(r"^[A-Za-z0-9._\-/]{1,400}$")


class StorageError(RuntimeError):
    """A storage operation failed; the message is Chinese and safe to show."""


class ObjectMissing(StorageError):
    pass


class BadKey(StorageError):
    """A key that is not a clean relative path (a tampered database row, a crafted name)."""


def check_key(key: str) -> str:
    if not _KEY.match(key or "") or key.startswith("/") or ".." in key.split("/") or "//" in key:
        raise BadKey(f"存储键不合法：{key!r}")
    return key


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """An HTTP `Range: bytes=a-b` header → (start, end inclusive); None for no/unsupported range.
    Raises StorageError for an unsatisfiable one (the caller answers 416)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":  # suffix: the last N bytes
            n = int(last)
            if n <= 0:
                raise StorageError("请求的范围无效")
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError as exc:
        raise StorageError("请求的范围无效") from exc
    if start >= size or end < start:
        raise StorageError("请求的范围超出文件长度")
    return start, min(end, size - 1)


class Storage(Protocol):
    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> int: ...
    def get(self, key: str) -> bytes: ...
    def open_range(self, key: str, start: int, end: int) -> bytes: ...
    def delete(self, key: str) -> bool: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def open_stream(self, key: str) -> BinaryIO: ...
    def local_path(self, key: str) -> Path | None: ...
    def iter_keys(self, prefix: str) -> Iterator[str]: ...


class FileStorage:
    """Files under one root directory; a put writes a temporary file and renames it (atomic)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key, data, content_type="application/octet-stream") -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, CHUNK)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.stat().st_size

    def get(self, key) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(f"文件不存在：{key}") from exc

    def open_range(self, key, start, end) -> bytes:
        try:
            with self._path(key).open("rb") as f:
                f.seek(start)
                return f.read(end - start + 1)
        except FileNotFoundError as exc:
            raise ObjectMissing(f"文件不存在：{key}") from exc

    def delete(self, key) -> bool:
        path = self._path(key)
        if not path.exists():
            return False
        path.unlink()
        return True

    def exists(self, key) -> bool:
        return self._path(key).is_file()

    def size(self, key) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectMissing(f"文件不存在：{key}") from exc

    def open_stream(self, key) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(f"文件不存在：{key}") from exc

    def local_path(self, key) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Keys under a prefix ("uploads/"), sorted; temporary files of unfinished puts are left out."""
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.is_symlink() and not path.name.startswith(".part-"):
                yield str(path.relative_to(self.root))


class _Counting:
    """A reader that counts the bytes read through it."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.size = raw, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.size += len(data)
        return data


class S3Storage:
    """An S3-compatible bucket through boto3 (MinIO, Ceph, a cloud's object storage)."""

    def __init__(self, bucket: str, *, endpoint_url=None, access_key=None, secret_key=None, region="us-east-1"):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def _call(self, fn, key, **kw):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, Key=check_key(key), **kw)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise ObjectMissing(f"文件不存在：{key}") from exc
            if code == "InvalidRange":
                raise StorageError("请求的范围超出文件长度") from exc
            raise StorageError(f"对象存储出错（{code}）") from exc
        except BotoCoreError as exc:
            raise StorageError(f"对象存储无法访问（{type(exc).__name__}）") from exc

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, key, data, content_type="application/octet-stream") -> int:
        if isinstance(data, bytes | bytearray):
            self._call(self.client.put_object, key, Body=bytes(data), ContentType=content_type)
            return len(data)
        return self._upload_stream(key, data, content_type)

    def _upload_stream(self, key, data: BinaryIO, content_type: str) -> int:
        """A stream of unknown length in parts of S3_PART, one at a time (a restore of a large file: bounded memory)."""
        from boto3.exceptions import S3UploadFailedError
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        counted = _Counting(data)
        config = TransferConfig(multipart_threshold=S3_PART, multipart_chunksize=S3_PART, use_threads=False)
        try:
            self.client.upload_fileobj(
                counted, self.bucket, check_key(key), ExtraArgs={"ContentType": content_type}, Config=config
            )
        except (S3UploadFailedError, BotoCoreError, ClientError) as exc:
            raise StorageError(f"对象存储出错（{type(exc).__name__}）") from exc
        return counted.size

    def get(self, key) -> bytes:
        return self._call(self.client.get_object, key)["Body"].read()

    def open_range(self, key, start, end) -> bytes:
        return self._call(self.client.get_object, key, Range=f"bytes={start}-{end}")["Body"].read()

    def delete(self, key) -> bool:
        if not self.exists(key):
            return False
        self._call(self.client.delete_object, key)
        return True

    def exists(self, key) -> bool:
        try:
            self._call(self.client.head_object, key)
        except ObjectMissing:
            return False
        return True

    def size(self, key) -> int:
        return int(self._call(self.client.head_object, key)["ContentLength"])

    def open_stream(self, key) -> BinaryIO:
        """The object's body as a file-like stream (read in chunks, closed by the caller)."""
        return self._call(self.client.get_object, key)["Body"]

    def local_path(self, key) -> Path | None:
        return None

    def iter_keys(self, prefix: str) -> Iterator[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"对象存储无法列出文件（{type(exc).__name__}）") from exc


class LegacyFallback:
    """The configured store, plus the folders files were kept in before it (read and delete only).

    `legacy` maps a key prefix to a folder: {"uploads/": UPLOAD_DIR, ...}. A key the store lacks is read
    from ``folder / rest`` (a tampered key cannot leave the folder: `check_key` refuses ".."). New files
    always go to the store; `flask ducha storage migrate` copies the old ones in.
    """

    def __init__(self, primary: Storage, legacy: dict[str, Path]):
        self.primary = primary
        self.legacy = {prefix: Path(folder) for prefix, folder in legacy.items()}

    def legacy_path(self, key: str) -> Path | None:
        check_key(key)
        for prefix, folder in self.legacy.items():
            if key.startswith(prefix):
                path = folder / key[len(prefix) :]
                return path if path.is_file() and not path.is_symlink() else None
        return None

    def _fallback(self, key, exc):
        path = self.legacy_path(key)
        if path is None:
            raise exc
        return path

    def put(self, key, data, content_type="application/octet-stream") -> int:
        return self.primary.put(key, data, content_type)

    def get(self, key) -> bytes:
        try:
            return self.primary.get(key)
        except ObjectMissing as exc:
            return self._fallback(key, exc).read_bytes()

    def open_range(self, key, start, end) -> bytes:
        try:
            return self.primary.open_range(key, start, end)
        except ObjectMissing as exc:
            with self._fallback(key, exc).open("rb") as f:
                f.seek(start)
                return f.read(end - start + 1)

    def delete(self, key) -> bool:
        done = self.primary.delete(key)
        path = self.legacy_path(key)
        if path is not None:
            path.unlink(missing_ok=True)
            done = True
        return done

    def exists(self, key) -> bool:
        return self.primary.exists(key) or self.legacy_path(key) is not None

    def size(self, key) -> int:
        try:
            return self.primary.size(key)
        except ObjectMissing as exc:
            return self._fallback(key, exc).stat().st_size

    def open_stream(self, key) -> BinaryIO:
        try:
            return self.primary.open_stream(key)
        except ObjectMissing as exc:
            return self._fallback(key, exc).open("rb")

    def local_path(self, key) -> Path | None:
        return self.primary.local_path(key) or self.legacy_path(key)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """The store's keys under `prefix`, then those only the old folders hold."""
        seen = set()
        for key in self.primary.iter_keys(prefix):
            seen.add(key)
            yield key
        for key in iter_legacy(self.legacy, prefix):
            if key not in seen:
                yield key


def iter_legacy(legacy: dict[str, Path], prefix: str = "") -> Iterator[str]:
    """Keys of the files in the old folders (valid keys only; `.part` files of unfinished writes left out)."""
    for root_prefix, folder in legacy.items():
        if not (root_prefix.startswith(prefix) or prefix.startswith(root_prefix)):
            continue
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink() or path.name.endswith(".part") or path.name.startswith("."):
                continue
            key = root_prefix + str(path.relative_to(folder)).replace(os.sep, "/")
            if key.startswith(prefix) and _KEY.match(key) and ".." not in key.split("/"):
                yield key


def legacy_folders(cfg: dict) -> dict[str, Path]:
    """Where uploads, documents and exports were written before they moved into the store."""
    instance = Path(cfg["INSTANCE_DIR"])
    return {
        "uploads/": Path(cfg.get("UPLOAD_DIR") or instance / "uploads"),
        "documents/": Path(cfg.get("DOCUMENTS_DIR") or instance / "documents"),
        "exports/": Path(cfg.get("EXPORTS_DIR") or instance / "exports"),
    }


def from_config(cfg: dict) -> Storage:
    """The configured store, wrapped so that files of the old folders are still found."""
    primary = primary_from_config(cfg)
    legacy = legacy_folders(cfg)
    if isinstance(primary, FileStorage):  # a folder that is the store's own prefix folder is no fallback
        legacy = {p: f for p, f in legacy.items() if f.resolve() != (primary.root / p).resolve()}
    return LegacyFallback(primary, legacy) if legacy else primary


def primary_from_config(cfg: dict) -> Storage:
    kind = (cfg.get("STORAGE") or "file").lower()
    if kind == "s3":
        if not cfg.get("S3_BUCKET"):
            raise StorageError("对象存储未配置存储桶（DUCHA_S3_BUCKET）")
        return S3Storage(
            cfg["S3_BUCKET"],
            endpoint_url=cfg.get("S3_ENDPOINT"),
            access_key=cfg.get("S3_ACCESS_KEY"),
            secret_key=cfg.get("S3_SECRET_KEY"),
            region=cfg.get("S3_REGION") or "us-east-1",
        )
    if kind != "file":
        raise StorageError(f"未知的存储类型：{kind}")
    return FileStorage(cfg.get("STORAGE_DIR") or Path(cfg["INSTANCE_DIR"]) / "storage")


def get_storage() -> Storage:
    """The app's storage (built once per app and kept in app.extensions)."""
    from flask import current_app

    store = current_app.extensions.get("ducha.storage")
    if store is None:
        store = current_app.extensions["ducha.storage"] = from_config(current_app.config)
    return store
