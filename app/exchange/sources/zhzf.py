"""上海市统一综合执法系统回流 (R2.6.1): inspections and parties, pulled incrementally by change time,
with a daily reconciliation of counts and checksums."""

from __future__ import annotations

from app.enterprises.models import Enterprise
from app.exchange.quality import DATASETS
from app.exchange.sources import Connector, enterprise_id, ids_by, org_id
from app.orgs.models import Organisation


class Zhzf(Connector):
    code = "zhzf"
    label = "上海市统一综合执法系统"
    requirement = "R2.6.1"
    datasets = ("inspection", "party")
    incremental = ("inspection", "party")
    schedule_every = 3600.0

    def prepare(self, dataset: str, row: dict) -> dict:
        if dataset == "inspection":
            return {
                "enterprise_id": enterprise_id(row.get("party_credit_code")),
                "org_id": org_id(row.get("district_code")),
            }
        return {"enterprise_id": enterprise_id(row.get("credit_code"))}

    def links(self, dataset: str, rows: list[dict]) -> dict:
        key = DATASETS[dataset].key
        code_field = "party_credit_code" if dataset == "inspection" else "credit_code"
        enterprises = ids_by(Enterprise.id, Enterprise.credit_code, (r.get(code_field) for r in rows))
        orgs = ids_by(Organisation.id, Organisation.code, (r.get("district_code") for r in rows))
        return {
            str(r[key]): {
                "enterprise_id": enterprises.get(r.get(code_field)),
                "org_id": orgs.get(r.get("district_code")),
            }
            for r in rows
        }


CONNECTOR = Zhzf()
