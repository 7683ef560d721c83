"""Scheduler round: 合格案卷 reminders before and after the submission due date (a setting)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.engine.cli import round_job


def recipients(case) -> list:
    """The responsible unit's people who maintain cases (and the case's 主办人)."""
    from app.auth.models import User
    from app.extensions import db

    users = [
        u
        for u in db.session.scalars(select(User).where(User.org_id == case.org_id, User.status != "disabled"))
        if u.can("case.edit")
    ]
    if case.officer is not None and case.officer not in users:
        users.append(case.officer)
    return users


def remind(today: date) -> int:
    """Tell each responsible unit once before the due date (within the lead days) and once after it about
    every qualified case file not yet submitted. Returns the number of reminders sent."""
    from app.cases.models import Case, CaseReminder, CaseReview
    from app.cases.services import settings
    from app.extensions import db
    from app.inbox import notify

    cfg = settings()
    if not cfg.get("qualified_due_date"):
        return 0
    due = date.fromisoformat(cfg["qualified_due_date"])
    lead = int(cfg.get("remind_days_before") or 0)
    if today < due - timedelta(days=lead):
        return 0
    kind = f"{'before' if today <= due else 'after'}:{due.isoformat()}"
    qualified = select(CaseReview.case_id).where(
        CaseReview.status == "signed", CaseReview.conclusion.in_(("excellent", "qualified"))
    )
    done = select(CaseReminder.case_id).where(CaseReminder.kind == kind)
    cases = db.session.scalars(
        select(Case).where(Case.id.in_(qualified), Case.submitted_at.is_(None), Case.id.not_in(done))
    ).all()
    for case in cases:
        if kind.startswith("before"):
            title = f"合格案卷报送提醒：{case.number} 请于 {due.isoformat()} 前报送"
        else:
            title = f"合格案卷逾期未报送：{case.number}（截止 {due.isoformat()}）"
        notify.notify(recipients(case), kind="remind", title=title, body=case.title, url=f"/cases/{case.id}")
        db.session.add(CaseReminder(case_id=case.id, kind=kind))
    db.session.flush()
    return len(cases)


@round_job("cases.qualified_reminders", every=3600.0)
def reminders_job(now: datetime) -> int:
    from app.engine.runtime import SHANGHAI

    return remind(now.astimezone(SHANGHAI).date())
