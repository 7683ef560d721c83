"""案卷评查 leftovers: the rules page never writes on GET (defaults come from the seed or an admin's POST), the
violations picked with the 知识智库 picker on the case form (added to the case, recorded as used), and the
shared service-task helper (engine.services.Linked)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.cases.models import Case, ReviewRuleSet
from app.engine.services import Linked
from app.errors import NotFound
from app.extensions import db
from app.knowledge.models import KnowledgeEntry, KnowledgeUsage
from app.orgs.models import Organisation
from tests.cases_support import GOOD, make_entries
from tests.conftest import page_text


def _rule_sets() -> int:
    return db.session.scalar(select(func.count(ReviewRuleSet.id)))


def test_rules_pages_write_nothing_on_get_and_defaults_come_by_post(app, client_for):
    chief = client_for("chief")
    page = chief.get("/cases/rules")
    text = page_text(page)
    assert page.status_code == 200 and "简易程序、一般程序还没有评查规则" in text and "发布默认评查规则" in text
    edit = chief.get("/cases/rules/general/edit")
    assert edit.status_code == 200 and "立案期限" in page_text(edit)  # the form starts from the defaults
    with app.app_context():
        assert _rule_sets() == 0  # neither GET wrote anything
    assert client_for("hp_officer").post("/cases/rules/defaults").status_code == 403  # administrators only
    made = chief.post("/cases/rules/defaults", follow_redirects=True)
    assert "已发布默认评查规则：一般程序、简易程序" in page_text(made)
    with app.app_context():
        rows = db.session.scalars(select(ReviewRuleSet).order_by(ReviewRuleSet.case_type)).all()
        assert [(r.case_type, r.version, r.status) for r in rows] == [
            ("general", 1, "published"),
            ("simple", 1, "published"),
        ]
    again = chief.post("/cases/rules/defaults", follow_redirects=True)
    assert "各程序类型已有评查规则" in page_text(again)
    with app.app_context():
        assert _rule_sets() == 2
    assert "还没有评查规则" not in page_text(chief.get("/cases/rules"))


def test_seed_reference_publishes_the_default_checklists_once(app, runner):
    result = runner.invoke(args=["ducha", "seed-reference"])
    assert result.exit_code == 0 and "case checklists=2" in result.output
    again = runner.invoke(args=["ducha", "seed-reference"])
    assert again.exit_code == 0 and "case checklists=0" in again.output
    with app.app_context():
        assert _rule_sets() == 2


@pytest.fixture
def entries(app):
    """The two violations of cases_support and a guide; their ids by code (the guide as "guide")."""
    with app.app_context():
        made = make_entries()
        city = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ"))
        guide = KnowledgeEntry(library="guide", title="安全培训合规指引", status="published", org_id=city.id, fields={})
        db.session.add(guide)
        db.session.commit()
        return {**{code: e.id for code, e in made.items()}, "guide": guide.id}


def test_violations_picked_on_the_case_form_are_added_and_recorded(app, client_for, entries):
    officer = client_for("hp_officer")
    form = officer.get("/cases/new")
    assert 'data-knowledge-picker="/knowledge/suggest"' in form.get_data(as_text=True)
    picked = f"{entries['T-94']},{entries['guide']},999999"
    resp = officer.post("/cases/new", data={**GOOD, "violations": "T-97", "knowledge_ids": picked})
    assert resp.status_code == 302, page_text(resp)
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert sorted(v.entry.code for v in case.violations) == ["T-94", "T-97"]  # the guide is not a violation
        uses = db.session.scalars(select(KnowledgeUsage).order_by(KnowledgeUsage.entry_id)).all()
        assert [(u.entry_id, u.context, u.ref, u.url) for u in uses] == [
            (entries["T-94"], "case", f"案件 {GOOD['number']}", f"/cases/{case.id}"),
            (entries["guide"], "case", f"案件 {GOOD['number']}", f"/cases/{case.id}"),
        ]  # the unknown id is passed over
    # A refused form keeps the picks and shows the merged codes; nothing is recorded for it.
    bad = officer.post(
        "/cases/new", data={**GOOD, "number": "", "violations": "", "knowledge_ids": str(entries["T-97"])}
    )
    text = bad.get_data(as_text=True)
    assert (
        bad.status_code == 422 and 'value="T-97"' in text and f'name="knowledge_ids" value="{entries["T-97"]}"' in text
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(KnowledgeUsage.id))) == 2


def test_linked_settle_loads_sets_stamps_and_audits(app):
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        case = Case(number="L-1", title="服务任务助手", org_id=org.id)
        db.session.add(case)
        db.session.commit()
        cases = Linked(Case, "case_id", "案件")
        assert cases({"case_id": str(case.id)}) is case
        before = case.updated_at
        row = cases.settle({"case_id": case.id}, "closed", stamp="updated_at", audit="case.settled", facts="已办结")
        db.session.commit()
        assert row is case and (case.status, case.facts) == ("closed", "已办结") and case.updated_at > before
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.settled"))
        assert (entry.object_type, entry.object_id, entry.actor_login) == ("cases", str(case.id), None)
        with pytest.raises(NotFound, match="流程关联的案件不存在"):
            cases.settle({"case_id": 0}, "open")
        with pytest.raises(NotFound, match="流程关联的案件不存在"):
            cases({})
