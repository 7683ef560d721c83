"""How much a password key derivation stalls the other threads of its process (the GIL probe).

    nice .venv/bin/python bench/kdf_gil.py [--iterations 300000] [--rounds 5]

For each implementation (cryptography's PBKDF2HMAC, hashlib.pbkdf2_hmac) it runs one derivation while a
probe thread wakes every millisecond, and prints the derivation's wall time and the probe's longest gap
and wake-ups: a KDF that holds the GIL makes the probe late by the whole derivation; one that releases
it does not. It also checks that both give the same bytes (stored hashes stay valid).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def _cryptography(secret: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(algorithm=hashes.SM3(), length=32, salt=salt, iterations=iterations).derive(secret)


def _hashlib(secret: bytes, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sm3", secret, salt, iterations, 32)


def probe_while(fn, *args) -> tuple[float, float, int, float]:
    """(wall seconds of fn, the probe's longest gap, the probe's wake-ups, CPU seconds of fn's thread)
    with a 1 ms probe thread."""
    stop = threading.Event()
    late: list[float] = []

    def probe():
        while not stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.001)
            late.append(time.perf_counter() - t0 - 0.001)

    t = threading.Thread(target=probe)
    t.start()
    time.sleep(0.01)
    late.clear()
    start, cpu = time.perf_counter(), time.thread_time()
    fn(*args)
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
    stop.set()
    t.join()
    return wall, max(late or [0.0]), len(late), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    secret, salt = os.urandom(32), os.urandom(16)
    same = _cryptography(secret, salt, 1000) == _hashlib(secret, salt, 1000)
    print(f"identical output (1,000 iterations): {same}")
    for name, fn in (("cryptography PBKDF2HMAC", _cryptography), ("hashlib.pbkdf2_hmac", _hashlib)):
        runs = [probe_while(fn, secret, salt, args.iterations) for _ in range(args.rounds)]
        wall = statistics.median(r[0] for r in runs)
        worst = statistics.median(r[1] for r in runs)
        ticks = statistics.median(r[2] for r in runs)
        cpu = statistics.median(r[3] for r in runs)
        print(
            f"{name:26s} wall {wall * 1000:6.1f} ms, CPU {cpu * 1000:6.1f} ms   "
            f"probe: longest gap {worst * 1000:6.1f} ms, {ticks:5.0f} wake-ups during the derivation"
        )


if __name__ == "__main__":
    main()
