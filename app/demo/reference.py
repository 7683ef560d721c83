"""Reference data every installation needs: the roles and the organisation tree."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.auth.models import Role
from app.extensions import db
from app.orgs.models import Organisation
from app.orgs.services import create_org

DATA = Path(__file__).resolve().parent.parent / "orgs" / "data"
CITY_CODE = "SHYJ"

# code: (name, description, permissions). Lanes in BPMN name these codes.
ROLES: dict[str, tuple[str, str, list[str]]] = {
    "sys_admin": ("系统管理员", "三员之一：管理机构、用户和基础数据", ["org.admin", "user.admin", "calendar.admin"]),
    "sec_admin": ("安全管理员", "三员之一：管理角色权限和安全策略", ["role.admin", "security.admin"]),
    "audit_admin": ("审计管理员", "三员之一：查看和导出审计日志", ["audit.read"]),
    "process_admin": (
        "流程管理员",
        "维护流程图、决策表和表单",
        ["process.admin", "inbox.use", "knowledge.read", "knowledge.admin"],
    ),
    "city_leader": (
        "总队领导",
        "总队分管领导",
        [
            "inbox.use",
            "clue.review",
            "report.signoff",
            "plan.approve",
            "account.approve",
            "stats.read",
            "enterprise.read",
            "sensitive.unmask",
            "deadline.approve",
            "knowledge.read",
            "training.admin",
            "training.mark",
            "appraisal.admin",
            "soe.read",
            "case.read",
            "case.review",
        ],
    ),
    "section_chief": (
        "处室负责人",
        "总队内设机构负责人",
        [
            "inbox.use",
            "clue.review",
            "clue.judge",
            "clue.dispatch",
            "report.signoff",
            "stats.read",
            "enterprise.read",
            "deadline.approve",
            "knowledge.read",
            "knowledge.edit",
            "knowledge.admin",
            "training.admin",
            "training.mark",
            "efficiency.admin",
            "appraisal.admin",
            "soe.read",
            "soe.guide",
            "case.read",
            "case.review",
            "case.admin",
        ],
    ),
    "city_officer": (
        "总队执法人员",
        "总队执法、指挥人员",
        [
            "inbox.use",
            "process.start",
            "clue.register",
            "clue.judge",
            "clue.dispatch",
            "clue.handle",
            "enterprise.read",
            "stats.read",
            "knowledge.read",
            "knowledge.edit",
            "training.use",
            "training.mark",
            "soe.read",
            "soe.guide",
            "case.read",
            "case.edit",
        ],
    ),
    "district_leader": (
        "大队领导",
        "区执法大队领导",
        [
            "inbox.use",
            "clue.review",
            "plan.approve",
            "account.approve",
            "report.signoff",
            "stats.read",
            "enterprise.read",
            "process.start",
            "deadline.approve",
            "knowledge.read",
            "knowledge.edit",
            "training.use",
            "training.admin",
            "training.mark",
            "case.read",
            "case.edit",
        ],
    ),
    "district_officer": (
        "大队执法人员",
        "区执法大队执法人员",
        [
            "inbox.use",
            "process.start",
            "clue.register",
            "clue.handle",
            "plan.draft",
            "enterprise.read",
            "knowledge.read",
            "knowledge.edit",
            "training.use",
            "case.read",
            "case.edit",
        ],
    ),
    "street_officer": (
        "街镇工作人员",
        "街道、乡镇安全监管人员",
        [
            "inbox.use",
            "process.start",
            "clue.register",
            "clue.handle",
            "account.apply",
            "enterprise.read",
            "knowledge.read",
            "case.read",
        ],
    ),
    "soe_officer": (
        "集团安全管理人员",
        "国有集团安全管理部门人员",
        ["inbox.use", "process.start", "account.apply", "enterprise.read", "exchange.submit", "soe.read", "case.read"],
    ),
    "data_admin": ("数据管理员", "管理数据交换、核验与数据质量", ["exchange.admin", "inbox.use", "enterprise.read"]),
}

CITY_SECTIONS = [
    ("SHYJ-ZH", "指挥中心"),
    ("SHYJ-FZ", "法制审核处"),
    ("SHYJ-DC", "督查处"),
    ("SHYJ-ZD1", "执法一支队"),
    ("SHYJ-ZD2", "执法二支队"),
    ("SHYJ-ZH2", "综合处"),
]


def load_json(name: str) -> dict | list:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def seed_roles() -> dict[str, Role]:
    existing = {r.code: r for r in db.session.scalars(select(Role))}
    for code, (name, description, permissions) in ROLES.items():
        if code not in existing:
            role = Role(code=code, name=name, description=description, permissions=sorted(permissions), builtin=True)
            db.session.add(role)
            existing[code] = role
    db.session.flush()
    return existing


def _ensure(code: str, name: str, kind: str, parent: Organisation | None, sort: int, existing: dict) -> Organisation:
    org = existing.get(code)
    if org is None:
        org = create_org(code=code, name=name, kind=kind, parent=parent, sort=sort)
        existing[code] = org
    return org


def seed_orgs(*, streets_per_district: int | None = None, districts: int | None = None) -> dict[str, Organisation]:
    """The real tree: city corps, sections, 16 district brigades with their streets, SOE groups.

    Tests pass small limits to keep fixtures fast; demo and production load everything.
    """
    existing = {o.code: o for o in db.session.scalars(select(Organisation))}
    city = _ensure(CITY_CODE, "上海市应急管理局执法总队", "city", None, 0, existing)
    for i, (code, name) in enumerate(CITY_SECTIONS):
        _ensure(code, name, "section", city, i, existing)
    data = load_json("shanghai_divisions.json")["districts"][:districts]
    for i, district in enumerate(data):
        brigade = _ensure(district["code"], f"{district['name']}应急管理局执法大队", "district", city, i, existing)
        brigade.short_name = district["name"]
        for j, street in enumerate(district["streets"][:streets_per_district]):
            _ensure(street["code"], street["name"], "street", brigade, j, existing)
    for i, group in enumerate(load_json("soe_groups.json")["groups"]):
        g = _ensure(group["code"], group["name"], "soe_group", None, 100 + i, existing)
        for j, unit in enumerate(group["units"]):
            _ensure(unit["code"], unit["name"], "soe_unit", g, j, existing)
    db.session.flush()
    return existing
