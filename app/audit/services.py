"""Record and verify audit entries. Services flush; the caller commits with its own act."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from flask import current_app
from sqlalchemy import bindparam, cast, event, func, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import deferred
from app.audit import checkpoint
from app.audit.models import AuditEntry, AuditHead
from app.extensions import db
from app.models_base import utcnow

GENESIS = "0" * 64


def _mac(key: str, prev: str, entry: AuditEntry) -> str:
    payload = json.dumps(
        [
            prev,
            entry.at.isoformat(timespec="microseconds"),
            entry.actor_id,
            entry.actor_login,
            entry.ip,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    ).encode("utf-8")
    mac = crypto_hmac.HMAC(key.encode("utf-8"), hashes.SM3())
    mac.update(payload)
    return mac.finalize().hex()


PENDING_KEY = "ducha.audit_pending"


def record(
    action: str,
    *,
    actor=None,
    object_type: str | None = None,
    object_id: object = None,
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain when the caller's transaction commits.

    The entry is chained and inserted by `_seal` in the session's `before_commit`: the head row is
    locked only for the last moment of the transaction (not from the first audited act to the commit,
    which serialised every concurrent act). On PostgreSQL a commit with one entry costs one statement
    when the head is still the one this process saw last (move the head only if it is, and insert the
    entry only then), else two (lock-and-read the head; insert the entries and move the head in one
    statement), whatever the number of entries; the instance history queued for commit (`app.deferred`)
    is inserted in that statement too. A rollback drops the pending entries with the rest of the work.
    Entries recorded in one transaction are chained in the order they were recorded.
    """
    entry = AuditEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_login=getattr(actor, "login", None),
        ip=ip,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail or {},
    )
    _install()
    db.session().info.setdefault(PENDING_KEY, []).append(entry)
    return entry


def flush_pending() -> None:
    """Chain and insert the entries recorded so far in this transaction (before reading them back)."""
    _seal(db.session())


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row and read it in one statement (the row is created on first use)."""
    table = AuditHead.__table__
    stmt = (
        update(table)
        .where(table.c.id == 1)
        .values(last_id=table.c.last_id)
        .returning(table.c.last_id, table.c.last_mac)
    )
    row = session.execute(stmt).first()
    if row is None:
        # First entry ever: two first commits at once may both find no head; the loser's insert fails
        # inside its savepoint and it then waits on (and reads) the winner's row.
        try:
            with session.begin_nested():
                session.execute(insert(table).values(id=1, last_id=0, last_mac=GENESIS))
        except IntegrityError:
            pass
        row = session.execute(stmt).first()
    return row[0], row[1]


# The chain head this process saw last, per database: the guess the one-statement append checks.
_known_head: dict[str, str] = {}


def _seal(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    key = current_app.config["AUDIT_KEY"]
    bind = session.get_bind()
    where = bind.url.render_as_string(hide_password=True)
    if bind.dialect.name != "postgresql":
        _, prev = _lock_head(session)
        _chain(key, prev, pending)
        entries, head = AuditEntry.__table__, AuditHead.__table__
        ids = [session.execute(insert(entries).values(**_row(e)).returning(entries.c.id)).scalar_one() for e in pending]
        session.execute(update(head).where(head.c.id == 1).values(last_id=ids[-1], last_mac=pending[-1].mac))
        _sealed(session, pending, ids[-1])
        return
    # PostgreSQL: the rows queued for commit (the instance history) go into the chain's statement.
    extra = _uniform(session, deferred.take(session))
    guess = _known_head.get(where)
    if len(pending) == 1 and guess is not None:
        _chain(key, guess, pending)
        last_id = session.execute(*_append_if_head_is(guess, pending[0], extra)).scalar()
        extra = {}  # written by that statement whether or not the head had moved
        if last_id is not None:
            _known_head[where] = pending[0].mac
            _sealed(session, pending, last_id)
            return
    # Another process appended since (or nothing is known yet): lock and read the head, then append.
    _, prev = _lock_head(session)
    _chain(key, prev, pending)
    last_id = session.execute(*_append_after_lock(pending, extra)).scalar_one()
    _known_head[where] = pending[-1].mac
    _sealed(session, pending, last_id)


def _chain(key: str, prev: str, pending: list[AuditEntry]) -> None:
    for entry in pending:
        entry.prev_mac = prev
        entry.mac = prev = _mac(key, prev, entry)


def _row(entry: AuditEntry) -> dict:
    return {c: getattr(entry, c) for c in _COLUMNS}


def _sealed(session: Session, pending: list[AuditEntry], last_id: int) -> None:
    pending[-1].id = last_id
    checkpoint.note_append(session, last_id, pending[-1].mac)


def _typed(name: str, column):
    return cast(bindparam(name, type_=column.type), column.type)


def _queued_insert(table, columns: tuple[str, ...], count: int, prefix: str):
    """INSERT of `count` rows of `columns` as bound parameters `{prefix}{i}_{column}`. A multi-row VALUES
    has no cache key (SQLAlchemy would compile it at every call); rows as a UNION ALL of typed SELECTs do."""
    if count == 1:
        return insert(table).values({c: bindparam(f"{prefix}0_{c}", type_=table.c[c].type) for c in columns})
    rows = [select(*[_typed(f"{prefix}{i}_{c}", table.c[c]) for c in columns]) for i in range(count)]
    return insert(table).from_select(list(columns), union_all(*rows))


def _shape(extra: dict) -> tuple:
    """The queued rows' shape: (table, columns, count) per table."""
    return tuple((table, tuple(rows[0]), len(rows)) for table, rows in extra.items())


def _uniform(session: Session, extra: dict) -> dict:
    """The queued rows whose table's rows all have the same columns (rows of a table that differ are
    inserted now, on their own: the chain's statement is built per shape)."""
    mixed = {t: rows for t, rows in extra.items() if any(tuple(r) != tuple(rows[0]) for r in rows[1:])}
    if mixed:
        deferred.write(session, mixed)
    return {t: rows for t, rows in extra.items() if t not in mixed}


def _shape_params(extra: dict) -> dict:
    return {
        f"q{n}_{i}_{c}": value
        for n, rows in enumerate(extra.values())
        for i, row in enumerate(rows)
        for c, value in row.items()
    }


def _entry_params(pending: list[AuditEntry]) -> dict:
    return {f"e{i}_{c}": getattr(entry, c) for i, entry in enumerate(pending) for c in _COLUMNS}


# The chain's statements, built once per process and shape with bound parameters: building one with its
# values inline and letting SQLAlchemy find it in its cache cost ~1 ms per commit, compiling it more.
_built: dict[tuple, object] = {}


def _with_queued(stmt, shape: tuple):
    for n, (table, columns, count) in enumerate(shape):
        stmt = stmt.add_cte(_queued_insert(table, columns, count, f"q{n}_").cte(f"queued_{n}"))
    return stmt


def _append_after_lock(pending: list[AuditEntry], extra: dict):
    """The head is locked: insert the entries and move the head to the last of them, one statement.
    Returns (statement, parameters)."""
    shape = _shape(extra)
    key = ("after_lock", len(pending), shape)
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built[key] = _with_queued(_append_after_lock_stmt(len(pending)), shape)
    return stmt, {**_entry_params(pending), **_shape_params(extra)}


def _append_after_lock_stmt(count: int):
    entries, head = AuditEntry.__table__, AuditHead.__table__
    if count == 1:
        added = insert(entries).values({c: bindparam(f"e0_{c}", type_=entries.c[c].type) for c in _COLUMNS})
    else:
        rows = [select(*[_typed(f"e{i}_{c}", entries.c[c]) for c in _COLUMNS]) for i in range(count)]
        added = insert(entries).from_select(list(_COLUMNS), union_all(*rows))
    added = added.returning(entries.c.id).cte("added")
    return (
        update(head)
        .where(head.c.id == 1)
        .values(
            last_id=select(func.max(added.c.id)).scalar_subquery(),
            last_mac=bindparam(f"e{count - 1}_mac", type_=head.c.last_mac.type),
        )
        .returning(head.c.last_id)
        .add_cte(added)
    )


def _append_if_head_is(guess: str, entry: AuditEntry, extra: dict):
    """One statement: move the head to the entry only if it is still `guess` (the update waits for a
    concurrent append to commit, then sees its head), and insert the entry only then, with the id drawn
    for the head. No row (the head had moved): nothing of the chain was written. Returns (statement,
    parameters)."""
    shape = _shape(extra)
    params = {"guess": guess, **_entry_params([entry])}
    key = ("if_head_is", shape)
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built[key] = _with_queued(_append_if_head_is_stmt(), shape)
    return stmt, {**params, **_shape_params(extra)}


def _append_if_head_is_stmt():
    entries, head = AuditEntry.__table__, AuditHead.__table__
    next_id = func.nextval(func.pg_get_serial_sequence(entries.name, "id"))
    moved = (
        update(head)
        .where(head.c.id == 1, head.c.last_mac == bindparam("guess", type_=head.c.last_mac.type))
        .values(last_id=next_id, last_mac=bindparam("e0_mac", type_=head.c.last_mac.type))
        .returning(head.c.last_id)
        .cte("moved")
    )
    chosen = select(moved.c.last_id, *[_typed(f"e0_{c}", entries.c[c]) for c in _COLUMNS])
    return insert(entries).from_select(["id", *_COLUMNS], chosen).returning(entries.c.id).add_cte(moved)


_COLUMNS = ("at", "actor_id", "actor_login", "ip", "action", "object_type", "object_id", "detail", "prev_mac", "mac")


def _drop_pending(session: Session, *_args) -> None:
    session.info.pop(PENDING_KEY, None)


def _on_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(PENDING_KEY, None)


def _install() -> None:
    if not event.contains(Session, "before_commit", _seal):
        event.listen(Session, "before_commit", _seal, insert=True)  # before `deferred` writes its rows alone
        event.listen(Session, "after_rollback", _drop_pending)
        event.listen(Session, "after_transaction_end", _on_transaction_end)


def anchor_seal(key: str, through_id: int, through_mac: str) -> str:
    mac = crypto_hmac.HMAC(key.encode("utf-8"), hashes.SM3())
    mac.update(f"audit-anchor:{through_id}:{through_mac}".encode())
    return mac.finalize().hex()


def hmac_compare(a: str, b: str) -> bool:
    import hmac as std_hmac

    return std_hmac.compare_digest(a.encode(), b.encode())


def latest_anchor():
    """The newest retention anchor (None: nothing was ever purged)."""
    from app.audit.models import AuditAnchor

    return db.session.scalar(select(AuditAnchor).order_by(AuditAnchor.through_id.desc()).limit(1))


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    last_id: int = 0


def verify(batch: int = 5000, *, reset_checkpoint: bool = False) -> VerifyResult:
    """Walk the chain in id order; report edits, deletions, reordering and a cut-off end.

    The end is checked against `audit_head` and against the checkpoint file outside the database
    (app/audit/checkpoint.py). A clean result moves the checkpoint to the latest entry;
    `reset_checkpoint` accepts the current end when the file is missing (first verification).
    """
    key = current_app.config["AUDIT_KEY"]
    problems: list[str] = []
    marks: dict[int, str] = {}  # every entry the checkpoint log ever named, with its chain value
    path = checkpoint.checkpoint_path()
    try:
        mark = checkpoint.read(path, key)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        mark = None
        problems.append("外部检查点文件已损坏或被改动")
    try:
        logged = checkpoint.read_log(checkpoint.log_path(), key, marks)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        logged = None
        problems.append("外部检查点日志已损坏或被改动")
    logged_id = logged[1].last_id if logged else None
    mark_mac = logged_mac = None
    prev = GENESIS
    checked = 0
    last_id = 0
    anchor = latest_anchor()
    if anchor is not None:  # entries up to the anchor were purged by retention: start the chain there
        if not hmac_compare(anchor_seal(key, anchor.through_id, anchor.through_mac), anchor.seal):
            problems.append(f"保留期清理锚点（第 {anchor.through_id} 条）被改动")
        prev = anchor.through_mac
        last_id = anchor.through_id
        early = db.session.scalar(select(func.count()).where(AuditEntry.id <= anchor.through_id))
        if early:
            problems.append(f"保留期清理锚点之前仍有 {early} 条记录（清理未完成或锚点被改动）")
    while True:
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.prev_mac != prev:
                problems.append(f"第 {entry.id} 条记录的前序链值不符（记录被删除或顺序被改动）")
            if _mac(key, entry.prev_mac, entry) != entry.mac:
                problems.append(f"第 {entry.id} 条记录内容被篡改")
            prev = entry.mac
            last_id = entry.id
            checked += 1
            if mark is not None and entry.id == mark.last_id:
                mark_mac = entry.mac
            if entry.id == logged_id:
                logged_mac = entry.mac
            if entry.id in marks and marks.pop(entry.id) != entry.mac:
                problems.append(f"第 {entry.id} 条审计记录的链值与检查点日志不符（其前的记录被删除或改动）")
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.last_id != last_id or head.last_mac != prev):
        problems.append("审计链末尾与检查点不一致（末尾记录被删除）")
    if mark is not None:
        if mark.last_id > last_id:
            problems.append(f"审计日志末尾记录被删除：外部检查点记到第 {mark.last_id} 条，表中只到第 {last_id} 条")
        elif mark_mac is None:
            problems.append(f"外部检查点记录的第 {mark.last_id} 条审计记录不存在")
        elif mark_mac != mark.last_mac:
            problems.append(f"第 {mark.last_id} 条审计记录的链值与外部检查点不符")
    if logged is not None and not reset_checkpoint:
        latest, highest = logged
        if mark is not None and (latest.seq > mark.seq or latest.last_id > mark.last_id):
            problems.append(
                f"外部检查点被回退：检查点日志记到序号 {latest.seq}（第 {latest.last_id} 条），"
                f"检查点文件只有序号 {mark.seq}（第 {mark.last_id} 条）"
            )
        if highest.last_id > last_id and not (mark is not None and mark.last_id >= highest.last_id):
            problems.append(f"审计日志末尾记录被删除：检查点日志记到第 {highest.last_id} 条，表中只到第 {last_id} 条")
        elif highest.last_id <= last_id and logged_mac != highest.last_mac:
            problems.append(
                f"第 {highest.last_id} 条审计记录与检查点日志不符（其后的记录被删除后又写入了新记录，检查点被回退）"
            )
    # Ids below the first row left in the table were purged by retention (app/audit), not cut out.
    first_id = db.session.scalar(select(func.min(AuditEntry.id))) or 0
    gone = sorted(i for i in marks if first_id <= i <= last_id) if not reset_checkpoint else []
    if gone:  # named by the log, inside the table's range, and no longer there: rows cut out and the chain re-joined
        problems.append(
            f"审计日志末尾记录被删除：检查点日志记到第 {gone[-1]} 条，表中已没有该记录"
            f"（检查点日志所记的 {len(gone)} 条记录不见了，其后又写入了新记录）"
        )
    if mark is None and checked and not path.exists() and not reset_checkpoint:
        problems.insert(0, "未找到外部检查点文件，无法确认末尾记录是否被截断（首次校验请用 --reset-checkpoint 建立）")
    if not problems and checked:
        checkpoint.write(path, key, last_id, prev, force=reset_checkpoint)
    return VerifyResult(ok=not problems, checked=checked, problems=problems, last_id=last_id)
