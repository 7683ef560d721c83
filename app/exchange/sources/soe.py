"""数据归集－国有集团系统 (R2.6.4): SOE groups report their structure, inspection records and attachments
by the API (API tokens of service accounts) or by an XLSX/CSV upload. Every row is checked first; one bad
row refuses the whole submission with a row-level report in Chinese, so nothing is half-imported.

A group (or a member unit) reaches only its own data: rows about units outside the caller's data scope
are refused, and records are stored under the source "soe:<group code>" with the unit as organisation.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.errors import PermissionDenied, ValidationFailed
from app.exchange.models import ExchangeRecord, Submission
from app.exchange.quality import DATASETS, validate
from app.exchange.sources import Connector
from app.exchange.sync import Counts, RowRejected, checksum, take_rows
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import scope_for
from app.tabular.imports import ImportColumn

SUBMIT_DATASETS = ("soe_unit", "soe_inspection")
MAX_ROWS = 5000


def columns(dataset: str) -> list[ImportColumn]:
    return [ImportColumn(r.label, r.name, required=r.required) for r in DATASETS[dataset].rules]


class Soe(Connector):
    code = "soe"
    label = "国有集团系统"
    requirement = "R2.6.4"
    datasets = SUBMIT_DATASETS

    def client(self):  # the groups push to us; there is nothing to pull
        raise ValidationFailed("国有集团数据由集团通过接口或文件报送，无需拉取")


CONNECTOR = Soe()


class GroupConnector(Connector):
    """The SOE connector bound to one group and one caller's scope (its records' source and links)."""

    requirement = "R2.6.4"

    def __init__(self, group: Organisation, user):
        self.group, self.user = group, user
        self.code = f"soe:{group.code}"[:32]
        self.label = group.name

    def unit(self, code: str | None) -> Organisation | None:
        return db.session.scalar(select(Organisation).where(Organisation.code == code)) if code else None

    def prepare(self, dataset: str, row: dict) -> dict:
        if dataset == "soe_unit":
            return {"org_id": self.group.id}
        unit = self.unit(row.get("unit_code"))
        return {"org_id": unit.id if unit else self.group.id}

    def apply(self, dataset: str, row: dict, *, created: bool) -> None:
        if dataset != "soe_unit":
            return
        from app.orgs.services import create_org

        unit = self.unit(row["unit_code"])
        parent = self.unit(row.get("parent_code")) or self.group
        if unit is None:
            create_org(code=row["unit_code"], name=row["unit_name"], kind="soe_unit", parent=parent)
        else:
            unit.name = row["unit_name"]


@dataclass
class Outcome:
    submission: Submission
    problems: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def group_of(user) -> Organisation:
    org = user.token_scope_org or user.org
    node = org
    while node is not None and node.kind != "soe_group":
        node = node.parent
    if node is None:
        raise PermissionDenied("只有国有集团及其成员单位的账号可以报送数据")
    return node


def read_rows(dataset: str, filename: str, data: bytes) -> list[dict]:
    """Rows of an uploaded XLSX or CSV file, keyed by field name, with their sheet row number."""
    if dataset not in SUBMIT_DATASETS:
        raise ValidationFailed("请选择要报送的数据类型", errors={"dataset": "数据类型无效"})
    cols = columns(dataset)
    if filename.lower().endswith(".csv"):
        return _read_csv(data, cols)
    from app.tabular.imports import read_xlsx

    return read_xlsx(data, cols)


def _read_csv(data: bytes, cols: list[ImportColumn]) -> list[dict]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("CSV 文件编码无法识别，请另存为 UTF-8", errors={"file": "编码无法识别"})
    reader = csv.reader(io.StringIO(text))
    header = [h.replace("（必填）", "").strip() for h in next(reader, [])]
    index = {}
    for col in cols:
        if col.header in header:
            index[col.key] = header.index(col.header)
        elif col.required:
            raise ValidationFailed(
                f"缺少必填列「{col.header}」（第 1 行为表头）", errors={"file": f"缺少列 {col.header}"}
            )
    rows = []
    for number, values in enumerate(reader, start=2):
        cells = {k: (values[i].strip() if i < len(values) else "") for k, i in index.items()}
        if any(cells.values()):
            rows.append({"_row": number, **cells})
        if len(rows) > MAX_ROWS:
            raise ValidationFailed(f"一次最多报送 {MAX_ROWS} 行，请分批报送", errors={"file": "行数过多"})
    if not rows:
        raise ValidationFailed("文件中没有数据行", errors={"file": "没有数据"})
    return rows


def _versioned(connector: GroupConnector, dataset: str, rows: list[dict]) -> None:
    """Give each row the version it needs: the held one when unchanged, one more when corrected."""
    key = DATASETS[dataset].key
    held = {
        r.source_id: r
        for r in db.session.scalars(
            select(ExchangeRecord).where(
                ExchangeRecord.source == connector.code,
                ExchangeRecord.dataset == dataset,
                ExchangeRecord.source_id.in_([str(r[key]) for r in rows]),
            )
        )
    }
    for row in rows:
        old = held.get(str(row[key]))
        if old is None:
            row["version"] = 1
            continue
        row["version"] = old.version
        if checksum(row) != old.checksum:
            row["version"] = old.version + 1


def submit(user, dataset: str, items: list[dict], *, channel: str, filename: str | None = None) -> Outcome:
    """Check every row, then take them all or none. Flushes; the caller commits (and rolls back a refusal
    before it records the refused submission with `record_refusal`)."""
    if dataset not in SUBMIT_DATASETS:
        raise ValidationFailed("数据类型无效", errors={"dataset": "数据类型无效"})
    group = group_of(user)
    scope = scope_for(user)
    connector = GroupConnector(group, user)
    labels = {r.name: r.label for r in DATASETS[dataset].rules}
    problems, good = [], []
    known_units = {row.get("unit_code") for row in items} if dataset == "soe_unit" else set()
    for number, raw in enumerate(items, start=1):
        line = raw.get("_row", number) if isinstance(raw, dict) else number
        if not isinstance(raw, dict):
            problems.append({"row": line, "column": "", "message": "每一项应为一个对象"})
            continue
        row, found = validate(dataset, {k: v for k, v in raw.items() if k != "_row"})
        problems += [
            {"row": line, "column": labels.get(p["field"], p["field"]), "message": p["message"]} for p in found
        ]
        if found:
            continue
        try:
            _check_scope(connector, scope, dataset, row, known_units)
        except RowRejected as exc:
            problems += [
                {"row": line, "column": labels.get(r["field"], r["field"]), "message": r["message"]}
                for r in exc.reasons
            ]
            continue
        good.append((line, row))
    seen = {}
    key = DATASETS[dataset].key
    for line, row in good:
        if row[key] in seen:
            problems.append({"row": line, "column": labels[key], "message": f"与第 {seen[row[key]]} 行重复"})
        seen.setdefault(row[key], line)
    good = [row for _line, row in good]
    submission = Submission(
        org_id=group.id, dataset=dataset, channel=channel, rows=len(items), filename=filename, created_by_id=user.id
    )
    if problems or not items:
        if not items:
            problems.append({"row": 0, "column": "", "message": "没有数据行"})
        submission.status, submission.problems = "refused", problems[:500]
        return Outcome(submission, problems)
    _versioned(connector, dataset, good)
    counts = Counts()
    take_rows(connector, dataset, good, run_id=None, counts=counts)
    submission.status, submission.accepted = "accepted", len(good)
    db.session.add(submission)
    db.session.flush()
    return Outcome(submission)


def _check_scope(connector: GroupConnector, scope, dataset: str, row: dict, known_units: set) -> None:
    if dataset == "soe_unit":
        unit = connector.unit(row["unit_code"])
        if unit is not None and not scope.contains(unit):
            raise RowRejected([{"field": "unit_code", "kind": "invalid", "message": "单位编码已被其他单位使用"}])
        parent_code = row.get("parent_code")
        if parent_code and parent_code not in known_units:
            parent = connector.unit(parent_code)
            if parent is None or not scope.contains(parent):
                raise RowRejected([{"field": "parent_code", "kind": "invalid", "message": "上级单位不在本集团架构内"}])
        return
    unit = connector.unit(row["unit_code"])
    if unit is None or not scope.contains(unit):
        raise RowRejected(
            [{"field": "unit_code", "kind": "invalid", "message": "受检单位不在本集团架构内（请先报送集团架构）"}]
        )


def record_refusal(outcome: Outcome) -> Submission:
    """After the caller's rollback: keep the refused submission and its report (a new row)."""
    s = outcome.submission
    kept = Submission(
        org_id=s.org_id,
        dataset=s.dataset,
        channel=s.channel,
        rows=s.rows,
        filename=s.filename,
        created_by_id=s.created_by_id,
        status="refused",
        problems=s.problems,
    )
    db.session.add(kept)
    db.session.flush()
    return kept


def visible_records(user, dataset: str):
    """The caller's own SOE records (their data scope), newest first."""
    scope = scope_for(user)
    stmt = select(ExchangeRecord).where(ExchangeRecord.source.startswith("soe:"), ExchangeRecord.dataset == dataset)
    return scope.filter_org(stmt, ExchangeRecord.org_id).order_by(ExchangeRecord.id.desc())


def save_attachment(user, record_no: str, filename: str, data: bytes) -> ExchangeRecord:
    """An attachment of one of the caller's own inspection records, stored in app.storage by its digest."""
    from app.security.uploads import clean_filename
    from app.storage import files

    group = group_of(user)
    connector = GroupConnector(group, user)
    if not data:
        raise ValidationFailed("附件为空", errors={"file": "请选择文件"})
    if len(data) > int(current_app.config.get("EXCHANGE_MAX_ATTACHMENT", 20 * 1024 * 1024)):
        raise ValidationFailed("附件不能超过 20 MB", errors={"file": "文件过大"})
    record = db.session.scalar(
        visible_records(user, "soe_inspection").where(
            ExchangeRecord.source_id == record_no, ExchangeRecord.source == connector.code
        )
    )
    if record is None:
        raise ValidationFailed("检查记录不存在或不属于本单位", errors={"record_no": "记录编号无效"})
    digest = hashlib.sha256(data).hexdigest()
    key = f"{files.UPLOADS}exchange/{group.code}/{digest}"
    if not files.exists(key):
        files.put_new(key, data)
    row = {
        "file_id": f"{record_no}:{digest[:16]}",
        "record_no": record_no,
        "filename": clean_filename(filename),
        "sha256": digest,
        "size": len(data),
    }
    row, problems = validate("soe_attachment", row)
    if problems:
        raise ValidationFailed(problems[0]["message"])
    _versioned(connector, "soe_attachment", [row])
    take_rows(connector, "soe_attachment", [row], run_id=None, counts=Counts())
    return db.session.scalar(
        select(ExchangeRecord).where(
            ExchangeRecord.source == connector.code, ExchangeRecord.source_id == row["file_id"]
        )
    )
