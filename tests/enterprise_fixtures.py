"""Shared set-up for the enterprise supervision tests: enterprises in two districts with records."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.extensions import db
from app.orgs.models import Organisation


def credit(district: str, seq: int) -> str:
    body = f"91{district}MA{seq:07d}"[:17]
    return body + check_char(body)


def make_enterprise(
    district: str,
    seq: int,
    name: str,
    *,
    grade: str | None = None,
    industry: str = "HG",
    address: str | None = None,
    soe_code: str | None = None,
) -> Enterprise:
    street = db.session.scalar(
        select(Organisation)
        .where(Organisation.district_code == district, Organisation.kind == "street")
        .order_by(Organisation.code)
    )
    soe = db.session.scalar(select(Organisation).where(Organisation.code == soe_code)) if soe_code else None
    ent = Enterprise(
        credit_code=credit(district, seq),
        name=name,
        org_id=street.id,
        district_code=district,
        industry_code=industry,
        grade=grade,
        address=address or f"上海市测试路 {seq} 号",
        soe_group_id=soe.id if soe else None,
    )
    db.session.add(ent)
    db.session.flush()
    return ent


def add_record(
    ent: Enterprise, kind: str, on: date, title: str, value: dict | None = None, source: str = "数据交换：市应急局"
) -> EnterpriseRecord:
    rec = EnterpriseRecord(
        enterprise_id=ent.id, kind=kind, occurred_on=on, title=title, value=value or {}, source=source
    )
    db.session.add(rec)
    db.session.flush()
    return rec


def deploy_area_processes(app) -> None:
    from app.engine import deploy

    folder = Path(app.config["WORKFLOWS_DIR"])
    for pid in ("trigger_dispatch", "overlimit_filing"):
        deploy.deploy(deploy.sources_from_files(folder / f"{pid}.bpmn"))


def days_ago(today: date, n: int) -> date:
    return today - timedelta(days=n)
