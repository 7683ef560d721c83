"""The connector run: pull pages, check each row against the data standard, upsert idempotently,
keep rejected rows with their reasons, log the counts and the duration.

Idempotence: a record is keyed by (source, data set, source id) and carries the source's version and a
checksum of its content. A row with a version we already hold and the same content changes nothing; an
older version changes nothing; a newer one updates; the same version with other content is rejected
("版本号相同但内容不一致"). So running a pull twice changes nothing the second time.

Each page commits on its own (a broken page later does not lose the pages before it); the incremental
cursor (the latest change time taken) moves only when the whole pull succeeded, so the next run asks
again from the old cursor and the pages already taken come back as unchanged.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, text, update

from app.errors import DomainError
from app.exchange.client import UpstreamError
from app.exchange.models import ExchangeCursor, ExchangeRecord, ExchangeReject, ExchangeRun
from app.exchange.quality import DATASETS, drift, validate
from app.extensions import db
from app.models_base import utcnow


class RowRejected(Exception):
    """A connector's mapping refuses a row (an unknown organisation, a missing enterprise, ...)."""

    def __init__(self, reasons: list[dict] | str):
        if isinstance(reasons, str):
            reasons = [{"field": "", "kind": "invalid", "message": reasons}]
        super().__init__("; ".join(r["message"] for r in reasons))
        self.reasons = reasons


def checksum(data: dict) -> str:
    raw = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _as_dt(value) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class Counts:
    """What happened to the rows of one run (or one reprocessing, or one upload)."""

    def __init__(self):
        self.inserted = self.updated = self.unchanged = self.rejected = self.duplicates = self.late = 0


class _Pending:
    """A row inserted earlier in the same chunk (not yet in the database)."""

    id = None

    def __init__(self, version: int, checksum: str, row: dict):
        self.version, self.checksum, self.row = version, checksum, row


def reject(source: str, dataset: str, row: dict, reasons: list[dict], run_id: int | None) -> ExchangeReject:
    spec = DATASETS[dataset]
    item = ExchangeReject(
        run_id=run_id,
        source=source,
        dataset=dataset,
        source_id=str(row.get(spec.key) or "")[:80] or None,
        row=row,
        reasons=reasons,
        status="open",
    )
    db.session.add(item)
    return item


def take_rows(
    connector, dataset: str, rows: Iterable[dict], *, run_id: int | None, counts: Counts, seen: set | None = None
) -> None:
    """Validate, map and upsert one page (or chunk) of rows: one SELECT for the keys, bulk writes."""
    spec = DATASETS[dataset]
    seen = set() if seen is None else seen
    now = utcnow()
    late_before = now - timedelta(days=spec.late_days)
    good = []
    for raw in rows:
        row, problems = validate(dataset, raw if isinstance(raw, dict) else {})
        key = (str(row.get(spec.key)), row.get("version"))
        if not problems and key in seen:  # the same row twice in one delivery (overlapping pages)
            counts.duplicates += 1
            continue
        seen.add(key)
        if problems:
            counts.rejected += 1
            reject(connector.code, dataset, raw, problems, run_id)
            continue
        good.append(row)
    if not good:
        return
    keys = [str(r[spec.key]) for r in good]
    if db.session.get_bind().dialect.name == "postgresql":
        # An IN list of thousands of keys, prepared by psycopg from its 5th run on: PostgreSQL may then keep a
        # generic plan that compares every row with every key (a 1M-row import: 15 s a chunk at 150k rows, and
        # growing); a plan made for the values uses the unique index (0.1 s). For this chunk's transaction only.
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    existing = {
        rec.source_id: rec
        for rec in db.session.execute(
            select(ExchangeRecord.id, ExchangeRecord.source_id, ExchangeRecord.version, ExchangeRecord.checksum).where(
                ExchangeRecord.source == connector.code,
                ExchangeRecord.dataset == dataset,
                ExchangeRecord.source_id.in_(keys),
            )
        )
    }
    bulk_links = connector.links(dataset, good)  # one query per chunk where the connector can (large loads)
    new_rows, changed = [], []
    for row in good:
        source_id = str(row[spec.key])
        version = int(row.get("version") or 1)
        digest = checksum(row)
        old = existing.get(source_id)
        changed_at = _as_dt(row.get("changed_at"))
        if old is not None and (version < old.version or (version == old.version and digest == old.checksum)):
            counts.unchanged += 1
            continue
        if old is not None and version == old.version:
            counts.rejected += 1
            reject(
                connector.code,
                dataset,
                row,
                [{"field": "version", "kind": "invalid", "message": "版本号相同但内容不一致，请源系统升版本后重发"}],
                run_id,
            )
            continue
        try:
            links = bulk_links[source_id] if bulk_links is not None else connector.prepare(dataset, row)
            if isinstance(links, RowRejected):
                raise links
        except RowRejected as exc:
            counts.rejected += 1
            reject(connector.code, dataset, row, exc.reasons, run_id)
            continue
        if changed_at is not None and changed_at < late_before:
            counts.late += 1
        values = {
            "version": version,
            "checksum": digest,
            "data": row,
            "changed_at": changed_at,
            "run_id": run_id,
            "updated_at": now,
            "org_id": links.get("org_id"),
            "enterprise_id": links.get("enterprise_id"),
        }
        if old is None:
            new_rows.append(
                {"source": connector.code, "dataset": dataset, "source_id": source_id, "created_at": now, **values}
            )
            existing[source_id] = _Pending(version, digest, new_rows[-1])
            counts.inserted += 1
        elif old.id is None:  # a newer version of a row inserted earlier in this same chunk
            old.row.update(values)
            old.version, old.checksum = version, digest
            counts.updated += 1
        else:
            changed.append({"_id": old.id, **values})
            counts.updated += 1
        connector.apply(dataset, row, created=old is None)
    if new_rows:
        db.session.execute(ExchangeRecord.__table__.insert(), new_rows)  # Core executemany: no ORM bookkeeping
    for values in changed:
        record_id = values.pop("_id")
        db.session.execute(update(ExchangeRecord).where(ExchangeRecord.id == record_id).values(**values))


# ---------------------------------------------------------------------------------------------- runs


def cursor_of(source: str, dataset: str) -> ExchangeCursor | None:
    return db.session.get(ExchangeCursor, (source, dataset))


def _set_cursor(source: str, dataset: str, value: str | None) -> None:
    row = cursor_of(source, dataset)
    if row is None:
        db.session.add(ExchangeCursor(source=source, dataset=dataset, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


def apply_counts(run: ExchangeRun, counts: Counts) -> None:
    for name in ("inserted", "updated", "unchanged", "rejected", "duplicates", "late"):
        setattr(run, name, getattr(counts, name))


def execute_run(run: ExchangeRun, report: Callable[[int, str], None] | None = None) -> ExchangeRun:
    """Pull one data set of one source into our tables; commits page by page and at the end."""
    from app.exchange.sources import connector_for

    report = report or (lambda _p, _m: None)
    connector = connector_for(run.source)
    started = time.monotonic()
    run.status, run.started_at = "running", utcnow()
    cursor = cursor_of(run.source, run.dataset)
    run.cursor_from = cursor.value if cursor else None
    db.session.commit()
    counts, seen, latest, notes = Counts(), set(), run.cursor_from, []
    client = connector.client()
    try:
        for page in connector.fetch(client, run.dataset, run.cursor_from):
            items = page["items"]
            run.pages += 1
            run.fetched += len(items)
            absent, new = drift(run.dataset, items)
            if absent and not notes:
                notes.append(
                    "上游数据结构变化：缺少字段 " + "、".join(absent) + ("；新字段 " + "、".join(new) if new else "")
                )
            take_rows(connector, run.dataset, items, run_id=run.id, counts=counts, seen=seen)
            for item in items:
                value = item.get("changed_at") if isinstance(item, dict) else None
                if isinstance(value, str) and (latest is None or value > latest):
                    latest = value
            apply_counts(run, counts)
            run.retries = client.retried
            db.session.commit()
            pages = max(int(page.get("pages") or 1), run.pages)
            report(min(95, int(run.pages * 95 / pages)), f"已获取第 {run.pages}/{pages} 页，共 {run.fetched} 条")
    except (UpstreamError, DomainError) as exc:
        db.session.rollback()
        run = db.session.get(ExchangeRun, run.id)
        run.status = "failed"
        run.retries = client.retried
        run.message = exc.message + (f"（已完成 {run.pages} 页，下次从原游标重新拉取）" if run.pages else "")
    else:
        if run.dataset in getattr(connector, "incremental", ()):
            _set_cursor(run.source, run.dataset, latest)
        run.cursor_to = latest
        run.status = "partial" if counts.rejected else "done"
        run.message = "；".join(notes) or (
            f"{counts.rejected} 条数据未通过校验，已保留待处理" if counts.rejected else "同步完成"
        )
    run.finished_at = utcnow()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    db.session.commit()
    return run


def new_run(source: str, dataset: str, *, trigger: str, user=None) -> ExchangeRun:
    run = ExchangeRun(
        source=source, dataset=dataset, trigger=trigger, status="queued", created_by_id=getattr(user, "id", None)
    )
    db.session.add(run)
    db.session.flush()
    return run
