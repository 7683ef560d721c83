"""核验比对 (reconciliation): per data set and day, the source's count and checksum against ours.

The checksum is the SHA-256 of the sorted lines "source id:version" of the records whose change time
falls on that calendar day in Beijing time (Asia/Shanghai: the day the city's systems and the data
administrator mean), so both sides compute it the same way without shipping the rows. A difference
above the threshold (EXCHANGE_RECONCILE_THRESHOLD rows, default 0) opens an alert for the data
administrator (异动提醒) and notifies every holder of the data administrator role.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.exchange.checksums import period_checksum
from app.exchange.models import ExchangeRecord, Reconciliation
from app.extensions import db

DATA_ADMIN_ROLE = "data_admin"
DAY_ZONE = ZoneInfo("Asia/Shanghai")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start of `day` and of the next day, Beijing time (aware datetimes)."""
    start = datetime.combine(day, time.min, tzinfo=DAY_ZONE)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=DAY_ZONE)


def local_day(at: datetime) -> date:
    return at.astimezone(DAY_ZONE).date()


def local_summary(source: str, dataset: str, day: date) -> tuple[int, str]:
    start, end = day_bounds(day)
    rows = db.session.execute(
        select(ExchangeRecord.source_id, ExchangeRecord.version).where(
            ExchangeRecord.source == source,
            ExchangeRecord.dataset == dataset,
            ExchangeRecord.changed_at >= start,
            ExchangeRecord.changed_at < end,
        )
    ).all()
    return len(rows), period_checksum(rows)


def data_admins() -> list:
    from app.auth.models import Role, User

    return list(
        db.session.scalars(
            select(User)
            .where(User.roles.any(Role.code == DATA_ADMIN_ROLE), User.status != "disabled")
            .order_by(User.id)
        )
    )


def reconcile(source: str, dataset: str, day: date) -> Reconciliation:
    """Compare one day with the source; flush; an alert when the difference passes the threshold."""
    from app.exchange.sources import connector_for

    connector = connector_for(source)
    answer = connector.summary(connector.client(), dataset, day.isoformat())
    count, digest = local_summary(source, dataset, day)
    theirs = int(answer.get("count") or 0)
    threshold = int(current_app.config.get("EXCHANGE_RECONCILE_THRESHOLD", 0))
    diff = abs(theirs - count)
    matched = diff <= threshold and (diff > 0 or answer.get("checksum") == digest)
    row = Reconciliation(
        source=source,
        dataset=dataset,
        period=day.isoformat(),
        source_count=theirs,
        local_count=count,
        source_checksum=answer.get("checksum"),
        local_checksum=digest,
        matched=matched,
    )
    db.session.add(row)
    db.session.flush()
    if not matched:
        row.alert_id = _alert(connector.label, dataset, day, theirs, count).id
    return row


def _alert(label: str, dataset: str, day: date, theirs: int, ours: int):
    from app.alerts.services import raise_alert
    from app.exchange.quality import DATASETS
    from app.inbox import notify
    from app.orgs.models import Organisation

    admins = data_admins()
    city = db.session.scalar(select(Organisation).where(Organisation.kind == "city").order_by(Organisation.id))
    what = DATASETS[dataset].label
    title = f"数据核验异常：{label}“{what}” {day.isoformat()} 源系统 {theirs} 条，本系统 {ours} 条"
    alert = raise_alert(
        "exchange_mismatch",
        org=city,
        title=title,
        owner=admins[0] if admins else None,
        level="red" if abs(theirs - ours) > 10 else "yellow",
        detail="请核对数据交换运行记录与被拒数据，必要时重新同步。",
        url="/exchange/reconciliations",
        notify_owner=False,
    )
    notify.notify(admins, kind="alert", title=f"预警：{title}", url="/exchange/reconciliations")
    return alert
