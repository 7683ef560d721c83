"""The connectors, one module per source, and the base they share (client from config, paging,
mapping hooks, reconciliation summary)."""

from __future__ import annotations

import os

from flask import current_app

from app.errors import NotFound
from app.exchange.client import Client, ClientConfig


class Connector:
    code = ""
    label = ""
    requirement = ""
    datasets: tuple[str, ...] = ()
    incremental: tuple[str, ...] = ()  # data sets pulled by change time (the others: whole list each run)
    schedule_every: float | None = None  # seconds; None: no scheduled pull

    def client(self) -> Client:
        cfg = current_app.config
        base = cfg.get("EXCHANGE_BASE_URL") or os.environ.get("DUCHA_EXCHANGE_BASE_URL", "http://127.0.0.1:7500")
        return Client(
            ClientConfig(
                base_url=(cfg.get("EXCHANGE_URLS") or {}).get(self.code) or f"{base.rstrip('/')}/{self.code}",
                client_id=cfg.get("EXCHANGE_CLIENT_ID", "ducha"),
                client_secret=cfg.get("EXCHANGE_CLIENT_SECRET")
                or os.environ.get("DUCHA_EXCHANGE_SECRET", "ducha-secret"),
                timeout=float(cfg.get("EXCHANGE_TIMEOUT", 5.0)),
                retries=int(cfg.get("EXCHANGE_RETRIES", 3)),
                backoff=float(cfg.get("EXCHANGE_BACKOFF", 0.5)),
                min_interval=float(cfg.get("EXCHANGE_MIN_INTERVAL", 0.0)),
                page_size=int(cfg.get("EXCHANGE_PAGE_SIZE", 100)),
            )
        )

    def fetch(self, client: Client, dataset: str, since: str | None):
        params = {"changed_since": since} if since and dataset in self.incremental else {}
        return client.pages(f"/api/{dataset}", **params)

    def prepare(self, dataset: str, row: dict) -> dict:
        """Links of a row to our tables ({"org_id", "enterprise_id"}); raise RowRejected to refuse it."""
        return {}

    def links(self, dataset: str, rows: list[dict]) -> dict | None:
        """The links of a whole chunk at once ({source id: links or RowRejected}), or None: `prepare` per row
        (for connectors whose rows depend on rows applied earlier in the same chunk, like an org tree)."""
        return None

    def apply(self, dataset: str, row: dict, *, created: bool) -> None:
        """Side effects of a new or changed row in our own tables (organisations, accounts, enterprises)."""

    def summary(self, client: Client, dataset: str, day: str) -> dict:
        return client.get(f"/api/{dataset}/summary", date=day)


def registry() -> dict[str, Connector]:
    from app.exchange.sources import enrich, sjzl, soe, yjpt, zhzf

    return {c.code: c for c in (zhzf.CONNECTOR, yjpt.CONNECTOR, sjzl.CONNECTOR, soe.CONNECTOR, enrich.CONNECTOR)}


def connector_for(code: str) -> Connector:
    found = registry().get(code)
    if found is None:
        raise NotFound("数据来源不存在")
    return found


def enterprise_id(credit_code: str | None) -> int | None:
    from sqlalchemy import select

    from app.enterprises.models import Enterprise
    from app.extensions import db

    if not credit_code:
        return None
    return db.session.scalar(select(Enterprise.id).where(Enterprise.credit_code == credit_code))


def org_id(code: str | None) -> int | None:
    from sqlalchemy import select

    from app.extensions import db
    from app.orgs.models import Organisation

    if not code:
        return None
    return db.session.scalar(select(Organisation.id).where(Organisation.code == code))


def ids_by(model_column, key_column, values) -> dict:
    """{key: id} for a set of keys, in one query."""
    from sqlalchemy import select

    from app.extensions import db

    values = {v for v in values if v}
    if not values:
        return {}
    return dict(db.session.execute(select(key_column, model_column).where(key_column.in_(values))).all())
