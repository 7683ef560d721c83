"""Demo data of 评议考核 and 国企监督: schemes (a published version and a draft of the next), a round
published with an objection handled and one open, a round in the reviewers' inboxes; inspection records
of every SOE group with typical hazards and violations; guidance threads open, answered, returned,
overdue and closed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.appraisal import compute, process, schemes
from app.appraisal.models import AppraisalItem, AppraisalResult, AppraisalReview, AppraisalRound, AppraisalScheme
from app.auth.models import User
from app.engine import deploy
from app.engine.runtime import SHANGHAI
from app.exchange.models import ExchangeRecord
from app.extensions import db
from app.inbox.models import HumanTask
from app.orgs.models import Organisation
from app.soe import guidance
from app.soe.models import Guidance

PROCESSES = ("appraisal", "appraisal_objection", "soe_guidance")
HAZARDS = [
    "消防通道堵塞",
    "电气线路私拉乱接",
    "有限空间作业未审批",
    "危险化学品储存不规范",
    "安全出口锁闭",
    "特种设备未定期检验",
    "动火作业无监护",
    "应急照明损坏",
    "脚手架搭设不规范",
    "粉尘清扫不及时",
]
VIOLATIONS = [
    "未按规定开展安全培训",
    "特种作业人员无证上岗",
    "未建立隐患排查治理制度",
    "未按规定配备安全管理人员",
    "应急预案未演练",
    "未如实记录隐患排查情况",
]
INSPECTORS = ["王伟", "李娜", "张强", "刘洋", "陈静", "杨磊"]


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def _act(instance_id: int, step: str, login: str, action: str, comment: str | None = None, **data) -> bool:
    from app.inbox import actions

    actor = _user(login)
    row = db.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id,
            HumanTask.step == step,
            HumanTask.status == "open",
            (HumanTask.assignee_id == actor.id) | HumanTask.assignee_id.is_(None),
        )
    )
    if row is None:
        return False
    actions.complete(row, actor, action=action, form_data=data, comment=comment)
    return True


def _deploy() -> None:
    folder = Path(current_app.config["WORKFLOWS_DIR"])
    for pid in PROCESSES:
        deploy.deploy(deploy.sources_from_files(folder / f"{pid}.bpmn"), comment=f"演示数据：从文件 {pid}.bpmn 部署")


def seed_appraisal_demo() -> dict[str, int]:
    """Everything of this module, idempotent."""
    if _user("dcc_chief") is None:
        return {}
    _deploy()
    out = {"soe_records": seed_soe_records(), "soe_guidance": seed_guidance()}
    out["appraisal_rounds"] = seed_rounds()
    db.session.flush()
    return out


def _month(back: int) -> str:
    now = datetime.now(SHANGHAI)
    index = now.year * 12 + now.month - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"


def seed_rounds() -> int:
    if db.session.scalar(select(AppraisalRound.id).limit(1)) is not None:
        return 0
    rng = random.Random(21)
    staff = schemes.ensure_defaults()
    # the next version of the monthly scheme, in draft: the training item weighs more
    if db.session.scalar(select(AppraisalScheme.id).where(AppraisalScheme.status == "draft")) is None:
        draft = AppraisalScheme(code=staff.code, version=staff.version + 1, name=staff.name, period_type="month")
        for i, it in enumerate(staff.items):
            weight = 30 if it.source == "training" else (15 if it.source == "clue_returns" else it.weight)
            draft.items.append(
                AppraisalItem(name=it.name, source=it.source, weight=weight, full=it.full, zero=it.zero, sort=i)
            )
        draft.note = "拟提高技能拉练成绩权重（待发布）"
        db.session.add(draft)
    if db.session.scalar(select(AppraisalScheme.id).where(AppraisalScheme.code == "leader_quarterly")) is None:
        q = schemes.create_scheme(
            code="leader_quarterly",
            name="负责人季度考核",
            period_type="quarter",
            actor=None,
            items=[
                ("评议打分", "reviewer", 40, 100, 0),
                ("单位效能（效能评估）", "unit_efficiency", 30, 100, 60),
                ("办理时效（待办超期）", "overdue_tasks", 30, 0, 10),
            ],
        )
        q.leader_unit_weight = 0.8
        schemes.publish(q, actor=None)
    chief, leader = _user("dcc_chief"), _user("leader")
    reviewers = ["dcc_chief", "fz_chief"]
    # two months ago: scored, approved, published; one objection adjusted, one waiting in the inbox
    r = process.create_round(staff, _month(2), actor=chief, reviewers=reviewers)
    compute.compute_round(r)
    process.start_review(r, actor=chief)
    people = list(db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r.id)))
    for login in reviewers:
        reviewer = _user(login)
        for p in people:
            db.session.add(
                AppraisalReview(round_id=r.id, user_id=p.user_id, reviewer_id=reviewer.id, score=rng.randint(70, 98))
            )
        db.session.flush()
        _act(r.instance_id, "score", login, "approve", comment="已完成评议打分")
    _act(r.instance_id, "review", leader.login, "approve", comment="同意公布")
    officers = [p for p in people if p.kind == "staff" and p.user.login.endswith("_officer")][:2]
    if len(officers) == 2:
        first = process.object_to(officers[0], actor=officers[0].user, reason="本月有两次联合执法检查未计入工作量")
        _act(
            first.id,
            "decide",
            "dcc_chief",
            "complete",
            ruling="adjust",
            adjusted_total=min(100.0, (officers[0].final_total or 80) + 4),
            decision_reason="经核实联合执法检查记录属实，补计相应分值",
        )
        process.object_to(officers[1], actor=officers[1].user, reason="超期待办系系统故障导致，已有报修记录")
    # last month: computed, in the reviewers' inboxes; one reviewer has scored part of the people
    r2 = process.create_round(staff, _month(1), actor=chief, reviewers=reviewers)
    compute.compute_round(r2)
    process.start_review(r2, actor=chief)
    for p in list(db.session.scalars(select(AppraisalResult).where(AppraisalResult.round_id == r2.id)))[:10]:
        db.session.add(
            AppraisalReview(round_id=r2.id, user_id=p.user_id, reviewer_id=chief.id, score=rng.randint(75, 95))
        )
    db.session.flush()
    return 2


def seed_soe_records() -> int:
    from app.exchange.sources import soe as soe_source

    if db.session.scalar(select(ExchangeRecord.id).where(ExchangeRecord.source.startswith("soe:")).limit(1)):
        return 0
    rng = random.Random(2531)
    today = datetime.now(SHANGHAI).date()
    made = 0
    for group in db.session.scalars(select(Organisation).where(Organisation.kind == "soe_group")):
        account = _user(group.code.lower().replace("-", "_"))
        units = list(
            db.session.scalars(
                select(Organisation).where(Organisation.parent_id == group.id, Organisation.kind == "soe_unit")
            )
        )
        if account is None or not units:
            continue
        rows = []
        for i in range(rng.randint(12, 20)):
            hazards = rng.sample(HAZARDS[: rng.randint(4, len(HAZARDS))], rng.randint(0, 3))
            violations = rng.sample(VIOLATIONS, rng.choice((0, 0, 1, 1, 2)))
            day = today - timedelta(days=rng.randint(1, 90))
            rows.append(
                {
                    "record_no": f"{group.code}-{day:%Y%m}-{i + 1:03d}",
                    "unit_code": rng.choice(units).code,
                    "inspected_on": day.isoformat(),
                    "inspector": rng.choice(INSPECTORS),
                    "hazards": len(hazards),
                    "hazard_items": "；".join(hazards),
                    "violation_items": "；".join(violations),
                    "findings": "现场检查发现：" + ("、".join(hazards) if hazards else "未发现明显隐患"),
                }
            )
        outcome = soe_source.submit(account, "soe_inspection", rows, channel="api")
        if outcome.ok:
            made += len(rows)
    db.session.flush()
    return made


def seed_guidance() -> int:
    if db.session.scalar(select(Guidance.id).limit(1)) is not None:
        return 0
    chief = _user("dcc_chief")
    groups = list(
        db.session.scalars(select(Organisation).where(Organisation.kind == "soe_group").order_by(Organisation.code))
    )
    if not groups:
        return 0
    today = datetime.now(SHANGHAI).date()
    plans = [
        ("open", "加强有限空间作业安全管理", 10),
        ("answered", "开展冬季消防安全专项检查", 7),
        ("returned", "落实危险化学品储存规范", 5),
        ("overdue", "报送第三季度隐患排查治理台账", 3),
        ("closed", "做好节假日期间安全值守", 4),
    ]
    made = 0
    for i, (state, title, days) in enumerate(plans):
        group = groups[i % len(groups)]
        login = group.code.lower().replace("-", "_")
        g = guidance.create(
            chief,
            group_id=group.id,
            title=title,
            body=f"请{group.short_name or group.name}组织所属单位{title}，明确责任人和完成时限，并按期反馈落实情况。",
            deadline=(today + timedelta(days=days)).isoformat(),
        )
        made += 1
        if state == "overdue":
            g.deadline = today - timedelta(days=days)
            g.created_at = g.created_at - timedelta(days=days + 7)
            continue
        if state == "open":
            continue
        _act(g.instance_id, "feedback", login, "complete", feedback="已部署所属单位开展排查，发现问题正在整改。")
        if state == "returned":
            _act(g.instance_id, "review", chief.login, "reject", comment="请补充整改责任人和完成时限")
        elif state == "closed":
            _act(g.instance_id, "review", chief.login, "approve", comment="收悉，请持续落实")
    db.session.flush()
    return made
