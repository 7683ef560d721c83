"""app.storage: the filesystem backend and the S3 backend against moto's server mode (a real S3 endpoint
as a separate process on loopback); the same contract for both."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from app.storage import FileStorage, ObjectMissing, S3Storage, StorageError, check_key, parse_range
from tests.dispatch_support import free_port


@pytest.fixture(scope="module")
def s3_endpoint():
    exe = shutil.which("moto_server", path=str(__import__("pathlib").Path(sys.executable).parent))
    if exe is None:
        reason = "moto_server is not installed (pip install 'moto[server]')"
        print(reason)
        pytest.skip(reason)
    port = free_port(range(7380, 7400))
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.time() > end or proc.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return FileStorage(tmp_path / "store")
    url = request.getfixturevalue("s3_endpoint")
    s3 = S3Storage(
        f"ducha-test-{tmp_path.name[-12:].lower().replace('_', '-')}",
        endpoint_url=url,
        access_key="testing",
        secret_key="testing",
    )
    s3.ensure_bucket()
    return s3


def test_contract(store):
    data = bytes(range(256)) * 40
    assert store.put("recordings/2026/12/a.mp4", data, "video/mp4") == len(data)
    assert store.exists("recordings/2026/12/a.mp4") and store.size("recordings/2026/12/a.mp4") == len(data)
    assert store.get("recordings/2026/12/a.mp4") == data
    assert store.open_range("recordings/2026/12/a.mp4", 100, 199) == data[100:200]
    assert store.open_range("recordings/2026/12/a.mp4", len(data) - 5, len(data) - 1) == data[-5:]
    assert store.put("docs/b.bin", io.BytesIO(b"stream")) == 6 and store.get("docs/b.bin") == b"stream"
    assert store.delete("recordings/2026/12/a.mp4") is True
    assert store.delete("recordings/2026/12/a.mp4") is False  # idempotent
    assert not store.exists("recordings/2026/12/a.mp4")
    with pytest.raises(ObjectMissing, match="文件不存在"):
        store.get("recordings/2026/12/a.mp4")
    with pytest.raises(ObjectMissing):
        store.size("nothing/here")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", "空格 key", ""])
def test_bad_keys_are_refused(key, tmp_path):
    with pytest.raises(StorageError, match="存储键不合法"):
        check_key(key)
    with pytest.raises(StorageError):
        FileStorage(tmp_path).put(key, b"x")


def test_range_header_parsing():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=50-500", 100) == (50, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # multipart ranges: the whole file
    for bad in ("bytes=100-", "bytes=5-2", "bytes=x-1"):
        with pytest.raises(StorageError):
            parse_range(bad, 100)
