"""The fake upstream systems' data: deterministic rows in each source's documented shape."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.enterprises.credit_code import check_char

DISTRICTS = ("310101", "310104", "310105", "310106")
RESULTS = ("未发现问题", "责令整改", "立案查处")


def credit_code(n: int) -> str:
    first = f"91310{n % 10}{n:011d}"[:17]
    return first + check_char(first)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def build(start: datetime, *, inspections: int = 60, parties: int = 30) -> dict[str, dict[str, list[dict]]]:
    rng = random.Random(22)
    base = start - timedelta(hours=36)
    step = timedelta(hours=30) / max(inspections, 1)
    party_rows = [
        {
            "id": f"P{n:04d}",
            "version": 1,
            "changed_at": iso(base + timedelta(minutes=40 * n)),
            "credit_code": credit_code(n),
            "name": f"上海测试{n:03d}化工有限公司",
            "legal_person": rng.choice("王李张刘陈杨") + rng.choice("伟芳敏静强"),
            "address": f"上海市黄浦区测试路{n}号",
            "phone": f"021-6{n:07d}",
        }
        for n in range(1, parties + 1)
    ]
    inspection_rows = [
        {
            "id": f"JC{n:05d}",
            "version": 1,
            "changed_at": iso(base + step * n),
            "party_credit_code": credit_code(1 + n % parties),
            "party_name": f"上海测试{1 + n % parties:03d}化工有限公司",
            "inspected_on": (base + step * n).date().isoformat(),
            "inspector": rng.choice("王李张刘陈杨") + "执法员",
            "result": RESULTS[n % 3],
            "district_code": DISTRICTS[n % len(DISTRICTS)],
        }
        for n in range(1, inspections + 1)
    ]
    orgs = [
        {"id": "O1", "code": "SHYJ", "name": "上海市应急管理局执法总队", "parent_code": None, "kind": "city"},
        {
            "id": "O2",
            "code": "SHYJ-KX",
            "name": "科技信息处",
            "parent_code": "SHYJ",
            "kind": "section",
            "duties": "信息化建设",
        },
        {"id": "O3", "code": "310101", "name": "黄浦区应急管理局执法大队", "parent_code": "SHYJ", "kind": "district"},
        {"id": "O4", "code": "310101901", "name": "黄浦区测试街道", "parent_code": "310101", "kind": "street"},
    ]
    for row in orgs:
        row.update(version=1, changed_at=iso(base), duties=row.get("duties") or "安全生产监管执法")
    staff = [
        {"id": f"S{n}", "login": f"yj{n:03d}", "name": name, "org_code": org, "position": "执法队员", "status": "在岗"}
        for n, (name, org) in enumerate(
            [("赵一平", "SHYJ-KX"), ("钱二文", "310101"), ("孙三军", "310101901"), ("李四海", "310101")], start=1
        )
    ]
    for row in staff:
        row.update(version=1, changed_at=iso(base))
    facts = {}
    for dataset, label in (
        ("accident", "一般生产安全事故调查"),
        ("major_hazard", "重大事故隐患治理"),
        ("insurance", "安全生产责任保险保单"),
        ("emergency_plan", "生产安全事故应急预案备案"),
        ("standardisation", "安全生产标准化三级"),
        ("soe_assessment", "国企安全生产在线考核：良好"),
    ):
        facts[dataset] = [
            {
                "id": f"{dataset[:3].upper()}{n:03d}",
                "version": 1,
                "changed_at": iso(base + timedelta(hours=n)),
                "credit_code": credit_code(n),
                "title": f"{label}（{n}）",
                "occurred_on": (base - timedelta(days=n)).date().isoformat(),
            }
            for n in range(1, 6)
        ]
    enterprises = [
        {
            "id": f"E{n:04d}",
            "version": 1,
            "changed_at": iso(base + timedelta(minutes=30 * n)),
            "credit_code": credit_code(100 + n),
            "name": f"上海治理平台{n:03d}机械制造有限公司",
            "address": f"上海市徐汇区治理路{n}号",
            "legal_person": "周" + "伟芳敏静强"[n % 5],
            "district_code": DISTRICTS[n % len(DISTRICTS)],
            "industry_code": "JX",
        }
        for n in range(1, 21)
    ]
    return {
        "zhzf": {"inspection": inspection_rows, "party": party_rows},
        "yjpt": {"org": orgs, "staff": staff, **facts},
        "sjzl": {"enterprise": enterprises},
    }
