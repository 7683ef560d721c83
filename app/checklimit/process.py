"""The overlimit_filing process: start it for a filing; its service task records the decision."""

from __future__ import annotations

from app.audit import services as audit
from app.checklimit.models import OverLimitFiling
from app.engine.services import linked, service
from app.enterprises.flows import start_process
from app.enterprises.reference import district_org
from app.errors import ValidationFailed
from app.inbox import notify
from app.models_base import utcnow

PROCESS_ID = "overlimit_filing"


def start_for(filing: OverLimitFiling, actor):
    ent = filing.enterprise
    district = district_org(ent.district_code) or ent.org
    if district is None:
        raise ValidationFailed("企业没有所属区，无法报备")
    data = {
        "filing_id": filing.id,
        "subject": f"超限检查报备：{ent.name}",
        "enterprise_name": ent.name,
        "grade_text": f"{ent.grade or 'C'} 级",
        "count_text": f"本年度各部门已检查 {filing.count_at_filing} 次，年度上限 {filing.limit_at_filing} 次",
        "unit_name": actor.org.name,
        "inspect_on": filing.inspect_on.isoformat(),
        "reason": filing.reason,
    }
    instance = start_process(
        PROCESS_ID, actor=actor, org=district, data=data, business_key=f"overlimit:{filing.id}", entry="check_once_page"
    )
    filing.instance_id = instance.id
    return instance


@service("checklimit.decide")
def decide(data: dict, approved_flag: str) -> int | None:
    filing = linked(OverLimitFiling, data, "filing_id", "超限检查报备")
    from app.checklimit.services import approve_filing

    inspection_id = None
    if approved_flag == "yes":
        inspection_id = approve_filing(filing, data.get("last_actor"), data.get("last_comment")).id
    else:
        filing.status, filing.decided_at, filing.decision_note = "rejected", utcnow(), data.get("last_comment")
    if filing.created_by_id:
        notify.notify(
            [filing.created_by_id],
            kind="done",
            title=f"超限检查报备（{filing.enterprise.name}）{filing.status_label}",
            url=f"/checks/?enterprise={filing.enterprise_id}",
            instance_id=filing.instance_id,
        )
    audit.record(
        "checklimit.decide",
        object_type="overlimit_filing",
        object_id=filing.id,
        detail={"status": filing.status, "by": data.get("last_actor")},
    )
    return inspection_id
