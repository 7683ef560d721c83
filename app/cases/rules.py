"""Review rules: the default checklists and rule tables, and the automatic checks.

The figures (deadlines, required documents, 一案双罚 articles, conclusion thresholds) live in a rule set's
`limits` (a versioned, editable row of `case_rule_sets`), never in this code; the defaults below only seed
the first version. Each check returns pass/fail with a Chinese explanation. Checks are pure functions of
a case and a rule table (plus the working-day calendar and today's date), so tests run them on hand-made
cases without a database round trip beyond loading the case."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from app.cases.models import DOC_TYPES, STEP_NAMES, Case

CHECKS = {
    "deadline_file": "立案期限",
    "deadline_decide": "作出决定期限",
    "deadline_serve": "送达期限",
    "docs_required": "必备文书",
    "double_penalty": "一案双罚",
    "penalty_range": "裁量基准",
}

DOUBLE_PENALTY = [  # 《安全生产法》 articles that fine the unit and its 直接负责的主管人员 (person range in 元)
    {"law": "中华人民共和国安全生产法", "article": a, "person_min": lo, "person_max": hi}
    for a, lo, hi in (
        ("第九十五条", 0, 0),
        ("第九十七条", 10000, 20000),
        ("第九十八条", 20000, 50000),
        ("第九十九条", 10000, 20000),
        ("第一百零一条", 20000, 50000),
        ("第一百零二条", 50000, 100000),
    )
]
DEFAULTS: dict[str, dict] = {
    "general": {
        "items": [
            {"code": "G1", "title": "立案及时", "points": 10, "check": "deadline_file"},
            {"code": "G2", "title": "在法定期限内作出处罚决定", "points": 10, "check": "deadline_decide"},
            {"code": "G3", "title": "处罚决定书按期送达", "points": 10, "check": "deadline_serve"},
            {"code": "G4", "title": "案卷文书齐全", "points": 20, "check": "docs_required"},
            {"code": "G5", "title": "一案双罚落实", "points": 15, "check": "double_penalty"},
            {"code": "G6", "title": "罚款在裁量基准范围内", "points": 15, "check": "penalty_range"},
            {"code": "G7", "title": "事实清楚、证据确凿", "points": 10, "check": ""},
            {"code": "G8", "title": "文书制作规范、适用法律正确", "points": 10, "check": ""},
        ],
        "limits": {
            "deadlines": [
                {"code": "deadline_file", "from": "discovered_on", "to": "filed_on", "days": 7, "working": True},
                {"code": "deadline_decide", "from": "filed_on", "to": "decided_on", "days": 90, "working": False},
                {"code": "deadline_serve", "from": "decided_on", "to": "served_on", "days": 7, "working": False},
            ],
            "required_docs": ["filing_approval", "inquiry", "notice", "decision", "service_receipt"],
            "double_penalty": DOUBLE_PENALTY,
            "thresholds": {"excellent": 90, "qualified": 60},
        },
    },
    "simple": {
        "items": [
            {"code": "S1", "title": "当场交付处罚决定书", "points": 20, "check": "deadline_serve"},
            {"code": "S2", "title": "案卷文书齐全", "points": 20, "check": "docs_required"},
            {"code": "S3", "title": "罚款在裁量基准范围内", "points": 30, "check": "penalty_range"},
            {"code": "S4", "title": "事实清楚、适用简易程序正确", "points": 30, "check": ""},
        ],
        "limits": {
            "deadlines": [
                {"code": "deadline_serve", "from": "decided_on", "to": "served_on", "days": 0, "working": False},
            ],
            "required_docs": ["decision"],
            "double_penalty": DOUBLE_PENALTY,
            "thresholds": {"excellent": 90, "qualified": 60},
        },
    },
}


@dataclass
class CheckResult:
    check: str
    passed: bool
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# amounts in Chinese: "二万元以上五万元以下", "十万元以下", "5000元"

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
AMOUNT = r"([0-9.]+|[零〇一二两三四五六七八九十百千]+)(万)?元"


def cn_number(text: str) -> float:
    """A number written in digits or Chinese numerals below 10,000 (十, 二十, 一百五十, 5.5)."""
    if re.fullmatch(r"[0-9.]+", text):
        return float(text)
    total, current = 0, 0
    for ch in text:
        if ch in DIGITS:
            current = DIGITS[ch]
        elif ch in UNITS:
            total += (current or 1) * UNITS[ch]
            current = 0
        else:
            raise ValueError(text)
    return float(total + current)


def _amount(number: str, wan: str | None) -> int:
    return round(cn_number(number) * (10000 if wan else 1))


def parse_range(text: str) -> tuple[int, int] | None:
    """The overall fine range (元) of a penalty text: the lowest lower bound and the highest upper bound of
    its "X元以上Y元以下" / "Y元以下" clauses; clauses about 直接负责的主管人员 are left out. None: no range."""
    text = re.split(r"对其?直接负责的主管人员", text or "")[0]
    lows, highs = [], []
    for m in re.finditer(AMOUNT + r"以上" + AMOUNT + r"以下", text):
        lows.append(_amount(m.group(1), m.group(2)))
        highs.append(_amount(m.group(3), m.group(4)))
    rest = re.sub(AMOUNT + r"以上" + AMOUNT + r"以下", "", text)
    for m in re.finditer(AMOUNT + r"以下", rest):
        lows.append(0)
        highs.append(_amount(m.group(1), m.group(2)))
    if not highs:
        return None
    return min(lows), max(highs)


def entry_range(entry) -> tuple[int, int] | None:
    """The 裁量基准 range of a knowledge-base violation entry: explicit penalty_min/penalty_max fields win,
    else the range read from its penalty text and tiers."""
    f = entry.fields or {}
    if f.get("penalty_max") not in (None, ""):
        return int(f.get("penalty_min") or 0), int(f["penalty_max"])
    texts = [f.get("penalty_range") or ""] + [t.get("penalty", "") for t in f.get("tiers") or []]
    found = [r for r in (parse_range(t) for t in texts) if r]
    if not found:
        return None
    return min(r[0] for r in found), max(r[1] for r in found)


def yuan(amount: int | float) -> str:
    return f"{amount / 10000:g} 万元" if amount >= 10000 else f"{amount:g} 元"


# ---------------------------------------------------------------------------------------------
# the checks


def _due(start: date, rule: dict, calendar) -> date:
    days = int(rule.get("days") or 0)
    if rule.get("working"):
        return calendar.add_working_days(start, days) if days else start
    return start + timedelta(days=days)


def check_deadline(case: Case, rule: dict, *, today: date, calendar) -> CheckResult:
    code = rule["code"]
    start, end = getattr(case, rule["from"], None), getattr(case, rule["to"], None)
    a, b = STEP_NAMES.get(rule["from"], rule["from"]), STEP_NAMES.get(rule["to"], rule["to"])
    unit = "个工作日" if rule.get("working") else "日"
    limit = f"{b}应在{a}后 {rule.get('days')} {unit}内" if rule.get("days") else f"{b}应在{a}当日"
    if start is None:
        return CheckResult(code, True, f"不适用：未记录{a}日期")
    due = _due(start, rule, calendar)
    if end is None:
        if today > due:
            return CheckResult(code, False, f"{limit}（{due.isoformat()} 前），已逾期仍未{b}")
        return CheckResult(code, True, f"尚未{b}，期限至 {due.isoformat()}")
    if end < start:
        return CheckResult(code, False, f"{b}日期 {end.isoformat()} 早于{a}日期 {start.isoformat()}，日期有误")
    if end > due:
        late = calendar.working_days_between(due, end) if rule.get("working") else (end - due).days
        return CheckResult(
            code, False, f"{limit}（{due.isoformat()} 前），实际 {end.isoformat()} {b}，超期 {late} {unit}"
        )
    return CheckResult(code, True, f"{limit}，实际 {end.isoformat()} {b}，符合期限")


def check_documents(case: Case, limits: dict) -> CheckResult:
    present = {d.doc_type for d in case.documents}
    missing = [DOC_TYPES.get(t, t) for t in limits.get("required_docs") or [] if t not in present]
    if missing:
        return CheckResult("docs_required", False, "缺少必备文书：" + "、".join(missing))
    return CheckResult("docs_required", True, "必备文书齐全")


def _double_rule(entry, limits: dict) -> dict | None:
    f = entry.fields or {}
    for rule in limits.get("double_penalty") or []:
        if rule.get("article") == f.get("article") and (not rule.get("law") or rule["law"] == f.get("law")):
            return rule
    return None


def _fined(case: Case, kind: str) -> list:
    return [p for p in case.parties if p.kind == kind and (p.penalty_yuan or 0) > 0]


def check_double_penalty(case: Case, limits: dict) -> CheckResult:
    needing = [(v.entry, r) for v in case.violations if (r := _double_rule(v.entry, limits))]
    if not needing:
        return CheckResult("double_penalty", True, "不适用：所涉违法行为不要求一案双罚")
    articles = "、".join(sorted({f"《{(e.fields or {}).get('law', '')}》{r['article']}" for e, r in needing}))
    missing = []
    if not _fined(case, "unit"):
        missing.append("对单位的罚款")
    if not _fined(case, "person"):
        missing.append("对主要负责人（直接负责的主管人员）的罚款")
    if missing:
        return CheckResult("double_penalty", False, f"{articles}要求一案双罚，缺少" + "、".join(missing))
    return CheckResult("double_penalty", True, f"{articles}要求一案双罚，单位和个人均已处罚")


def check_penalty_range(case: Case, limits: dict) -> CheckResult:
    unit_ranges = [(v.entry, entry_range(v.entry)) for v in case.violations]
    known = [(e, r) for e, r in unit_ranges if r]
    person_rules = [r for v in case.violations if (r := _double_rule(v.entry, limits)) and r.get("person_max")]
    problems, notes = [], []
    for p in case.parties:
        amount = p.penalty_yuan or 0
        if amount <= 0:
            continue
        if p.kind == "unit":
            if not known:
                continue
            lo, hi = max(r[0] for _, r in known), sum(r[1] for _, r in known)
        else:
            if not person_rules:
                continue
            lo = max(int(r.get("person_min") or 0) for r in person_rules)
            hi = sum(int(r["person_max"]) for r in person_rules)
        if not lo <= amount <= hi:
            problems.append(f"{p.kind_label}「{p.name}」罚款 {yuan(amount)}，不在裁量基准 {yuan(lo)}–{yuan(hi)} 内")
        else:
            notes.append(f"{p.kind_label}「{p.name}」罚款 {yuan(amount)}（基准 {yuan(lo)}–{yuan(hi)}）")
    if problems:
        return CheckResult("penalty_range", False, "；".join(problems))
    if not notes:
        return CheckResult("penalty_range", True, "不适用：无罚款或所涉违法行为无可比对的罚款幅度")
    return CheckResult("penalty_range", True, "罚款在裁量基准范围内：" + "；".join(notes))


def local_today() -> date:
    """Today in Shanghai (deadlines are counted in local dates whatever the server's time zone)."""
    from datetime import datetime

    from app.engine.runtime import SHANGHAI

    return datetime.now(SHANGHAI).date()


def run_checks(case: Case, limits: dict, *, today: date, calendar=None) -> dict[str, CheckResult]:
    """Every automatic check a rule table supports, keyed by check code."""
    if calendar is None:
        from app.engine.calendar import get_calendar

        calendar = get_calendar()
    out = {}
    for rule in limits.get("deadlines") or []:
        out[rule["code"]] = check_deadline(case, rule, today=today, calendar=calendar)
    out["docs_required"] = check_documents(case, limits)
    out["double_penalty"] = check_double_penalty(case, limits)
    out["penalty_range"] = check_penalty_range(case, limits)
    return out


def suggest_conclusion(total: float, limits: dict) -> str:
    t = limits.get("thresholds") or {}
    if total >= float(t.get("excellent", 90)):
        return "excellent"
    if total >= float(t.get("qualified", 60)):
        return "qualified"
    return "unqualified"
