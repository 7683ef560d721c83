"""生产经营单位信息完善 (R2.6.5): a business-registration API and a geocoding API enrich enterprises.

Both sit behind small interfaces (`Registry`, `Geocoder`) so production can plug in the city's real
services; the HTTP implementations talk to the fakes on loopback in tests and the demo. Answers are
cached (EXCHANGE_CACHE_DAYS, default 30), calls are rate-limited by the client, and every fact is kept
with its source and date (exchange_facts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from app.enterprises.models import Enterprise
from app.exchange.client import Client, UpstreamError
from app.exchange.models import EnterpriseFact, LookupCache
from app.exchange.sources import Connector
from app.extensions import db
from app.models_base import utcnow

REGISTRY_SOURCE = "工商登记信息接口"
GEOCODER_SOURCE = "地理编码接口"
REGISTRATION_FIELDS = {
    "registered_capital": "注册资本",
    "established_on": "成立日期",
    "business_status": "经营状态",
    "registration_authority": "登记机关",
    "legal_person": "法定代表人（登记）",
}
FACT_LABELS = {**REGISTRATION_FIELDS, "longitude": "经度", "latitude": "纬度"}


class Registry(Protocol):
    def lookup(self, credit_code: str) -> dict | None: ...


class Geocoder(Protocol):
    def geocode(self, address: str) -> tuple[float, float] | None: ...


class _Http:
    code = ""

    def __init__(self, client: Client):
        self.client = client

    def _get(self, path: str, **params) -> dict | None:
        try:
            return self.client.get(path, **params)
        except UpstreamError as exc:
            if "HTTP 404" in exc.message:
                return None
            raise


class HttpRegistry(_Http):
    code = "gsxx"

    def lookup(self, credit_code: str) -> dict | None:
        return self._get("/api/registration", credit_code=credit_code)


class HttpGeocoder(_Http):
    code = "geo"

    def geocode(self, address: str) -> tuple[float, float] | None:
        answer = self._get("/api/geocode", address=address)
        return (float(answer["lng"]), float(answer["lat"])) if answer else None


class Enrich(Connector):
    code = "enrich"
    label = "第三方工商登记与地理编码"
    requirement = "R2.6.5"
    datasets = ()

    def client_for(self, code: str) -> Client:
        self_code, self.code = self.code, code
        try:
            client = self.client()
        finally:
            self.code = self_code
        client.config.min_interval = float(current_app.config.get("EXCHANGE_ENRICH_INTERVAL", 0.05))
        return client


CONNECTOR = Enrich()


def _cached(provider: str, key: str, fetch) -> dict | None:
    days = int(current_app.config.get("EXCHANGE_CACHE_DAYS", 30))
    row = db.session.get(LookupCache, (provider, key))
    if row is not None and row.fetched_at >= utcnow() - timedelta(days=days):
        return row.answer
    answer = fetch()
    if row is None:
        db.session.add(LookupCache(provider=provider, key=key, answer=answer, fetched_at=utcnow()))
    else:
        row.answer, row.fetched_at = answer, utcnow()
    db.session.flush()
    return answer


def _fact(ent: Enterprise, field: str, value, source: str) -> None:
    fact = db.session.scalar(
        select(EnterpriseFact).where(EnterpriseFact.enterprise_id == ent.id, EnterpriseFact.field == field)
    )
    if fact is None:
        fact = EnterpriseFact(enterprise_id=ent.id, field=field)
        db.session.add(fact)
    fact.value, fact.source, fact.fetched_at = None if value is None else str(value)[:300], source, utcnow()


def enrich(ent: Enterprise, registry: Registry | None = None, geocoder: Geocoder | None = None) -> dict:
    """Registration facts and coordinates for one enterprise; flushes. Returns what was learnt."""
    registry = registry or HttpRegistry(CONNECTOR.client_for("gsxx"))
    geocoder = geocoder or HttpGeocoder(CONNECTOR.client_for("geo"))
    learnt = {}
    reg = _cached("gsxx", ent.credit_code, lambda: registry.lookup(ent.credit_code))
    for field in REGISTRATION_FIELDS:
        if reg and reg.get(field):
            _fact(ent, field, reg[field], REGISTRY_SOURCE)
            learnt[field] = reg[field]
    if ent.address:
        point = _cached("geo", ent.address[:200], lambda: _as_dict(geocoder.geocode(ent.address)))
        if point:
            ent.longitude, ent.latitude = point["lng"], point["lat"]
            _fact(ent, "longitude", point["lng"], GEOCODER_SOURCE)
            _fact(ent, "latitude", point["lat"], GEOCODER_SOURCE)
            learnt.update(longitude=point["lng"], latitude=point["lat"])
    db.session.flush()
    return learnt


def _as_dict(point):
    return {"lng": point[0], "lat": point[1]} if point else None


def facts_of(enterprise_id: int) -> list[EnterpriseFact]:
    return list(
        db.session.scalars(
            select(EnterpriseFact).where(EnterpriseFact.enterprise_id == enterprise_id).order_by(EnterpriseFact.field)
        )
    )


def missing_query():
    """Enterprises with an address but no coordinates yet (the ones enrichment helps most)."""
    return (
        select(Enterprise)
        .where(Enterprise.longitude.is_(None), Enterprise.address.is_not(None))
        .order_by(Enterprise.id)
    )


def enrich_job(report, limit: int = 200) -> dict:
    """Background job: enrich up to `limit` enterprises, committing every 20; an API failure stops it."""
    from app.errors import ValidationFailed

    ids = list(db.session.scalars(missing_query().with_only_columns(Enterprise.id).limit(limit)))
    done = 0
    for n, ent_id in enumerate(ids, start=1):
        try:
            enrich(db.session.get(Enterprise, ent_id))
        except UpstreamError as exc:
            db.session.commit()
            raise ValidationFailed(f"已完善 {done} 家后中止：{exc.message}") from exc
        done += 1
        if n % 20 == 0:
            db.session.commit()
            report(int(n * 100 / len(ids)), f"已完善 {n}/{len(ids)} 家企业")
    return {"message": f"已完善 {done} 家企业"}
