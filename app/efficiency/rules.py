"""效能识别: detectors over process and case data that find non-compliant behaviour.

A rule (EffRule, editable and versioned) names a detector and its parameters. A detector looks at a
window [since, until) and yields findings; each finding has a `ref` unique per rule, so running the
rules again over an overlapping window adds nothing twice. Findings become EffViolation rows per
person and department with the evidence: the process instance and the step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select

from app.efficiency.indicators import DISPATCH_STEPS
from app.efficiency.models import EffRule, EffViolation
from app.engine.models import ProcessInstance
from app.extensions import db
from app.inbox.models import HumanTask
from app.plans.models import Inspection
from app.reports.models import Document

CATEGORIES = {"enforcement": "执法不规范", "case": "办案不规范", "dispatch": "指挥调度不规范"}


def _task_finding(t: HumanTask, summary: str, user_id, occurred: datetime, **evidence) -> dict:
    return {
        "ref": f"task:{t.id}",
        "org_id": t.org_id,
        "user_id": user_id,
        "instance_id": t.instance_id,
        "step": t.step,
        "step_name": t.step_name,
        "summary": summary,
        "occurred_at": occurred,
        "evidence": {"task_id": t.id, "instance_number": t.instance.number, **evidence},
    }


def deadline_overrun(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """A task finished after its due time, or still open past it (超期办理)."""
    grace = timedelta(hours=float(params.get("grace_hours", 0)))
    done = select(HumanTask).where(
        HumanTask.status == "completed",
        HumanTask.completed_at >= since,
        HumanTask.completed_at < until,
        HumanTask.due_at.is_not(None),
    )
    for t in db.session.scalars(done):
        if t.completed_at > t.due_at + grace:
            late = round((t.completed_at - t.due_at).total_seconds() / 3600, 1)
            yield _task_finding(
                t, f"“{t.step_name}”超期 {late} 小时办结", t.completed_by_id, t.completed_at, late_hours=late
            )
    open_ = select(HumanTask).where(
        HumanTask.status == "open", HumanTask.due_at >= since - grace, HumanTask.due_at < until - grace
    )
    for t in db.session.scalars(open_):
        yield _task_finding(t, f"“{t.step_name}”超过办理期限仍未办结", t.assignee_id, t.due_at + grace)


def _done_steps(instance_id: int) -> list[HumanTask]:
    return list(
        db.session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == "completed")
            .order_by(HumanTask.completed_at, HumanTask.id)
        )
    )


def _ended(process_id: str, since: datetime, until: datetime):
    return db.session.scalars(
        select(ProcessInstance).where(
            ProcessInstance.process_id == process_id,
            ProcessInstance.status == "completed",
            ProcessInstance.ended_at >= since,
            ProcessInstance.ended_at < until,
        )
    )


def step_order(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """A finished instance missed a required step, or took the required steps out of order."""
    expected = list(params.get("sequence") or [])
    for inst in _ended(params.get("process_id", ""), since, until):
        tasks = _done_steps(inst.id)
        seen = [t.step for t in tasks]
        missing = [s for s in expected if s not in seen]
        firsts = [s for s in dict.fromkeys(seen) if s in expected]
        if missing:
            summary, step = f"缺少必经环节：{'、'.join(missing)}", missing[0]
        elif firsts != [s for s in expected if s in firsts]:
            summary, step = f"环节顺序颠倒：{' → '.join(firsts)}", firsts[0]
        else:
            continue
        last = tasks[-1] if tasks else None
        yield {
            "ref": f"inst:{inst.id}",
            "org_id": inst.org_id,
            "user_id": last.completed_by_id if last else inst.initiator_id,
            "instance_id": inst.id,
            "step": step,
            "step_name": step,
            "summary": summary,
            "occurred_at": inst.ended_at,
            "evidence": {"instance_number": inst.number, "steps": seen, "expected": expected},
        }


def missing_documents(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """A finished instance without the document it must produce (e.g. the signed investigation report)."""
    kind = params.get("kind", "investigation_report")
    for inst in _ended(params.get("process_id", ""), since, until):
        has = db.session.scalar(
            select(Document.id).where(Document.instance_id == inst.id, Document.kind == kind).limit(1)
        )
        if has:
            continue
        tasks = _done_steps(inst.id)
        last = tasks[-1] if tasks else None
        yield {
            "ref": f"inst:{inst.id}",
            "org_id": inst.org_id,
            "user_id": last.completed_by_id if last else inst.initiator_id,
            "instance_id": inst.id,
            "step": last.step if last else None,
            "step_name": last.step_name if last else None,
            "summary": f"办结但缺少文书：{kind}",
            "occurred_at": inst.ended_at,
            "evidence": {"instance_number": inst.number, "document_kind": kind},
        }


def self_approval(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """One officer approved their own work: an approval by the person who did an earlier step or started it."""
    approvals = select(HumanTask).where(
        HumanTask.kind == "approval",
        HumanTask.status == "completed",
        HumanTask.outcome == "approve",
        HumanTask.completed_at >= since,
        HumanTask.completed_at < until,
    )
    for t in db.session.scalars(approvals):
        own = next(
            (
                p
                for p in _done_steps(t.instance_id)
                if p.id != t.id
                and p.kind != "approval"
                and p.completed_by_id == t.completed_by_id
                and p.completed_at <= t.completed_at
            ),
            None,
        )
        if own is None and t.instance.initiator_id != t.completed_by_id:
            continue
        what = f"“{own.step_name}”" if own else "本人发起的流程"
        yield _task_finding(
            t,
            f"审批“{t.step_name}”的人员同时办理了{what}",
            t.completed_by_id,
            t.completed_at,
            own_step=own.step if own else "start",
        )


def inspection_outside_plan(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """An inspection recorded as planned that belongs to no item of a monthly plan (计划外检查)."""
    rows = select(Inspection).where(
        Inspection.kind == "plan",
        Inspection.plan_item_id.is_(None),
        Inspection.created_at >= since,
        Inspection.created_at < until,
    )
    for insp in db.session.scalars(rows):
        yield {
            "ref": f"insp:{insp.id}",
            "org_id": insp.org_id,
            "user_id": insp.created_by_id,
            "instance_id": None,
            "step": None,
            "step_name": "检查记录",
            "summary": f"{insp.inspected_on} 的计划检查不在任何月度计划内",
            "occurred_at": insp.created_at,
            "evidence": {"inspection_id": insp.id, "enterprise_id": insp.enterprise_id},
        }


def dispatch_unanswered(params: dict, since: datetime, until: datetime) -> Iterator[dict]:
    """A dispatched task nobody took up (claimed or finished) within the response time."""
    limit = timedelta(hours=float(params.get("hours", 24)))
    steps = {tuple(s) for s in params.get("steps") or DISPATCH_STEPS}
    rows = select(HumanTask).where(HumanTask.created_at >= since - limit, HumanTask.created_at < until - limit)
    for t in db.session.scalars(rows):
        if (t.process_id, t.step) not in steps:
            continue
        answered = t.claimed_at or t.completed_at
        deadline = t.created_at + limit
        if answered is not None and answered <= deadline:
            continue
        yield _task_finding(
            t, f"派单“{t.step_name}”超过 {limit.total_seconds() / 3600:g} 小时未响应", t.assignee_id, deadline
        )


DETECTORS = {
    "deadline_overrun": ("超期办理", deadline_overrun),
    "step_order": ("环节缺失或颠倒", step_order),
    "missing_documents": ("文书缺失", missing_documents),
    "self_approval": ("自办自批", self_approval),
    "inspection_outside_plan": ("计划外检查", inspection_outside_plan),
    "dispatch_unanswered": ("派单未及时响应", dispatch_unanswered),
}


def active_rules() -> list[EffRule]:
    """The newest version of each active rule."""
    newest: dict[str, EffRule] = {}
    for rule in db.session.scalars(select(EffRule).where(EffRule.active.is_(True)).order_by(EffRule.version)):
        newest[rule.code] = rule
    return list(newest.values())


def run_rules(since: datetime, until: datetime, rules: list[EffRule] | None = None) -> int:
    """Run the rules over the window; store new findings. Returns how many were added."""
    added = 0
    for rule in rules if rules is not None else active_rules():
        _, detector = DETECTORS[rule.detector]
        known = set(db.session.scalars(select(EffViolation.ref).where(EffViolation.rule_code == rule.code)))
        for f in detector(rule.params or {}, since, until):
            if f["ref"] in known:
                continue
            known.add(f["ref"])
            db.session.add(EffViolation(rule_code=rule.code, rule_version=rule.version, category=rule.category, **f))
            added += 1
    db.session.flush()
    return added
