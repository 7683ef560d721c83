"""上海市统一综合执法系统回流 (R2.6.1): inspections and parties, pulled incrementally by change time,
with a daily reconciliation of counts and checksums."""

from __future__ import annotations

from app.exchange.sources import Connector, enterprise_id, org_id


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


CONNECTOR = Zhzf()
