"""Hand-made rows for the efficiency and statistics tests: instances, tasks, clues, hits, inspections.

Rows go in through the models (no engine run), so each test knows exactly what the figures must be.
"""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy import select

from app.clues.models import Clue
from app.engine.models import ProcessInstance, ProcessModel, ProcessVersion
from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation
from app.plans.models import Inspection
from app.triggers.models import TriggerHit, TriggerScenario

_seq = count(1)


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def street_of(district_code: str) -> Organisation:
    return db.session.scalar(
        select(Organisation)
        .where(Organisation.district_code == district_code, Organisation.kind == "street")
        .order_by(Organisation.code)
    )


def _version(process_id: str) -> ProcessVersion:
    model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id))
    if model is None:
        model = ProcessModel(process_id=process_id, name={"clue_verification": "线索核查"}.get(process_id, process_id))
        db.session.add(model)
        db.session.flush()
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.model_id == model.id))
    if version is None:
        version = ProcessVersion(
            model_id=model.id, version=1, bpmn="<x/>", bpmn_filename=f"{process_id}.bpmn", content_hash="0" * 64
        )
        db.session.add(version)
        db.session.flush()
    return version


def instance(process_id: str, owner: Organisation, *, started=None, ended=None, initiator=None) -> ProcessInstance:
    v = _version(process_id)
    n = next(_seq)
    inst = ProcessInstance(
        version_id=v.id,
        process_id=process_id,
        number=f"T{n:06d}",
        title=f"测试流程 {n}",
        org_id=owner.id,
        initiator_id=getattr(initiator, "id", None),
        status="completed" if ended else "running",
        state={},
        started_at=started or at(3, 1),
        ended_at=ended,
    )
    db.session.add(inst)
    db.session.flush()
    return inst


def task(
    inst: ProcessInstance,
    step: str,
    *,
    created,
    done=None,
    due=None,
    by=None,
    claimed=None,
    kind="task",
    outcome=None,
    status=None,
) -> HumanTask:
    t = HumanTask(
        instance_id=inst.id,
        spiff_task_id=f"{next(_seq):036d}",
        group_id=f"g{next(_seq)}",
        step=step,
        step_name={"handle": "核查处理", "review": "审核", "judge": "研判", "close": "办结"}.get(step, step),
        process_id=inst.process_id,
        org_id=inst.org_id,
        kind=kind,
        status=status or ("completed" if done else "open"),
        outcome=outcome,
        due_at=due,
        created_at=created,
        claimed_at=claimed,
        completed_at=done,
        completed_by_id=getattr(by, "id", None),
        assignee_id=getattr(by, "id", None),
    )
    db.session.add(t)
    db.session.flush()
    return t


def clue(
    district: Organisation, *, registered, closed=None, handling=None, source="hotline", deadline=None, enterprise=None
) -> Clue:
    c = Clue(
        source=source,
        content="测试线索内容",
        district_org_id=district.id,
        handling_org_id=getattr(handling, "id", None),
        registered_at=registered,
        closed_at=closed,
        status="closed" if closed else "handling",
        deadline=deadline,
        enterprise_id=getattr(enterprise, "id", None),
    )
    db.session.add(c)
    db.session.flush()
    return c


def scenario() -> TriggerScenario:
    s = db.session.scalar(select(TriggerScenario).where(TriggerScenario.code == "t"))
    if s is None:
        s = TriggerScenario(code="t", name="重复投诉", rule_codes=[])
        db.session.add(s)
        db.session.flush()
    return s


def hit(enterprise, owner: Organisation, *, first, closed=None, deadline=None) -> TriggerHit:
    h = TriggerHit(
        scenario_id=scenario().id,
        enterprise_id=enterprise.id,
        org_id=owner.id,
        first_at=first,
        last_at=first,
        closed_at=closed,
        status="closed" if closed else "handling",
        deadline=deadline,
    )
    db.session.add(h)
    db.session.flush()
    return h


def inspection(enterprise, owner: Organisation, on, *, kind="other", plan_item_id=None, by=None, created=None):
    i = Inspection(
        enterprise_id=enterprise.id,
        org_id=owner.id,
        inspected_on=on,
        kind=kind,
        plan_item_id=plan_item_id,
        created_by_id=getattr(by, "id", None),
        created_at=created or at(on.month, on.day, year=on.year),
    )
    db.session.add(i)
    db.session.flush()
    return i
