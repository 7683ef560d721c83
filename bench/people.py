"""Generated people and enterprises, inserted in bulk with SQLAlchemy Core.

2,000 accounts (R7.1) over the whole organisation tree: city corps leaders, section chiefs and
officers, district brigade leaders and officers, street office staff, SOE group safety managers,
and the four administrators. All share one precomputed password hash (PBKDF2 at the production
iteration count costs ~0.1 s per hash; 2,000 of them would take minutes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select

from app.auth.models import Role, User, user_roles
from app.demo.seed import SUFFIX_BY_INDUSTRY, SURNAMES
from app.enterprises.credit_code import ALPHABET as CODE_ALPHABET
from app.enterprises.credit_code import check_char
from app.enterprises.models import Enterprise
from app.extensions import db
from app.orgs.models import Organisation
from app.security.models import PasswordHistory

GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建文辉力斌宇浩凯健俊帆鹏晨昊雪梅婷琳欣怡子涵志刚国庆海燕"
# Trade-name characters (字号): enough of them that 100,000 names are mostly distinct.
TRADE = (
    "华申浦沪东海新金恒隆盛泰宏达源嘉信安吉祥瑞丰德利兴昌荣茂鑫鼎福宝康顺通和永丽美佳诚汇中国联合天元正"
    "远鸿博盈辉明光伟峰雅致卓越晟煜昊鹏程飞腾跃宇宙星辰江河湖山林森松柏竹梅兰菊振邦凯弘毅亿万千百"
)

# Share of the accounts beyond the fixed ones, by kind (street staff are the many).
SHARES = {
    "street_officer": 0.58,
    "district_officer": 0.20,
    "district_leader": 0.03,
    "city_officer": 0.05,
    "section_chief": 0.005,
    "city_leader": 0.002,
    "soe_officer": 0.133,
}
PREFIX = {
    "street_officer": "so",
    "district_officer": "do",
    "district_leader": "dl",
    "city_officer": "co",
    "section_chief": "sc",
    "city_leader": "cl",
    "soe_officer": "se",
}
POSITION = {
    "street_officer": "安监专员",
    "district_officer": "执法队员",
    "district_leader": "大队长",
    "city_officer": "执法队员",
    "section_chief": "处长",
    "city_leader": "副总队长",
    "soe_officer": "安全管理员",
}
# The three administrators and the process administrator need TOTP at login (TOTP_REQUIRED_PERMISSIONS).
ADMINS = {
    "sys_admin": ("admin", "系统管理员"),
    "sec_admin": ("secadmin", "安全管理员"),
    "audit_admin": ("auditor", "审计管理员"),
    "process_admin": ("procadmin", "流程管理员"),
}
LEADER_ROLES = {"district_leader", "section_chief", "city_leader"}


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def next_id(model) -> int:
    """The first free id of a model's (or a table's) integer primary key."""
    column = model.c.id if hasattr(model, "c") else model.id
    return (db.session.scalar(select(func.max(column))) or 0) + 1


@dataclass
class People:
    """Who exists, indexed the ways the instance generator needs."""

    users: list[dict] = field(default_factory=list)  # id, login, name, org_id, role
    by_role: dict[str, list[dict]] = field(default_factory=dict)
    by_role_district: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def add(self, user: dict, district: str | None) -> None:
        self.users.append(user)
        self.by_role.setdefault(user["role"], []).append(user)
        if district:
            self.by_role_district.setdefault((user["role"], district), []).append(user)

    def pick(self, rng: random.Random, role: str, district: str | None = None) -> dict:
        pool = self.by_role_district.get((role, district)) if district else None
        return rng.choice(pool or self.by_role[role])


def _org_pools(orgs: dict[str, Organisation]) -> dict[str, list[Organisation]]:
    by_kind: dict[str, list[Organisation]] = {}
    for org in sorted(orgs.values(), key=lambda o: o.code):
        by_kind.setdefault(org.kind, []).append(org)
    return {
        "street_officer": by_kind.get("street", []),
        "district_officer": by_kind.get("district", []),
        "district_leader": by_kind.get("district", []),
        "city_officer": by_kind.get("section", []),
        "section_chief": by_kind.get("section", []),
        "city_leader": by_kind.get("city", []),
        "soe_officer": by_kind.get("soe_group", []) + by_kind.get("soe_unit", []),
    }


def seed_people(
    rng: random.Random, orgs: dict[str, Organisation], total: int, password_hash: str, now: datetime, years: int
) -> People:
    """Insert `total` accounts (at least the fixed core) with their roles and password history."""
    roles = {r.code: r.id for r in db.session.scalars(select(Role))}
    pools = _org_pools(orgs)
    city = orgs["SHYJ"]
    slots: list[tuple[str, Organisation]] = [
        ("sys_admin", city),
        ("sec_admin", city),
        ("audit_admin", city),
        ("process_admin", city),
        ("city_leader", city),
    ]
    slots += [("section_chief", org) for org in pools["section_chief"]]
    for district in pools["district_leader"]:
        slots += [("district_leader", district), ("district_officer", district)]
    kinds, weights = zip(*SHARES.items(), strict=True)
    while len(slots) < total:
        kind = rng.choices(kinds, weights)[0]
        if pools[kind]:
            slots.append((kind, rng.choice(pools[kind])))
    people = People()
    user_rows, role_rows, history_rows = [], [], []
    uid = next_id(User)
    hid = next_id(PasswordHistory)
    counters: dict[str, int] = {}
    start = now - timedelta(days=365 * years)
    for role, org in slots:
        counters[role] = counters.get(role, 0) + 1
        login, name = ADMINS[role] if role in ADMINS else (f"{PREFIX[role]}{counters[role]:04d}", person_name(rng))
        created = start + timedelta(days=rng.uniform(0, 60))
        changed = now - timedelta(days=rng.uniform(1, 80))  # inside the 90-day password age
        user_rows.append(
            {
                "id": uid,
                "login": login,
                "name": name,
                "org_id": org.id,
                "phone": f"139{rng.randint(0, 10**8 - 1):08d}",
                "position": POSITION.get(role, "管理员"),
                "is_leader": role in LEADER_ROLES,
                "status": "active",
                "password_hash": password_hash,
                "password_changed_at": changed,
                "must_change_password": False,
                "failed_logins": 0,
                "last_login_at": now - timedelta(days=rng.uniform(0, 20)),
                "created_at": created,
            }
        )
        role_rows.append({"user_id": uid, "role_id": roles[role]})
        history_rows.append({"id": hid, "user_id": uid, "password_hash": password_hash, "created_at": changed})
        user = {
            "id": uid,
            "login": login,
            "name": name,
            "org_id": org.id,
            "org_code": org.code,
            "district": org.district_code,
            "role": role,
        }
        people.add(user, org.district_code)
        uid += 1
        hid += 1
    db.session.execute(insert(User.__table__), user_rows)
    db.session.execute(insert(user_roles), role_rows)
    db.session.execute(insert(PasswordHistory.__table__), history_rows)
    return people


def credit_code(rng: random.Random, district_code: str) -> str:
    body = "91" + district_code[:6] + "".join(rng.choice(CODE_ALPHABET) for _ in range(9))
    return body + check_char(body)


def enterprise_rows(rng: random.Random, orgs: dict[str, Organisation], count: int, industries: list[dict], now):
    """Yield enterprise rows (dicts with explicit ids) in the supervising streets of every district."""
    streets = sorted((o for o in orgs.values() if o.kind == "street"), key=lambda o: o.code)
    districts = {o.id: o for o in orgs.values() if o.kind == "district"}
    groups = [o.id for o in orgs.values() if o.kind == "soe_group"]
    used: set[str] = set()
    eid = next_id(Enterprise)
    for _ in range(count):
        street = rng.choice(streets)
        industry = rng.choice(industries)
        code = credit_code(rng, street.district_code)
        while code in used:
            code = credit_code(rng, street.district_code)
        used.add(code)
        trade = "".join(rng.sample(TRADE, rng.choice((2, 2, 3))))
        district = districts.get(street.parent_id)
        yield {
            "id": eid,
            "credit_code": code,
            "name": f"上海{trade}{SUFFIX_BY_INDUSTRY.get(industry['code'][:2], '实业有限公司')}",
            "org_id": street.id,
            "district_code": street.district_code,
            "industry_code": industry["code"],
            "address": f"上海市{district.short_name if district else ''}{street.name}{rng.randint(1, 2999)}号",
            "legal_person": person_name(rng),
            "contact_phone": f"021{rng.randint(10**7, 10**8 - 1)}",
            "grade": rng.choices("ABCD", weights=(1, 3, 5, 2))[0],
            "employees": rng.randint(5, 3000),
            "established_on": date(1990, 1, 1) + timedelta(days=rng.randint(0, 12000)),
            "longitude": round(121.0 + rng.random() * 0.9, 6),
            "latitude": round(30.7 + rng.random() * 0.8, 6),
            "soe_group_id": rng.choice(groups) if groups and rng.random() < 0.08 else None,
            "created_at": now - timedelta(days=rng.uniform(0, 1100)),
        }
        eid += 1
