"""The reconciliation checksum both sides compute (kept free of database imports: the fakes use it)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def period_checksum(pairs: Iterable[tuple[str, int]]) -> str:
    """SHA-256 of the sorted lines "source id:version" joined by newlines."""
    lines = sorted(f"{source_id}:{int(version)}" for source_id, version in pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
