"""Demo data of 案卷评查: cases of several districts with parties, violations (the knowledge base's demo
entries), documents and procedure dates; reviews in every state (待分派, 评查中, 退回重评, 待签发, 已签发 with
each conclusion), cases failing the 一案双罚, deadline, document and 裁量基准 checks; 合格案卷 reminder
settings; 行刑衔接 referrals pending, overdue, accepted and refused. Idempotent: skipped when cases exist."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.auth.models import User
from app.cases import referrals, review, rules, services
from app.cases.models import DOC_TYPES, Case, CaseReview
from app.extensions import db
from app.inbox.models import HumanTask
from app.knowledge.models import KnowledgeEntry

ALL_DOCS = ["立案审批表", "询问笔录", "行政处罚告知书", "行政处罚决定书", "送达回证"]
# WF-01xxx: 危险化学品 entries of the demo knowledge base; 002 = 第九十四条 (2–5 万元), 007 = 第九十七条（三）
# (10 万元以下, 双罚), 016 = 第九十九条（一）(5 万元以下, 双罚), 025 = 第一百零一条（一）(双罚).
# (number, title, district, type, unit fine, person fine, violation codes, day offsets from discovery of
#  立案/调查/告知/决定/送达/执行/结案 (None: not yet), documents, review plan)
CASES = [
    (
        "沪黄应急罚〔2026〕101号",
        "上海申江化工有限公司未开展安全培训案",
        "310101",
        "general",
        50000,
        15000,
        "WF-01007",
        (3, 6, 30, 50, 52, 70, 80),
        ALL_DOCS,
        "excellent",
    ),
    (
        "沪黄应急罚〔2026〕102号",
        "上海浦江仓储有限公司未设置安全警示标志案",
        "310101",
        "general",
        30000,
        12000,
        "WF-01016",
        (4, 8, 35, 60, 63, 75, 90),
        ALL_DOCS,
        "qualified",
    ),
    (
        "沪徐应急罚〔2026〕201号",
        "上海徐汇精细化工有限公司未如实记录培训案（未处罚负责人）",
        "310104",
        "general",
        60000,
        None,
        "WF-01008",
        (5, 9, 40, 70, 72, None, None),
        ALL_DOCS,
        "scoring",
    ),
    (
        "沪徐应急罚〔2026〕202号",
        "上海漕河泾机械有限公司主要负责人未履职案（立案、送达超期）",
        "310104",
        "general",
        30000,
        None,
        "WF-01002",
        (15, 20, 60, 100, 115, 130, 140),
        ALL_DOCS[:4],
        "unqualified",
    ),
    (
        "沪长应急罚〔2026〕301号",
        "上海长宁物流有限公司危险作业无人监护案",
        "310105",
        "general",
        80000,
        30000,
        "WF-01027",
        (2, 5, 28, 45, 47, None, None),
        ALL_DOCS,
        "assigning",
    ),
    (
        "沪长应急罚〔2026〕302号",
        "上海天山制冷有限公司未建立隐患排查制度案",
        "310105",
        "general",
        40000,
        20000,
        "WF-01029",
        (3, 6, 25, 40, 42, 60, 70),
        ALL_DOCS,
        "signoff",
    ),
    (
        "沪静应急罚〔2026〕401号",
        "上海静安商贸有限公司罚款超出裁量基准案",
        "310106",
        "general",
        250000,
        15000,
        "WF-01007",
        (2, 4, 20, 35, 36, 50, 60),
        ALL_DOCS,
        "returned",
    ),
    (
        "沪静应急简〔2026〕402号",
        "上海静安便利店未提供劳动防护用品案（简易程序）",
        "310106",
        "simple",
        2000,
        None,
        "WF-01020",
        (0, None, None, 0, 0, 0, 0),
        ["行政处罚决定书"],
        None,
    ),
    (
        "沪黄应急罚〔2026〕103号",
        "上海外滩餐饮管理有限公司燃气报警装置案（办理中）",
        "310101",
        "general",
        None,
        None,
        "WF-01023",
        (2, 5, None, None, None, None, None),
        ALL_DOCS[:2],
        None,
    ),
]
REFERRALS = [  # (case index, days after the decision, receiver, acceptance, answer days, outcome)
    (3, 5, "上海市公安局徐汇分局", "pending", None, ""),
    (0, 10, "上海市公安局黄浦分局", "accepted", 2, "已立案侦查"),
    (1, 12, "上海市公安局黄浦分局", "rejected", 3, "不符合刑事立案条件，退回行政处理"),
]


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def _task(review_row: CaseReview, step: str) -> HumanTask | None:
    return db.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == review_row.instance_id, HumanTask.step == step, HumanTask.status == "open"
        )
    )


def _drive(case: Case, plan: str, chief: User, reviewer: User, leader: User) -> None:
    from app.inbox import actions

    rv = review.start_review(case, chief)
    if plan == "assigning":
        return
    actions.complete(_task(rv, "assign"), chief, action="complete", form_data={"reviewer_login": reviewer.login})
    if plan == "scoring":
        return
    form = {}
    for s in rv.scores:
        form[f"score_{s['code']}"] = s["score"] if s["score"] is not None else s["points"] * 0.9
    if plan == "excellent":
        for s in rv.scores:
            if s["auto"] is None:
                form[f"score_{s['code']}"] = s["points"]
    if plan == "qualified":  # manual items marked down: a plain 合格
        for s in rv.scores:
            if s["auto"] is None:
                form[f"score_{s['code']}"] = s["points"] * 0.3
    total = sum(float(v) for v in form.values())
    form["conclusion"] = rules.suggest_conclusion(total, rv.rule_set.limits)
    form["remark"] = {"unqualified": "立案、送达超期，缺送达回证，负责人未处罚", "returned": "罚款超出裁量基准"}.get(
        plan, ""
    )
    review.save_scores(rv.id, reviewer, form)
    if plan == "signoff":
        return
    action = "reject" if plan == "returned" else "approve"
    comment = "罚款金额超出裁量基准，请复核评分" if plan == "returned" else "同意"
    actions.complete(_task(rv, "signoff"), leader, action=action, comment=comment)


def seed_cases() -> dict[str, int]:
    from app.engine import deploy

    if db.session.scalar(select(func.count(Case.id))):
        return {}
    folder = Path(current_app.config["WORKFLOWS_DIR"])
    deploy.deploy(deploy.sources_from_files(folder / "case_review.bpmn"), comment="演示数据：部署案卷评查流程")
    chief, reviewer, leader = _user("dcc_chief"), _user("city_officer2"), _user("leader")
    admin = chief or _user("admin")
    review.ensure_defaults(admin)
    start = date.today() - timedelta(days=200)
    made = []
    for n, (number, title, district, kind, unit_fine, person_fine, codes, offsets, docs, plan) in enumerate(CASES):
        officer = _user(f"d{district[-2:]}_officer") or admin
        found = start + timedelta(days=7 * n)
        data = {
            "number": number,
            "title": title,
            "case_type": kind,
            "org": district,
            "officer": officer.login,
            "unit_name": title[: title.index("有限公司") + 4] if "有限公司" in title else title[:10],
            "unit_code": f"913101{n:02d}MA1C{n:04d}X",
            "unit_penalty": unit_fine or "",
            "person_name": "王" + "伟芳敏静强军磊洋艳"[n],
            "person_position": "总经理",
            "person_penalty": person_fine or "",
            "violations": codes,
            "discovered_on": found.isoformat(),
            "facts": f"{title}：经现场检查发现，事实清楚。",
        }
        for (key, _), off in zip(
            [
                ("filed_on", 0),
                ("investigated_on", 0),
                ("notified_on", 0),
                ("decided_on", 0),
                ("served_on", 0),
                ("executed_on", 0),
                ("closed_on", 0),
            ],
            offsets,
            strict=True,
        ):
            data[key] = (found + timedelta(days=off)).isoformat() if off is not None else ""
        if not db.session.scalar(select(KnowledgeEntry.id).where(KnowledgeEntry.code == codes)):
            continue  # a trimmed demo without this knowledge entry
        if not officer.can("case.edit"):
            continue
        case, _ = services.save_case(officer, data, source="manual")
        by_name = {v: k for k, v in DOC_TYPES.items()}
        services.register_documents(case, [by_name[d] for d in docs], officer)
        db.session.flush()
        made.append(case)
        if plan and chief and reviewer and leader:
            _drive(case, plan, chief, reviewer, leader)
        if plan == "excellent":
            case.submitted_at = case.updated_at
    for idx, after, receiver, acceptance, answer_days, outcome in REFERRALS:
        if idx >= len(made) or made[idx].decided_on is None:
            continue
        case = made[idx]
        officer = case.officer or admin
        row = referrals.create(
            case, officer, {"referred_on": (case.decided_on + timedelta(days=after)).isoformat(), "receiver": receiver}
        )
        if acceptance != "pending":
            referrals.answer(
                row,
                officer,
                {
                    "acceptance": acceptance,
                    "answered_on": (row.referred_on + timedelta(days=answer_days)).isoformat(),
                    "outcome": outcome,
                },
            )
    if made:  # a fresh referral still inside its answer period
        referrals.create(
            made[4 % len(made)],
            made[4 % len(made)].officer or admin,
            {"referred_on": date.today().isoformat(), "receiver": "上海市公安局长宁分局"},
        )
    services.save_settings(
        admin,
        {
            "qualified_due_date": (date.today() + timedelta(days=10)).isoformat(),
            "remind_days_before": "15",
            "referral_answer_days": "3",
        },
    )
    db.session.flush()
    reviews = db.session.scalar(select(func.count(CaseReview.id)))
    return {"cases": len(made), "case_reviews": reviews or 0}
