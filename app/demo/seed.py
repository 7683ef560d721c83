"""`flask ducha seed-demo`: realistic demo data, idempotent (re-running adds nothing twice)."""

from __future__ import annotations

import random
import zlib
from datetime import date, timedelta

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.services import create_user
from app.demo.reference import CITY_CODE, load_json, seed_orgs, seed_roles
from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise
from app.extensions import db
from app.orgs.models import Organisation

DEMO_PASSWORD = "Ducha@2026"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建文辉力斌宇浩凯健俊帆鹏"
TRADE_WORDS = [
    "华",
    "申",
    "浦",
    "沪",
    "东",
    "海",
    "新",
    "金",
    "恒",
    "隆",
    "盛",
    "泰",
    "宏",
    "達",
    "源",
    "嘉",
    "信",
    "安",
]
SUFFIX_BY_INDUSTRY = {
    "HG": "化工有限公司",
    "YJ": "钢铁有限公司",
    "YS": "有色金属制品有限公司",
    "JC": "建材有限公司",
    "JX": "机械制造有限公司",
    "QG": "轻工制品有限公司",
    "FZ": "纺织有限公司",
    "YC": "烟草机械有限公司",
    "SM": "商贸有限公司",
    "GM": "实业有限公司",
    "FC": "金属表面处理有限公司",
    "SA": "冷链食品有限公司",
    "YX": "环境工程有限公司",
    "CC": "仓储物流有限公司",
    "JY": "加油站有限公司",
    "JZ": "建设工程有限公司",
}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# (login, name, org code or None for "the first street of the district", roles, position, leader)
def _demo_accounts(orgs: dict[str, Organisation]) -> list[tuple]:
    accounts = [
        ("admin", "系统管理员", CITY_CODE, ["sys_admin"], "系统管理员", False),
        ("secadmin", "安全管理员", CITY_CODE, ["sec_admin"], "安全管理员", False),
        ("auditor", "审计管理员", CITY_CODE, ["audit_admin"], "审计管理员", False),
        ("procadmin", "流程管理员", CITY_CODE, ["process_admin"], "流程管理员", False),
        ("leader", "周建国", CITY_CODE, ["city_leader"], "副总队长", True),
        ("zhzx_chief", "陈立新", "SHYJ-ZH", ["section_chief"], "指挥中心主任", True),
        ("dcc_chief", "吴海燕", "SHYJ-DC", ["section_chief"], "督查处处长", True),
        ("fz_chief", "孙志明", "SHYJ-FZ", ["section_chief"], "法制审核处处长", True),
        ("city_officer1", "李晓峰", "SHYJ-ZH", ["city_officer"], "调度员", False),
        ("city_officer2", "郑欣怡", "SHYJ-DC", ["city_officer"], "督查员", False),
        ("city_officer3", "何俊杰", "SHYJ-ZD1", ["city_officer"], "执法队员", False),
        ("city_officer4", "罗雅琴", "SHYJ-ZD2", ["city_officer"], "执法队员", False),
    ]
    rng = random.Random(7)
    districts = sorted((o for o in orgs.values() if o.kind == "district"), key=lambda o: o.code)
    for d in districts:
        short = d.code[-2:]
        accounts.append((f"d{short}_leader", _name(rng), d.code, ["district_leader"], "大队长", True))
        accounts.append((f"d{short}_officer", _name(rng), d.code, ["district_officer"], "执法队员", False))
    for d in districts[:10]:
        street = min((o for o in orgs.values() if o.parent_id == d.id), key=lambda o: o.code, default=None)
        if street is not None:
            accounts.append((f"s{street.code[-5:]}", _name(rng), street.code, ["street_officer"], "安监专员", False))
    for g in sorted((o for o in orgs.values() if o.kind == "soe_group"), key=lambda o: o.code):
        accounts.append((g.code.lower().replace("-", "_"), _name(rng), g.code, ["soe_officer"], "安全管理部经理", True))
    return accounts


def seed_users(orgs: dict[str, Organisation], password: str = DEMO_PASSWORD) -> int:
    existing = set(db.session.scalars(select(User.login)))
    created = 0
    for login, name, org_code, roles, position, leader in _demo_accounts(orgs):
        if login in existing:
            continue
        create_user(
            login=login,
            name=name,
            org=orgs[org_code],
            password=password,
            roles=roles,
            position=position,
            is_leader=leader,
            phone=f"139{zlib.crc32(login.encode()) % 10**8:08d}",
            must_change_password=False,
            check_policy=False,
        )
        created += 1
    return created


def _credit_code(rng: random.Random, district_code: str) -> str:
    body = "91" + district_code[:6] + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + check_char(body)


def seed_enterprises(orgs: dict[str, Organisation], count: int = 300, seed: int = 2026) -> int:
    if (db.session.scalar(select(func.count(Enterprise.id))) or 0) >= count:
        return 0
    rng = random.Random(seed)
    industries = load_json("industries.json")
    streets = sorted((o for o in orgs.values() if o.kind == "street"), key=lambda o: o.code)
    groups = [o for o in orgs.values() if o.kind == "soe_group"]
    used = set(db.session.scalars(select(Enterprise.credit_code)))
    created = 0
    while created < count:
        street = rng.choice(streets)
        industry = rng.choice(industries)
        code = _credit_code(rng, street.district_code)
        if code in used:
            continue
        used.add(code)
        trade = "".join(rng.sample(TRADE_WORDS, 2))
        suffix = SUFFIX_BY_INDUSTRY.get(industry["code"][:2], "实业有限公司")
        db.session.add(
            Enterprise(
                credit_code=code,
                name=f"上海{trade}{suffix}" if rng.random() < 0.6 else f"上海{trade}{rng.choice(TRADE_WORDS)}{suffix}",
                org_id=street.id,
                district_code=street.district_code,
                industry_code=industry["code"],
                address=f"上海市{street.parent.short_name or ''}{street.name}{rng.randint(1, 999)}号",
                legal_person=_name(rng),
                contact_phone=f"021{rng.randint(10**7, 10**8 - 1)}",
                grade=rng.choices("ABCD", weights=(1, 3, 5, 2))[0],
                employees=rng.randint(5, 2000),
                established_on=date(1995, 1, 1) + timedelta(days=rng.randint(0, 10000)),
                longitude=round(121.2 + rng.random() * 0.7, 6),
                latitude=round(30.9 + rng.random() * 0.5, 6),
                soe_group_id=rng.choice(groups).id if groups and rng.random() < 0.1 else None,
            )
        )
        created += 1
    db.session.flush()
    return created


def seed_demo() -> dict[str, int]:
    """Load everything a new user needs to see a living system."""
    seed_roles()
    orgs = seed_orgs()
    users = seed_users(orgs)
    enterprises = seed_enterprises(orgs)
    from app.demo.supervision import seed_supervision

    supervision = seed_supervision()  # clues, plans, account applications at several stages
    from app.demo.enterprise_supervision import seed_enterprise_supervision

    supervision |= seed_enterprise_supervision()  # facts, grades, labels, trigger hits, over-limit filings
    from app.demo.knowledge import seed_knowledge

    supervision["knowledge_entries"] = seed_knowledge(db.session.scalar(select(User).where(User.login == "fz_chief")))
    from app.demo.exchange import seed_exchange

    supervision |= seed_exchange()  # data exchange: run logs in every state, rejects, reconciliations
    from app.demo.efficiency import seed_efficiency

    supervision |= seed_efficiency()  # efficiency model, rules, results, summary tables, topics
    from app.demo.training import seed_training

    supervision |= seed_training()  # question bank, competitions with results, practice records
    from app.demo.dispatch import seed_dispatch

    supervision |= seed_dispatch()  # 指挥调度: the simulator's devices, officers bound to cameras
    from app.demo.appraisal import seed_appraisal_demo

    supervision |= seed_appraisal_demo()  # 评议考核 rounds and objections; SOE records and guidance threads
    from app.demo.cases import seed_cases

    supervision |= seed_cases()  # 案卷评查: cases, reviews in every state, 行刑衔接
    return {"organisations": len(orgs), "users_created": users, "enterprises_created": enterprises, **supervision}
