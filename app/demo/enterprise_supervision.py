"""Demo data for enterprise supervision: facts with sources for the demo enterprises, a graded spread, label
library and labels, trigger rules and scenarios with hits in every state, over-limit filings in each state.

Everything goes through the real services and processes; idempotent (skips when records exist)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.auth.models import User
from app.enterprises.models import Enterprise, EnterpriseRecord
from app.extensions import db
from app.inbox.models import HumanTask
from app.labels.models import LabelDef
from app.triggers.models import TriggerHit, TriggerRule, TriggerScenario

PROCESSES = ("trigger_dispatch", "overlimit_filing")
SOURCES = {
    "major_hazard": "数据交换：市危险化学品监管系统",
    "standardisation": "数据交换：市应急局标准化系统",
    "insurance": "数据交换：市金融监管局安责险平台",
    "emergency_plan": "数据交换：应急预案备案系统",
    "accident": "数据交换：事故调查处理系统",
    "violation": "执法检查记录",
    "complaint": "12345 市民服务热线",
}
LABELS = [
    ("major_hazard", "重大危险源", "risk", "danger", "major_hazard > 0", "构成重大危险源的企业"),
    ("had_accident", "近三年发生事故", "risk", "danger", "accidents_3y > 0", None),
    ("std_missing", "标准化未达标", "risk", "warning", "standard_level == 0", None),
    ("no_insurance", "安责险缺失", "credit", "warning", "insured == 0", None),
    ("complaints", "投诉多发", "focus", "info", "complaints_90d >= 2", "近 90 天投诉 2 次及以上"),
    ("hazmat", "危化品行业", "industry", "dark", 'industry == "HG"', None),
    ("night_work", "夜间作业", "risk", "secondary", None, "手动标签：存在夜间装卸或作业"),
    ("confined", "有限空间作业", "risk", "secondary", None, "手动标签"),
]
RULES = [
    ("complaint_any", "收到投诉举报", "complaint", "True"),
    ("accident_hurt", "发生伤亡事故", "accident", "deaths >= 1 or injuries >= 3"),
    ("grade_up", "监管等级上调", "grade_change", "worse"),
    ("exchange_hazmat", "危化品异常交换记录", "exchange", 'system == "危化品" and level >= 2'),
]
SCENARIOS = [
    ("repeat_complaints", "30 天内重复投诉", ["complaint_any"], "any", 2, 30, 30, 5, 3),
    ("casualty", "发生伤亡事故", ["accident_hurt"], "any", 1, 7, 30, 3, 1),
    ("grade_up", "监管等级上调", ["grade_up"], "any", 1, 7, 60, 10, 7),
    ("complaint_and_hazmat", "投诉叠加危化品异常", ["complaint_any", "exchange_hazmat"], "all", 2, 60, 30, 5, 3),
]


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def _deploy() -> None:
    from app.engine import deploy

    folder = Path(current_app.config["WORKFLOWS_DIR"])
    for pid in PROCESSES:
        deploy.deploy(deploy.sources_from_files(folder / f"{pid}.bpmn"), comment=f"演示数据：从文件 {pid}.bpmn 部署")


def _facts(rng: random.Random, today: date) -> int:
    rows = []

    def add(ent_id, kind, days, title, value):
        rows.append(
            {
                "enterprise_id": ent_id,
                "kind": kind,
                "occurred_on": today - timedelta(days=days),
                "title": title,
                "value": value,
                "source": SOURCES[kind],
            }
        )

    for ent_id, industry in db.session.execute(select(Enterprise.id, Enterprise.industry_code).order_by(Enterprise.id)):
        hazmat = industry == "HG"
        if rng.random() < (0.5 if hazmat else 0.12):
            level = rng.choice((1, 2, 3, 4))
            add(
                ent_id,
                "major_hazard",
                rng.randint(30, 700),
                f"辨识为{'一二三四'[level - 1]}级重大危险源",
                {"level": level},
            )
        level = rng.choices((0, 1, 2, 3), weights=(3, 1, 3, 4))[0]
        add(
            ent_id,
            "standardisation",
            rng.randint(20, 900),
            "安全生产标准化未达标" if level == 0 else f"安全生产标准化{'一二三'[level - 1]}级",
            {"level": level},
        )
        until = today + timedelta(days=rng.randint(-200, 400))
        add(
            ent_id,
            "insurance",
            rng.randint(10, 360),
            f"安全生产责任险，有效期至 {until}",
            {"valid_until": until.isoformat()},
        )
        if rng.random() < 0.7:
            add(ent_id, "emergency_plan", rng.randint(30, 800), "生产安全事故应急预案已备案", {})
        for _ in range(rng.choices((0, 1, 2), weights=(80, 15, 5))[0]):
            hurt = rng.choice((0, 1, 1, 2, 4))
            add(
                ent_id,
                "accident",
                rng.randint(20, 1000),
                f"一般生产安全事故，{hurt} 人受伤" if hurt else "生产安全事故（无人员伤亡）",
                {"deaths": 0, "injuries": hurt},
            )
        for _ in range(rng.choices((0, 1, 2, 3), weights=(65, 22, 9, 4))[0]):
            add(
                ent_id,
                "violation",
                rng.randint(5, 360),
                rng.choice(
                    ("未按规定开展隐患排查", "特种作业人员无证上岗", "安全设施未定期维护", "未如实记录安全培训")
                ),
                {},
            )
        for _ in range(rng.choices((0, 1, 2, 3), weights=(80, 12, 6, 2))[0]):
            add(ent_id, "complaint", rng.randint(40, 200), "市民反映企业存在安全隐患", {})
    if rows:
        db.session.execute(EnterpriseRecord.__table__.insert(), rows)
    return len(rows)


def _labels(today: date) -> int:
    from app.labels import services as labels

    for code, name, category, colour, rule, description in LABELS:
        if not db.session.scalar(select(LabelDef.id).where(LabelDef.code == code)):
            db.session.add(
                LabelDef(code=code, name=name, category=category, colour=colour, rule=rule, description=description)
            )
    db.session.flush()
    auto = labels.apply_auto_labels(today=today)
    officer = _user("d01_officer") or _user("city_officer1")
    night = db.session.scalar(select(LabelDef).where(LabelDef.code == "night_work"))
    confined = db.session.scalar(select(LabelDef).where(LabelDef.code == "confined"))
    ents = list(
        db.session.scalars(
            select(Enterprise).where(Enterprise.district_code == "310101").order_by(Enterprise.id).limit(4)
        )
    )
    if officer is not None:
        for ent, label, reason, days in zip(
            ents,
            (night, confined, night, confined),
            ("群众反映夜间装卸危化品", "污水池清淤属有限空间作业", "夜间连续生产", "储罐清洗作业"),
            (60, None, 20, 180),
            strict=False,
        ):
            labels.add_manual(
                ent,
                officer,
                label_id=label.id,
                reason=reason,
                expires_on=today + timedelta(days=days) if days else None,
            )
    return auto["added"] + len(ents)


def _rules() -> None:
    from app.triggers import services as triggers

    admin = _user("procadmin")
    for code, name, kind, condition in RULES:
        if not db.session.scalar(select(TriggerRule.id).where(TriggerRule.code == code)):
            db.session.add(
                TriggerRule(
                    code=code,
                    version=1,
                    name=name,
                    record_kind=kind,
                    condition=condition,
                    status="published",
                    created_by_id=admin.id if admin else None,
                )
            )
    for code, name, rules, mode, min_count, window, merge, deadline, remind in SCENARIOS:
        if not db.session.scalar(select(TriggerScenario.id).where(TriggerScenario.code == code)):
            db.session.add(
                TriggerScenario(
                    code=code,
                    name=name,
                    rule_codes=rules,
                    mode=mode,
                    min_count=min_count,
                    window_days=window,
                    merge_days=merge,
                    deadline_days=deadline,
                    remind_days=remind,
                )
            )
    db.session.flush()
    if admin is not None:  # a draft version waiting for its test bench
        triggers.save_rule(
            admin,
            {
                "code": "accident_hurt",
                "name": "发生伤亡事故（含 1 人受伤）",
                "record_kind": "accident",
                "condition": "deaths >= 1 or injuries >= 1",
            },
        )


def _act(hit: TriggerHit, step: str, login: str, action: str, **data) -> None:
    from app.inbox import actions

    row = db.session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == hit.instance_id, HumanTask.step == step, HumanTask.status == "open"
        )
    )
    if row is not None and _user(login) is not None:
        actions.complete(row, _user(login), action=action, form_data=data, comment=data.pop("comment", None))


def _hits(rng: random.Random, today: date) -> int:
    """Fresh complaints on a few enterprises per district: hits, then each moved to a different state."""
    from app.triggers import process as dispatch
    from app.triggers import services as triggers

    made = []
    for district in ("310101", "310104", "310105", "310106", "310115"):
        ents = list(
            db.session.scalars(
                select(Enterprise)
                .where(Enterprise.district_code == district)
                .order_by(Enterprise.id)
                .offset(5)
                .limit(3)
            )
        )
        for ent in ents:
            for days in (6, 2):
                db.session.add(
                    EnterpriseRecord(
                        enterprise_id=ent.id,
                        kind="complaint",
                        occurred_on=today - timedelta(days=days),
                        title=rng.choice(("反映企业夜间违规作业", "反映厂区异味、疑似泄漏", "反映消防通道堵塞")),
                        value={},
                        source=SOURCES["complaint"],
                    )
                )
    db.session.flush()
    triggers.evaluate_new()
    made = list(db.session.scalars(select(TriggerHit).order_by(TriggerHit.id)))
    # merged: one more complaint for the first hit's enterprise
    if made:
        db.session.add(
            EnterpriseRecord(
                enterprise_id=made[0].enterprise_id,
                kind="complaint",
                occurred_on=today,
                title="再次反映夜间违规作业",
                value={},
                source=SOURCES["complaint"],
            )
        )
        db.session.flush()
        triggers.evaluate_new()
    leaders = {"310101": "d01", "310104": "d04", "310105": "d05", "310106": "d06", "310115": "d15"}
    for i, hit in enumerate(made):
        prefix = leaders.get(hit.org.code, "d01")
        stage = i % 6
        if stage == 1:  # reminded, as the reminder timer does
            dispatch.remind({"hit_id": hit.id})
        elif stage == 2:  # overdue and escalated
            dispatch.remind({"hit_id": hit.id})
            dispatch.escalate({"hit_id": hit.id})
        elif stage >= 3:
            result = "problem" if stage == 4 else "no_problem"
            _act(
                hit,
                "handle",
                f"{prefix}_officer",
                "complete",
                handle_result=result,
                findings="到企业现场核查，"
                + ("发现装卸区未设警戒，已责令整改" if result == "problem" else "未发现反映的问题"),
                measures="责令立即整改并复查" if result == "problem" else "",
            )
            if stage >= 4:
                _act(hit, "review", f"{prefix}_leader", "approve", comment="同意办结")
    return len(made)


def _filings(today: date) -> int:
    from app.checklimit import services as checks

    officer = _user("d01_officer")
    leader = _user("d01_leader")
    if officer is None:
        return 0
    ents = list(
        db.session.scalars(
            select(Enterprise).where(Enterprise.district_code == "310101").order_by(Enterprise.id).offset(10).limit(12)
        )
    )
    made = 0
    for ent in ents:
        while not checks.year_count(ent.id, today.year)["over"]:
            checks.record_inspection(ent, officer, on=today - timedelta(days=30 + made), kind="other", note="演示检查")
        filing = checks.file_overlimit(
            ent,
            officer,
            on=today + timedelta(days=3),
            kind="other",
            reason="企业近期多次被投诉夜间违规作业，需再次现场核查并固定证据",
        )
        if made == 1 and leader is not None:
            _act_filing(filing, leader, "approve", "同意检查")
        elif made == 2 and leader is not None:
            _act_filing(filing, leader, "reject", "本月已安排联合检查，暂缓")
        made += 1
        if made == 3:
            break
    return made


def _act_filing(filing, leader, action, comment) -> None:
    from app.inbox import actions

    row = db.session.scalar(
        select(HumanTask).where(HumanTask.instance_id == filing.instance_id, HumanTask.status == "open")
    )
    if row is not None:
        actions.complete(row, leader, action=action, form_data={}, comment=comment)


def seed_enterprise_supervision() -> dict[str, int]:
    from app.grading import services as grading

    if db.session.scalar(select(func.count(EnterpriseRecord.id))):
        return {}
    rng = random.Random(20261202)
    today = grading.today_local()
    _deploy()
    result = {"records": _facts(rng, today)}
    graded = grading.recompute(reason="演示数据：首次评估", today=today)
    result["graded"] = graded["scanned"]
    grading.snapshot(today.strftime("%Y-%m"))
    grading.snapshot_as_of(today.replace(day=1) - timedelta(days=1))  # last month, from the data known then
    result["labels"] = _labels(today)
    _rules()
    result["trigger_hits"] = _hits(rng, today)
    result["overlimit_filings"] = _filings(today)
    db.session.flush()
    return result
