"""市应急管理局综合应用平台汇集 (R2.6.2): the enforcement organisation and staff structure synchronised
into our organisations and accounts (create, move, disable; history is never deleted), and the
accident, hazard, insurance, plan, standardisation and SOE assessment data kept as records (the ones
the enterprise file knows also become 一企一档 entries)."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.auth.models import User
from app.enterprises.models import EnterpriseRecord
from app.exchange.sources import Connector, enterprise_id
from app.exchange.sync import RowRejected
from app.extensions import db
from app.orgs.models import Organisation

SOURCE_LABEL = "数据交换：市应急管理局综合应用平台"
# Our enterprise-record kinds for the data sets that have one (一企一档).
RECORD_KIND = {
    "accident": "accident",
    "major_hazard": "major_hazard",
    "insurance": "insurance",
    "emergency_plan": "emergency_plan",
    "standardisation": "standardisation",
}
ROLE_BY_KIND = {
    "city": "city_officer",
    "section": "city_officer",
    "district": "district_officer",
    "street": "street_officer",
}


def _org(code: str | None) -> Organisation | None:
    if not code:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def _move_subtree(org: Organisation, parent: Organisation) -> None:
    old, new = org.path, parent.path + org.code + "/"
    for node in db.session.scalars(select(Organisation).where(Organisation.path.startswith(old, autoescape=True))):
        node.path = new + node.path[len(old) :]
    org.parent_id = parent.id


class Yjpt(Connector):
    code = "yjpt"
    label = "市应急管理局综合应用平台"
    requirement = "R2.6.2"
    datasets = (
        "org",
        "staff",
        "accident",
        "major_hazard",
        "insurance",
        "emergency_plan",
        "standardisation",
        "soe_assessment",
    )
    incremental = ("accident", "major_hazard", "insurance", "emergency_plan", "standardisation", "soe_assessment")
    schedule_every = 6 * 3600.0

    def prepare(self, dataset: str, row: dict) -> dict:
        if dataset == "org":
            parent = _org(row.get("parent_code"))
            if row.get("parent_code") and parent is None:
                raise RowRejected(
                    [{"field": "parent_code", "kind": "invalid", "message": f"上级机构“{row['parent_code']}”不存在"}]
                )
            if parent is not None and f"/{row['code']}/" in parent.path:
                raise RowRejected([{"field": "parent_code", "kind": "invalid", "message": "上级机构不能是自己的下级"}])
            return {}
        if dataset == "staff":
            org = _org(row.get("org_code"))
            if org is None:
                raise RowRejected(
                    [{"field": "org_code", "kind": "invalid", "message": f"所在机构“{row['org_code']}”不存在"}]
                )
            return {"org_id": org.id}
        return {"enterprise_id": enterprise_id(row.get("credit_code"))}

    def apply(self, dataset: str, row: dict, *, created: bool) -> None:
        if dataset == "org":
            self._sync_org(row)
        elif dataset == "staff":
            self._sync_staff(row)
        elif dataset in RECORD_KIND:
            self._record(dataset, row)

    def _sync_org(self, row: dict) -> None:
        from app.orgs.services import create_org

        org, parent = _org(row["code"]), _org(row.get("parent_code"))
        if org is None:
            create_org(code=row["code"], name=row["name"], kind=row["kind"], parent=parent)
            return
        org.name = row["name"]
        org.active = row.get("status", "启用") != "撤销"
        if parent is not None and org.parent_id != parent.id:
            _move_subtree(org, parent)

    def _sync_staff(self, row: dict) -> None:
        from app.auth.services import create_user

        org = _org(row["org_code"])
        user = db.session.scalar(select(User).where(User.login == row["login"]))
        if user is None:
            if row["status"] != "在岗":
                return
            create_user(
                login=row["login"],
                name=row["name"],
                org=org,
                password=secrets.token_urlsafe(24) + "Aa1!",
                roles=[ROLE_BY_KIND.get(org.kind, "district_officer")],
                position=row.get("position"),
                must_change_password=True,
                check_policy=False,
            )
            return
        user.name, user.position = row["name"], row.get("position")
        if user.org_id != org.id:  # moved: the account follows; its past tasks keep their organisation
            user.org_id = org.id
        if row["status"] != "在岗":
            user.status = "disabled"  # never deleted: history (tasks, audit) keeps pointing at it
        elif user.status == "disabled":
            user.status = "active"

    def _record(self, dataset: str, row: dict) -> None:
        from datetime import date

        ent_id = enterprise_id(row.get("credit_code"))
        if ent_id is None:
            return
        ref = f"{self.code}:{dataset}:{row['id']}"
        record = db.session.scalar(select(EnterpriseRecord).where(EnterpriseRecord.source_ref == ref))
        if record is None:
            record = EnterpriseRecord(
                enterprise_id=ent_id, kind=RECORD_KIND[dataset], source=SOURCE_LABEL, source_ref=ref
            )
            db.session.add(record)
        record.occurred_on = date.fromisoformat(row["occurred_on"])
        record.title = row["title"][:300]
        record.value = {"version": row["version"]}


CONNECTOR = Yjpt()
