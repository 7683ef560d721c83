"""一企一档: everything known about one enterprise, each fact with its source and date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.enterprises.models import RECORD_KINDS, Enterprise, EnterpriseRecord
from app.enterprises.reference import district_org, industry_name
from app.extensions import db
from app.orgs.models import Organisation

FACT_KINDS = ("major_hazard", "standardisation", "insurance", "emergency_plan")
EVENT_KINDS = ("accident", "violation", "complaint", "exchange", "dispatch", "grade_change", "label_change")


def _records(enterprise_id: int, kinds, limit: int = 50) -> list[EnterpriseRecord]:
    return list(
        db.session.scalars(
            select(EnterpriseRecord)
            .where(EnterpriseRecord.enterprise_id == enterprise_id, EnterpriseRecord.kind.in_(kinds))
            .order_by(EnterpriseRecord.occurred_on.desc(), EnterpriseRecord.id.desc())
            .limit(limit)
        )
    )


def build(ent: Enterprise, user, today: date) -> dict:
    from app.checklimit.models import OverLimitFiling
    from app.checklimit.services import year_count
    from app.clues.models import Clue
    from app.clues.services import visible_clause as clue_visible
    from app.grading.models import EnterpriseScore, ScoreHistory
    from app.labels.services import labels_of
    from app.plans.models import Inspection
    from app.triggers.models import TriggerHit

    facts = {}
    for rec in _records(ent.id, FACT_KINDS):
        facts.setdefault(rec.kind, rec)  # the latest of each kind
    inspections = db.session.execute(
        select(Inspection, Organisation.name)
        .join(Organisation, Organisation.id == Inspection.org_id)
        .where(Inspection.enterprise_id == ent.id)
        .order_by(Inspection.inspected_on.desc())
        .limit(30)
    ).all()
    return {
        "district": district_org(ent.district_code),
        "industry": industry_name(ent.industry_code),
        "soe_group": db.session.get(Organisation, ent.soe_group_id) if ent.soe_group_id else None,
        "score": db.session.get(EnterpriseScore, ent.id),
        "history": list(
            db.session.scalars(
                select(ScoreHistory)
                .where(ScoreHistory.enterprise_id == ent.id)
                .order_by(ScoreHistory.computed_at.desc(), ScoreHistory.id.desc())
                .limit(20)
            )
        ),
        "labels": labels_of(ent.id, today),
        "facts": [(k, RECORD_KINDS[k], facts.get(k)) for k in FACT_KINDS],
        "events": _records(ent.id, EVENT_KINDS),
        "inspections": inspections,
        "year_count": year_count(ent.id, today.year),
        "clues": list(
            db.session.scalars(
                select(Clue)
                .where(Clue.enterprise_id == ent.id, clue_visible(user))
                .order_by(Clue.registered_at.desc())
                .limit(20)
            )
        ),
        "hits": list(
            db.session.scalars(
                select(TriggerHit)
                .where(TriggerHit.enterprise_id == ent.id)
                .order_by(TriggerHit.first_at.desc())
                .limit(20)
            )
        ),
        "filings": list(
            db.session.scalars(
                select(OverLimitFiling)
                .where(OverLimitFiling.enterprise_id == ent.id)
                .order_by(OverLimitFiling.created_at.desc())
                .limit(20)
            )
        ),
    }
