"""案卷评查 automatic checks on hand-made case files: one passing and one failing case per rule (deadlines on
the working-day calendar, required documents, 一案双罚, 裁量基准), and the Chinese amount parser.
Pure functions: no database."""

from __future__ import annotations

from datetime import date

import pytest

from app.cases import rules
from app.cases.models import Case, CaseDocument, CaseParty, CaseViolation
from app.engine.calendar import WorkCalendar
from app.knowledge.models import KnowledgeEntry

LIMITS = rules.DEFAULTS["general"]["limits"]
PLAIN = WorkCalendar()  # Monday to Friday, no holidays: the arithmetic is easy to follow
TODAY = date(2026, 12, 1)
LAW = "中华人民共和国安全生产法"


def entry(article: str, penalty: str, **extra) -> KnowledgeEntry:
    return KnowledgeEntry(
        library="violation",
        code=f"T-{article}",
        title=article,
        fields={"law": LAW, "article": article, "penalty_range": penalty, **extra},
    )


ART97 = entry(
    "第九十七条", "责令限期改正，处十万元以下罚款；逾期未改正责令停产停业整顿，并处十万元以上二十万元以下罚款"
)
ART94 = entry("第九十四条", "责令限期改正，处二万元以上五万元以下罚款")


def case(*, unit=None, person=None, entries=(), docs=(), **dates) -> Case:
    c = Case(number="T1", title="测试案件", case_type="general")
    if unit is not None:
        c.parties.append(CaseParty(kind="unit", name="上海某化工有限公司", penalty_yuan=unit))
    if person is not None:
        c.parties.append(CaseParty(kind="person", name="张某", penalty_yuan=person))
    for e in entries:
        c.violations.append(CaseViolation(entry=e))
    for d in docs:
        c.documents.append(CaseDocument(doc_type=d, filename=d, content_type=""))
    for k, v in dates.items():
        setattr(c, k, v)
    return c


def deadline(code: str) -> dict:
    return next(d for d in LIMITS["deadlines"] if d["code"] == code)


# ---------------------------------------------------------------------------------------------
# deadlines


def test_filing_within_seven_working_days_passes_and_eight_fails():
    # Discovered Monday 2 March 2026: the 7th working day after is Wednesday 11 March.
    ok = rules.check_deadline(
        case(discovered_on=date(2026, 3, 2), filed_on=date(2026, 3, 11)),
        deadline("deadline_file"),
        today=TODAY,
        calendar=PLAIN,
    )
    assert ok.passed and "符合期限" in ok.message
    late = rules.check_deadline(
        case(discovered_on=date(2026, 3, 2), filed_on=date(2026, 3, 12)),
        deadline("deadline_file"),
        today=TODAY,
        calendar=PLAIN,
    )
    assert not late.passed and "超期 1 个工作日" in late.message and "立案应在发现后 7 个工作日内" in late.message


def test_filing_deadline_counts_official_holidays():
    # 国庆 2026: discovered Wednesday 30 September; 1–7 October are days off, so 7 working days reach 15 October
    # on the real calendar (a plain Monday–Friday calendar would end on 9 October).
    cal = WorkCalendar(holidays=[date(2026, 10, d) for d in range(1, 8)])
    c = case(discovered_on=date(2026, 9, 30), filed_on=date(2026, 10, 14))
    assert rules.check_deadline(c, deadline("deadline_file"), today=TODAY, calendar=cal).passed
    assert not rules.check_deadline(c, deadline("deadline_file"), today=TODAY, calendar=PLAIN).passed


def test_decision_within_ninety_days_of_filing():
    good = case(filed_on=date(2026, 1, 5), decided_on=date(2026, 4, 5))  # day 90
    bad = case(filed_on=date(2026, 1, 5), decided_on=date(2026, 4, 10))
    assert rules.check_deadline(good, deadline("deadline_decide"), today=TODAY, calendar=PLAIN).passed
    result = rules.check_deadline(bad, deadline("deadline_decide"), today=TODAY, calendar=PLAIN)
    assert not result.passed and "超期 5 日" in result.message


def test_service_within_seven_days_of_decision_and_open_steps():
    assert rules.check_deadline(
        case(decided_on=date(2026, 5, 1), served_on=date(2026, 5, 8)),
        deadline("deadline_serve"),
        today=TODAY,
        calendar=PLAIN,
    ).passed
    late = rules.check_deadline(
        case(decided_on=date(2026, 5, 1), served_on=date(2026, 5, 9)),
        deadline("deadline_serve"),
        today=TODAY,
        calendar=PLAIN,
    )
    assert not late.passed
    # Not served yet: overdue once the period is over, pending before it.
    overdue = rules.check_deadline(
        case(decided_on=date(2026, 11, 1)), deadline("deadline_serve"), today=TODAY, calendar=PLAIN
    )
    assert not overdue.passed and "已逾期仍未送达" in overdue.message
    pending = rules.check_deadline(
        case(decided_on=date(2026, 11, 28)), deadline("deadline_serve"), today=TODAY, calendar=PLAIN
    )
    assert pending.passed and "尚未送达" in pending.message
    na = rules.check_deadline(case(), deadline("deadline_serve"), today=TODAY, calendar=PLAIN)
    assert na.passed and na.message.startswith("不适用")
    wrong = rules.check_deadline(
        case(decided_on=date(2026, 5, 9), served_on=date(2026, 5, 1)),
        deadline("deadline_serve"),
        today=TODAY,
        calendar=PLAIN,
    )
    assert not wrong.passed and "日期有误" in wrong.message


def test_deadline_figures_come_from_the_rule_table():
    longer = {**deadline("deadline_serve"), "days": 10}
    c = case(decided_on=date(2026, 5, 1), served_on=date(2026, 5, 9))
    assert rules.check_deadline(c, longer, today=TODAY, calendar=PLAIN).passed


# ---------------------------------------------------------------------------------------------
# documents, 一案双罚, 裁量基准


def test_required_documents():
    full = case(docs=LIMITS["required_docs"])
    assert rules.check_documents(full, LIMITS).passed
    result = rules.check_documents(case(docs=["filing_approval", "decision"]), LIMITS)
    assert not result.passed and result.message == "缺少必备文书：询问笔录、行政处罚告知书、送达回证"


def test_double_penalty_both_parties_fined():
    both = case(unit=50000, person=15000, entries=[ART97])
    result = rules.check_double_penalty(both, LIMITS)
    assert result.passed and "第九十七条" in result.message
    unit_only = rules.check_double_penalty(case(unit=50000, entries=[ART97]), LIMITS)
    assert not unit_only.passed and "缺少对主要负责人（直接负责的主管人员）的罚款" in unit_only.message
    person_zero = rules.check_double_penalty(case(unit=50000, person=0, entries=[ART97]), LIMITS)
    assert not person_zero.passed
    na = rules.check_double_penalty(case(unit=30000, entries=[ART94]), LIMITS)
    assert na.passed and na.message.startswith("不适用")


def test_penalty_inside_the_discretion_range():
    assert rules.check_penalty_range(case(unit=30000, entries=[ART94]), LIMITS).passed
    low = rules.check_penalty_range(case(unit=10000, entries=[ART94]), LIMITS)
    assert not low.passed and "罚款 1 万元，不在裁量基准 2 万元–5 万元 内" in low.message
    high = rules.check_penalty_range(case(unit=250000, entries=[ART97]), LIMITS)
    assert not high.passed and "20 万元" in high.message
    # The person's range of a 双罚 article comes from the rule table (1–2 万元 for 第九十七条).
    person = rules.check_penalty_range(case(unit=50000, person=30000, entries=[ART97]), LIMITS)
    assert not person.passed and "个人（负责人）「张某」罚款 3 万元" in person.message
    explicit = entry("第一百零九条", "见附件", penalty_min=50000, penalty_max=100000)
    assert rules.check_penalty_range(case(unit=60000, entries=[explicit]), LIMITS).passed
    assert rules.check_penalty_range(case(unit=None, entries=[ART94]), LIMITS).message.startswith("不适用")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("处二万元以上五万元以下罚款", (20000, 50000)),
        ("处十万元以下罚款；逾期未改正并处十万元以上二十万元以下罚款", (0, 200000)),
        ("处五千元以上一万元以下罚款", (5000, 10000)),
        ("处5000元以上3万元以下罚款", (5000, 30000)),
        ("处五万元以下罚款；对直接负责的主管人员处五万元以上十万元以下罚款", (0, 50000)),
        ("按事故等级处上一年年收入百分之四十至百分之一百的罚款", None),
    ],
)
def test_parse_range(text, expected):
    assert rules.parse_range(text) == expected


def test_run_checks_and_conclusion_thresholds():
    c = case(
        unit=50000,
        person=15000,
        entries=[ART97],
        docs=LIMITS["required_docs"],
        discovered_on=date(2026, 3, 2),
        filed_on=date(2026, 3, 4),
        decided_on=date(2026, 4, 20),
        served_on=date(2026, 4, 22),
    )
    results = rules.run_checks(c, LIMITS, today=TODAY, calendar=PLAIN)
    assert set(results) == set(rules.CHECKS) and all(r.passed for r in results.values())
    assert rules.suggest_conclusion(95, LIMITS) == "excellent"
    assert rules.suggest_conclusion(75, LIMITS) == "qualified"
    assert rules.suggest_conclusion(59.5, LIMITS) == "unqualified"


def test_referral_overdue_flag():
    from app.cases.models import CaseReferral
    from app.cases.referrals import is_overdue

    r = CaseReferral(referred_on=date(2026, 11, 1), receiver="公安", acceptance="pending")
    assert not is_overdue(r, date(2026, 11, 4), 3) and is_overdue(r, date(2026, 11, 5), 3)
    r.acceptance, r.answered_on = "accepted", date(2026, 11, 3)
    assert not is_overdue(r, date(2026, 12, 1), 3)
    r.answered_on = date(2026, 11, 6)  # answered, but late
    assert is_overdue(r, date(2026, 12, 1), 3)


def test_the_reminder_round_is_registered(app):
    from app.engine.cli import ROUND_JOBS

    assert "cases.qualified_reminders" in ROUND_JOBS
