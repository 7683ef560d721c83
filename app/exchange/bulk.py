"""A streamed import of a large file (a full load from a source's dump): CSV read row by row, checked and
upserted in chunks that each commit, so memory stays flat whatever the size and a failure loses at most
one chunk (re-running is idempotent). The run log counts it like any pull."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

from app.exchange.models import ExchangeRun
from app.exchange.quality import DATASETS
from app.exchange.sources import connector_for
from app.exchange.sync import Counts, apply_counts, new_run, take_rows
from app.extensions import db
from app.models_base import utcnow

CHUNK = 2000


def import_csv(
    path: str | Path,
    source: str,
    dataset: str,
    *,
    chunk: int = CHUNK,
    report: Callable[[int, str], None] | None = None,
) -> ExchangeRun:
    """Import a UTF-8 CSV whose header names the fields (English names or the standard's Chinese labels)."""
    connector = connector_for(source)
    labels = {r.label: r.name for r in DATASETS[dataset].rules}
    run = new_run(source, dataset, trigger="upload")
    run.status = "running"
    db.session.commit()
    started = time.monotonic()
    counts, seen = Counts(), set()
    size = max(Path(path).stat().st_size, 1)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [labels.get(h.strip(), h.strip()) for h in next(reader, [])]
        batch: list[dict] = []
        for values in reader:
            batch.append(dict(zip(header, values, strict=False)))
            if len(batch) >= chunk:
                _flush(connector, dataset, batch, run, counts, seen)
                if report:
                    report(min(99, int(handle.tell() * 100 / size)), f"已导入 {run.fetched} 行")
                batch = []
        if batch:
            _flush(connector, dataset, batch, run, counts, seen)
    run.status = "partial" if counts.rejected else "done"
    run.message = f"{counts.rejected} 条数据未通过校验，已保留待处理" if counts.rejected else "导入完成"
    run.finished_at = utcnow()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    db.session.commit()
    return run


def _flush(connector, dataset: str, batch: list[dict], run: ExchangeRun, counts: Counts, seen: set) -> None:
    take_rows(connector, dataset, batch, run_id=run.id, counts=counts, seen=seen)
    run.fetched += len(batch)
    run.pages += 1
    apply_counts(run, counts)
    db.session.commit()
    db.session.expunge_all()  # the identity map must not grow with the file
    db.session.add(run)
    seen.clear()  # duplicates are looked for within a chunk; the upsert keeps the rest idempotent
