"""The trigger_dispatch process: one instance per hit, owned by the enterprise's district brigade."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import Role, User
from app.engine.calendar import get_calendar
from app.engine.runtime import SHANGHAI
from app.engine.services import Linked, service
from app.enterprises.flows import start_process
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.enterprises.reference import district_org
from app.extensions import db
from app.inbox import notify
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.triggers.models import OUTCOMES, TriggerHit

PROCESS_ID = "trigger_dispatch"


def district_of(ent: Enterprise) -> Organisation:
    org = district_org(ent.district_code)
    return org or ent.org


def _summary(hit: TriggerHit) -> str:
    recs = db.session.scalars(
        select(EnterpriseRecord)
        .where(EnterpriseRecord.id.in_(hit.record_ids or [0]))
        .order_by(EnterpriseRecord.occurred_on)
    )
    lines = [f"{r.occurred_on} {r.kind_label}：{r.title}（{r.source}）" for r in recs]
    return "\n".join(lines[-10:]) or "—"


def start_for(hit: TriggerHit):
    scn, ent = hit.scenario, hit.enterprise
    today = utcnow().astimezone(SHANGHAI).date()
    hit.deadline = get_calendar().add_working_days(today, scn.deadline_days)
    data = {
        "hit_id": hit.id,
        "subject": f"触发式监管：{ent.name}（{scn.name}）",
        "enterprise_name": ent.name,
        "scenario_name": scn.name,
        "hit_summary": _summary(hit),
        "deadline": hit.deadline.isoformat(),
        "deadline_days": scn.deadline_days,
        "remind_days": max(0, scn.remind_days),
        "return_reason": "",
    }
    org = district_of(ent)
    instance = start_process(
        PROCESS_ID, actor=None, org=org, data=data, business_key=f"trigger:{hit.id}", entry="trigger_engine"
    )
    hit.instance_id = instance.id
    return instance


_hit = Linked(TriggerHit, "hit_id", "触发记录", object_type="trigger_hit")


def _holders(org_id: int, role_code: str) -> list[User]:
    return list(
        db.session.scalars(
            select(User).join(User.roles).where(Role.code == role_code, User.org_id == org_id, User.status == "active")
        )
    )


@service("trigger.step")
def step(data: dict, status: str) -> str:
    _hit.settle(data, status)
    if status == "handling":  # sent back: the reason goes to the handler's form
        return data.get("last_comment") or ""
    return OUTCOMES.get(data.get("handle_result") or "", "")


@service("trigger.remind")
def remind(data: dict) -> bool:
    hit = _hit(data)
    if hit.status != "handling":
        return False
    hit.reminded_at = utcnow()
    notify.notify(
        _holders(hit.org_id, "district_officer"),
        kind="remind",
        title=f"触发式监管临期：{hit.enterprise.name}，请于 {hit.deadline} 前处置",
        url=f"/triggers/hits/{hit.id}",
        instance_id=hit.instance_id,
    )
    return True


@service("trigger.escalate")
def escalate(data: dict) -> bool:
    """At the deadline: the brigade leader and the city corps leaders are told (升级督办)."""
    hit = _hit(data)
    if hit.status != "handling":
        return False
    hit.escalated_at = utcnow()
    city = db.session.scalar(select(Organisation).where(Organisation.kind == "city"))
    people = _holders(hit.org_id, "district_leader") + (_holders(city.id, "city_leader") if city else [])
    notify.notify(
        people,
        kind="escalate",
        title=f"触发式监管超期未处置：{hit.enterprise.name}（{hit.scenario.name}）",
        url=f"/triggers/hits/{hit.id}",
        instance_id=hit.instance_id,
    )
    audit.record("trigger.escalate", object_type="trigger_hit", object_id=hit.id)
    return True


@service("trigger.close")
def close(data: dict) -> str:
    """办结: the outcome is stored, becomes a record on the enterprise and moves its score at once."""
    from app.grading.events import enterprise_changed

    hit = _hit.settle(data, "closed", stamp="closed_at")
    hit.outcome = data.get("handle_result") if data.get("handle_result") in OUTCOMES else "no_problem"
    hit.outcome_note = "\n".join(x for x in (data.get("findings"), data.get("measures")) if x)
    db.session.add(
        EnterpriseRecord(
            enterprise_id=hit.enterprise_id,
            kind="dispatch",
            occurred_on=utcnow().astimezone(SHANGHAI).date(),
            title=f"{hit.scenario.name}：{OUTCOMES[hit.outcome]}",
            value={"hit": hit.id, "outcome": hit.outcome},
            source=f"触发式监管 {hit.org.short_name or hit.org.name}",
            source_ref=f"trigger:{hit.id}",
        )
    )
    db.session.flush()
    enterprise_changed(hit.enterprise_id, f"触发式监管办结：{hit.scenario.name}")
    audit.record("trigger.close", object_type="trigger_hit", object_id=hit.id, detail={"outcome": hit.outcome})
    return hit.outcome
