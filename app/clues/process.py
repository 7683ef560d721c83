"""The clue_verification process and the clues row, kept in step by the process's service tasks.

Service tasks receive a copy of the task data (`clue_id`, the forms' fields, `last_actor` and
`last_comment` from the latest decision) and run inside the transaction of the act that moved the
process, so the row, the documents and the notifications commit together with the step.
"""

from __future__ import annotations

from sqlalchemy import select

from app.audit import services as audit
from app.auth.models import User
from app.clues.models import OUTCOMES, PRIORITIES, SOURCES, Clue
from app.engine import runtime
from app.engine.calendar import get_calendar
from app.engine.services import last_actor, linked, service
from app.errors import NotFound
from app.extensions import db
from app.inbox import lifecycle, notify
from app.inbox.targets import register_visibility
from app.models_base import utcnow
from app.orgs.models import Organisation

PROCESS_ID = "clue_verification"
STEP_TEXT = {
    "judging": "已受理，进入研判",
    "dispatching": "已研判，调查单已生成，等待派单",
    "handling": "已派单，承办单位处理中",
    "feedback": "承办单位已提交处理情况，等待反馈",
    "reviewing": "调查报告已生成，等待审核",
    "closed": "已办结",
    "rejected": "不予受理",
    "terminated": "已终止",
}
# The roles that handle (处理) and feed back (反馈) a clue, by the kind of unit it is dispatched to.
HANDLER_ROLES = {
    "district": ("district_officer", "district_leader"),
    "section": ("city_officer", "section_chief"),
    "street": ("street_officer", "district_leader"),
}


def start_for(clue: Clue, actor, district: Organisation):
    """Start the process for a freshly registered clue (only non-sensitive fields go into task data)."""

    data = {
        "clue_id": clue.id,
        "subject": clue.enterprise_name or f"{district.short_name or district.name}群众反映问题",
        "source": clue.source,
        "source_label": SOURCES.get(clue.source, clue.source),
        "content": clue.content,
        "enterprise_name": clue.enterprise_name or "（未指明企业）",
        "credit_code": clue.credit_code or "",
        "district": district.code,
        "district_name": district.short_name or district.name,
        "registered_on": utcnow().astimezone(runtime.SHANGHAI).date().isoformat(),
    }
    instance = runtime.start(
        PROCESS_ID,
        actor=actor,
        org=district,
        data=data,
        business_key=f"clue:{clue.id}",
        entry="clue_registration_page",
    )
    clue.instance_id, clue.number = instance.id, instance.number
    return instance


def _clue(data: dict) -> Clue:
    return linked(Clue, data, "clue_id", "线索")


_actor = last_actor


def notify_followers(clue: Clue, text: str, *, skip: User | None = None) -> None:
    from app.clues.services import followers

    people = [u for u in followers(clue) if skip is None or u.id != skip.id]
    notify.notify(
        people,
        kind="follow",
        title=f"关注的线索 {clue.number}：{text}",
        url=f"/clues/{clue.id}",
        instance_id=clue.instance_id,
    )


def _move(clue: Clue, status: str, data: dict) -> None:
    clue.status = status
    clue.updated_at = utcnow()
    notify_followers(clue, STEP_TEXT.get(status, status), skip=_actor(data))


def tell_registrant(clue: Clue, kind: str, text: str, data: dict) -> None:
    """The milestones of a clue that matter to whoever registered it (工作台): accepted, returned, rejected,
    closed (kinds ``clue_*`` of app.inbox.notify.MATTERS); not to themselves, and once per event."""
    actor = _actor(data)
    who = clue.registered_by_id
    if not who or (actor is not None and actor.id == who) or notify.already_told(who, clue.instance_id, kind):
        return
    notify.notify(
        [who],
        kind=kind,
        title=f"您登记的线索 {clue.number}{text}",
        url=f"/clues/{clue.id}",
        instance_id=clue.instance_id,
    )


@service("clue.step")
def step(data: dict, status: str) -> str:
    clue = _clue(data)
    if status == "judging":
        clue.accepted_at = utcnow()
    _move(clue, status, data)
    if status == "judging":
        tell_registrant(clue, "clue_accepted", "已受理，进入研判", data)
    return status


@service("clue.close")
def close(data: dict, outcome: str) -> str:
    """办结 without an investigation (不予受理 / 无法核查), or after sign-off (see sign_report)."""
    clue = _clue(data)
    _close(clue, outcome, data)
    if outcome in ("not_accepted", "unverifiable"):  # the registrant is told why
        reason = data.get("last_comment") or data.get("judge_opinion") or ""
        kind = "clue_rejected" if outcome == "not_accepted" else "clue_closed"
        tell_registrant(clue, kind, f" {OUTCOMES[outcome]}" + (f"：{reason}" if reason else ""), data)
    return outcome


def _close(clue: Clue, outcome: str, data: dict) -> None:
    from app.alerts import services as alerts

    clue.outcome = outcome
    clue.closed_at = utcnow()
    _move(clue, "rejected" if outcome == "not_accepted" else "closed", data)
    alerts.close_for(clue_id=clue.id, closure="线索已办结，预警自动关闭")
    audit.record("clue.close", actor=_actor(data), object_type="clue", object_id=clue.id, detail={"outcome": outcome})
    from app.grading.events import clue_closed

    clue_closed(clue)  # a clue closed as 属实 moves the enterprise's score at once


@lifecycle.on_end("clue")
def process_ended(clue_id: int, status: str, reason: str | None, actor) -> None:
    """A clue follows its process: terminated (终止) is 已终止 in the list, the page and the statistics."""
    from app.alerts import services as alerts

    clue = db.session.get(Clue, clue_id)
    if clue is None or status != "terminated" or clue.status == "terminated":
        return
    clue.closed_at = utcnow()
    _move(clue, "terminated", {"last_actor": getattr(actor, "login", None)})
    alerts.close_for(clue_id=clue.id, closure="线索已终止，预警自动关闭")
    audit.record("clue.terminate", actor=actor, object_type="clue", object_id=clue.id, detail={"reason": reason})


@service("clue.generate_order")
def generate_order(data: dict) -> dict:
    """生成调查单: priority and deadline from the DMN decision, the order rendered and stored."""
    from app.clues import documents

    clue = _clue(data)
    actor = _actor(data)
    clue.priority = data.get("priority") or "normal"
    clue.risk_level = data.get("risk_level")
    clue.verifiable = data.get("verifiable") == "yes"
    days = int(data.get("deadline_days") or 15)
    clue.deadline = get_calendar().add_working_days(utcnow().astimezone(runtime.SHANGHAI).date(), days)
    contact = f"{actor.org.name} {actor.name}" if actor else None
    doc = documents.store_order(clue, data, dispatch_to=clue.district_org, actor=actor, contact=contact)
    clue.order_document_id = doc.id
    _move(clue, "dispatching", data)
    return {
        "document_id": doc.id,
        "title": doc.title,
        "url": f"/documents/{doc.id}/download?inline=1",
        "deadline": clue.deadline.isoformat(),
        "priority_label": PRIORITIES.get(clue.priority, clue.priority),
    }


def _handling_org(clue: Clue, data: dict) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.code == str(data.get("handle_org") or "")))
    if org is None or org.kind not in HANDLER_ROLES or not org.active:
        org = clue.district_org
    return org


def _handling(org: Organisation) -> dict:
    handle_role, feedback_role = HANDLER_ROLES[org.kind]
    return {"role": handle_role, "feedback_role": feedback_role, "org": org.code, "org_name": org.name}


def preview_dispatch(data: dict) -> dict:
    """The unit a clue goes to (for 流程预测): the unit chosen at 派单, else the district brigade."""
    return _handling(_handling_org(_clue(data), data))


@service("clue.dispatch", preview=preview_dispatch)
def dispatch(data: dict) -> dict:
    """派单: the unit the clue goes to (an invalid code falls back to the district brigade)."""
    from app.clues import documents

    clue = _clue(data)
    org = _handling_org(clue, data)
    clue.handling_org_id = org.id
    clue.handling_org = org
    clue.dispatched_at = utcnow()
    if org.id != clue.district_org_id:
        actor = _actor(data)
        doc = documents.store_order(
            clue, data, dispatch_to=org, actor=actor, contact=f"{actor.org.name} {actor.name}" if actor else None
        )
        clue.order_document_id = doc.id
    _move(clue, "handling", data)
    return _handling(org)


@service("clue.generate_report")
def generate_report(data: dict) -> dict:
    """调查报告生成: the report PDF (draft) from the handling and feedback data."""
    from app.clues import documents

    clue = _clue(data)
    clue.outcome = data.get("verdict")
    doc = documents.store_report(clue, data, actor=_actor(data))
    clue.report_document_id = doc.id
    _move(clue, "reviewing", data)
    return {
        "document_id": doc.id,
        "title": doc.title,
        "url": f"/documents/{doc.id}/download?inline=1",
        "outcome_label": OUTCOMES.get(clue.outcome or "", ""),
    }


@service("clue.sent_back")
def sent_back(data: dict) -> str:
    """调查报告退回修改: count it (abnormal flow after more than two) and hand the reason to the handler."""
    from app.clues import warnings

    clue = _clue(data)
    clue.returns_count += 1
    clue.outcome = None
    _move(clue, "handling", data)
    reason = data.get("last_comment") or ""
    tell_registrant(clue, "clue_returned", "的调查报告被退回修改" + (f"：{reason}" if reason else ""), data)
    warnings.check_returns(clue)
    return data.get("last_comment") or ""


@service("clue.sign_report")
def sign_report(data: dict) -> dict:
    """调查报告审核通过: the reviewer signs the report (SM3 sealed) and the clue is closed."""
    from app.reports import services as reports
    from app.reports.models import Document

    clue = _clue(data)
    signer = _actor(data)
    doc = db.session.get(Document, clue.report_document_id) if clue.report_document_id else None
    if doc is None or signer is None:
        raise NotFound("调查报告或审核人不存在，无法签发")
    doc.context = {
        **doc.context,
        "reviewer_opinion": data.get("last_comment") or "同意调查结论和处理意见。",
        "reviewer": f"{signer.org.short_name or signer.org.name} {signer.name}",
        "reviewed_at": utcnow().astimezone(runtime.SHANGHAI).date().isoformat(),
    }
    signed = reports.sign_document(doc, signer=signer, defer=True)  # the job worker renders the original
    _close(clue, data.get("verdict") or "substantiated", data)
    tell_registrant(clue, "clue_closed", f" 已办结：{OUTCOMES.get(clue.outcome or '', '')}", data)
    return {"document_id": signed.id, "number": signed.number, "sm3": signed.sm3}


def _visible(instance, user) -> bool:
    """R2.1.7 for 抄送/转办/委派/加签 targets: only people who may see the clue are brought in."""
    from app.clues.services import by_instance, can_view

    clue = by_instance(instance.id)
    return clue is None or can_view(user, clue)


register_visibility(PROCESS_ID, _visible)
