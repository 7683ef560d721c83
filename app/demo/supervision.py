"""Demo data for the supervisory processes: clues, monthly plans and account applications at several
stages, driven through the real processes (so every history, document and inbox row is genuine).

Called by `seed_demo` after the users and enterprises exist; idempotent (skips what is there).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.accounts_apply.models import AccountApplication
from app.auth.models import User
from app.clues.models import Clue
from app.engine import deploy
from app.engine.runtime import SHANGHAI
from app.enterprises.models import Enterprise
from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from app.orgs.models import Organisation
from app.plans.models import Inspection, MonthlyPlan

PROCESSES = ("clue_verification", "monthly_plan", "account_opening")

CLUE_TEXTS = [
    "群众反映该企业夜间在厂区内违规装卸危险化学品，装卸区域未设置警戒，现场无专人监护。",
    "举报人称该企业车间粉尘较大，除尘设施长期停用，未按规定清扫积尘，存在粉尘爆炸风险。",
    "热线反映该企业有限空间作业未审批，作业人员未佩戴防护用品，现场无监护人员。",
    "小程序反映该企业仓库消防通道被货物堵塞，应急照明和疏散指示标志损坏。",
    "区市场监管局移交：该企业液氨制冷机房无泄漏报警装置，操作人员无证上岗。",
    "检查发现该企业叉车司机无证驾驶，厂内机动车辆未定期检验。",
    "群众反映该加油站卸油作业时未设置警戒区，静电接地装置损坏。",
]


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def _open(instance_id: int, step: str) -> HumanTask | None:
    return db.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.step == step, HumanTask.status == "open"
        )
    )


def _act(instance_id: int, step: str, login: str, action: str = "complete", comment: str | None = None, **data):
    from app.inbox import actions

    row = _open(instance_id, step)
    if row is None:
        return
    actions.complete(row, _user(login), action=action, form_data=data, comment=comment)


def deploy_processes() -> None:
    folder = Path(current_app.config["WORKFLOWS_DIR"])
    for process_id in PROCESSES:
        path = folder / f"{process_id}.bpmn"
        if path.exists():
            deploy.deploy(deploy.sources_from_files(path), comment=f"演示数据：从文件 {path.name} 部署")


def _enterprise(rng: random.Random, district_code: str) -> Enterprise | None:
    ids = list(db.session.scalars(select(Enterprise.id).where(Enterprise.district_code == district_code).limit(40)))
    return db.session.get(Enterprise, rng.choice(ids)) if ids else None


def seed_inspections(rng: random.Random) -> int:
    """An inspection history (0-3 in the last 14 months per enterprise) for plan generation to work on."""
    if db.session.scalar(select(func.count(Inspection.id))):
        return 0
    today = utcnow().astimezone(SHANGHAI).date()
    rows = []
    for ent_id, org_id in db.session.execute(select(Enterprise.id, Enterprise.org_id)):
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            rows.append(
                {"enterprise_id": ent_id, "org_id": org_id, "inspected_on": today - timedelta(days=rng.randint(5, 420))}
            )
    if rows:
        db.session.execute(Inspection.__table__.insert(), rows)
    return len(rows)


def seed_clues(rng: random.Random) -> int:
    from app.clues import services as clues

    if db.session.scalar(select(func.count(Clue.id))):
        return 0
    # (registrar, district, source, stage) — stages: accept, judge, handling, review, closed, rejected, unverifiable
    plan = [
        ("d01_officer", "310101", "report", "closed"),
        ("city_officer1", "310101", "hotline", "review"),
        ("d01_officer", "310101", "miniapp", "handling"),
        ("city_officer1", "310104", "transfer", "judge"),
        ("d04_officer", "310104", "report", "accept"),
        ("d06_officer", "310106", "other", "rejected"),
        ("d05_officer", "310105", "inspection", "unverifiable"),
    ]
    made = 0
    for i, (login, district, source, stage) in enumerate(plan):
        actor, enterprise = _user(login), _enterprise(rng, district)
        if actor is None or enterprise is None:
            continue
        clue = clues.register(
            actor,
            {
                "source": source,
                "content": CLUE_TEXTS[i % len(CLUE_TEXTS)],
                "enterprise": enterprise.credit_code,
                "district": district,
                "reporter_name": rng.choice(("王", "李", "张", "刘")) + rng.choice(("先生", "女士")),
                "reporter_phone": f"139{rng.randint(10**7, 10**8 - 1)}",
            },
            confirm_duplicate=True,
        )
        _advance_clue(clue, district, stage)
        made += 1
    follower = _user("city_officer1")
    first = db.session.scalar(select(Clue).order_by(Clue.id).limit(1))
    if follower is not None and first is not None:
        clues.toggle_follow(first, follower)
    return made


def _advance_clue(clue: Clue, district: str, stage: str) -> None:
    leader = f"d{district[-2:]}_leader"
    inst = clue.instance_id
    if stage == "accept":
        return
    if stage == "rejected":
        _act(inst, "accept", leader, "reject", comment="反映内容属于市场监管职责，建议转办")
        return
    _act(inst, "accept", leader, "approve", comment="同意受理")
    if stage == "judge":
        return
    if stage == "unverifiable":
        _act(
            inst,
            "judge",
            "city_officer1",
            verifiable="no",
            risk_level="low",
            judge_opinion="反映人无法联系，内容不具体",
        )
        return
    _act(
        inst,
        "judge",
        "city_officer1",
        verifiable="yes",
        risk_level="high",
        judge_opinion="内容具体，风险较高，尽快核查",
    )
    _act(inst, "dispatch", "city_officer1", handle_org=district, dispatch_note="请 5 个工作日内核查反馈")
    if stage == "handling":
        return
    today = utcnow().astimezone(SHANGHAI).date()
    _act(
        inst,
        "handle",
        f"d{district[-2:]}_officer",
        investigators="执法队员甲、执法队员乙",
        investigated_on=today.isoformat(),
        findings="经现场核查，反映的问题基本属实。企业现场负责人对违规情况予以确认，执法人员已拍照取证并调取相关台账。",
        hazards="危险化学品装卸区未设置警戒｜装卸区｜一般｜设置警戒区并落实专人监护｜"
        + (today + timedelta(days=7)).isoformat(),
        measures="现场责令立即整改，下达责令限期整改指令书，一周后复查。",
    )
    _act(inst, "feedback", leader, verdict="substantiated", conclusion="线索反映问题属实，已责令限期整改。")
    if stage == "review":
        return
    _act(inst, "review", "zhzx_chief", "approve", comment="同意调查结论，请跟踪整改落实情况。")


def seed_plans(rng: random.Random) -> int:
    from app.plans import process, services

    if db.session.scalar(select(func.count(MonthlyPlan.id))):
        return 0
    today = utcnow().astimezone(SHANGHAI).date()
    year, month = services.next_month(today)
    made = 0
    # 黄浦: through both reviews, now in publicity; 徐汇: drafted with a 双随机 draw; 长宁: sent back.
    for district, stage in (("310101", "publicity"), ("310104", "draft"), ("310105", "returned")):
        officer = _user(f"d{district[-2:]}_officer")
        if officer is None:
            continue
        plan = services.generate(officer, district_code=district, year=year, month=month, max_items=8)
        if services.draw_pool(plan):
            services.draw(plan, officer, count=3, seed=rng.randint(1, 2**31 - 1))
        made += 1
        if stage == "draft":
            continue
        process.submit(plan, officer)
        leader = f"d{district[-2:]}_leader"
        if stage == "returned":
            _act(plan.instance_id, "review_district", leader, "reject", comment="请补充近一年未检查的 C 级企业")
            continue
        _act(plan.instance_id, "review_district", leader, "approve", comment="同意")
        _act(plan.instance_id, "review_city", "leader", "approve", comment="同意公示")
    # Last month's plan of 黄浦, in force and half done: the execution warning has something to say.
    officer = _user("d01_officer")
    last_year, last_month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    if officer is not None:
        plan = services.generate(officer, district_code="310101", year=last_year, month=last_month, max_items=6)
        plan.status, plan.published_at = "published", utcnow() - timedelta(days=30)
        plan.params = {**plan.params, "note": "演示数据：历史计划"}
        for item in plan.items[: len(plan.items) // 2]:
            item.status, item.done_on = "done", date(last_year, last_month, 10)
        process.check_execution(utcnow())
        made += 1
    return made


def seed_applications() -> int:
    from app.accounts_apply import services

    if db.session.scalar(select(func.count(AccountApplication.id))):
        return 0
    made = 0
    street_user = db.session.scalar(
        select(User).join(Organisation, Organisation.id == User.org_id).where(Organisation.kind == "street").limit(1)
    )
    soe_user = db.session.scalar(
        select(User).join(Organisation, Organisation.id == User.org_id).where(Organisation.kind == "soe_group").limit(1)
    )
    if street_user is not None:
        services.apply(
            street_user,
            {
                "org": street_user.org.code,
                "name": "孙小美",
                "login": "demo_street_sun",
                "phone": "13900002222",
                "roles": ["street_officer"],
                "reason": "街道新增安全监管专员",
            },
        )
        made += 1
    if soe_user is not None:
        created = services.apply(
            soe_user,
            {
                "org": soe_user.org.code,
                "name": "钱进",
                "login": "demo_soe_qian",
                "roles": ["soe_officer"],
                "reason": "集团安全管理部新进人员",
            },
        )
        _act(created.instance_id, "city_review", "leader", "approve", comment="同意开通")
        rejected = services.apply(
            soe_user,
            {
                "org": soe_user.org.code,
                "name": "李四",
                "login": "demo_soe_li",
                "roles": ["soe_officer"],
                "reason": "临时借调人员",
            },
        )
        _act(rejected.instance_id, "city_review", "leader", "reject", comment="借调人员请使用原单位账号")
        made += 2
    return made


def seed_supervision() -> dict[str, int]:
    rng = random.Random(2026)
    deploy_processes()
    result = {"inspections": seed_inspections(rng)}
    result["clues"] = seed_clues(rng)
    result["plans"] = seed_plans(rng)
    result["applications"] = seed_applications()
    # One overdue task, so the alert centre shows red from the start.
    row = db.session.scalar(
        select(HumanTask).where(HumanTask.status == "open", HumanTask.process_id == "clue_verification").limit(1)
    )
    if row is not None and result["clues"]:
        row.due_at = utcnow() - timedelta(hours=5)
    db.session.flush()
    return result
