"""综合查一次 (limits across departments, warnings, over-limit filing approved through BPMN before the
inspection is recorded, roll-ups) and labels (manual with reason and expiry, automatic, query, statistics,
XLSX export), each inside the data scope."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.checklimit.models import OverLimitFiling
from app.engine.runtime import SHANGHAI
from app.extensions import db
from app.grading import services as grading
from app.inbox.models import HumanTask
from app.labels.models import EnterpriseLabel, LabelDef
from app.orgs.models import Organisation
from app.plans.models import Inspection
from tests.conftest import page_text
from tests.enterprise_fixtures import add_record, deploy_area_processes, make_enterprise

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def ents(app):
    with time_machine.travel(NOW, tick=False), app.app_context():
        deploy_area_processes(app)
        d = make_enterprise("310101", 1, "上海申江化工贸易有限公司", grade="D")  # limit 1
        c = make_enterprise("310101", 2, "上海恒泰建材有限公司", grade="C", industry="JC")
        x = make_enterprise("310104", 3, "上海徐汇冷链物流有限公司", grade="C", industry="SM")
        section = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ-ZD1"))
        db.session.add(Inspection(enterprise_id=d.id, org_id=section.id, inspected_on=date(2026, 3, 2), kind="other"))
        add_record(d, "accident", date(2026, 2, 1), "一般事故", {"injuries": 1})
        add_record(x, "major_hazard", date(2026, 1, 5), "三级重大危险源", {"level": 3})
        db.session.commit()
        return {"d": (d.id, d.credit_code), "c": (c.id, c.credit_code), "x": (x.id, x.credit_code)}


def test_limits_count_across_departments_and_warn(app, ents, client_for):
    c = client_for("hp_officer")
    with time_machine.travel(NOW, tick=False):
        warn = c.get(f"/checks/check?enterprise={ents['d'][1]}").get_data(as_text=True)
        assert "已被各部门检查 1 次" in warn and "超限检查报备" in warn  # the city section's visit counts
        ok = c.get(f"/checks/check?enterprise={ents['c'][1]}").get_data(as_text=True)
        assert "已检查 0 次" in ok
        # Under the limit: recorded at once.
        resp = c.post("/checks/inspections", data={"enterprise": ents["c"][1], "inspected_on": "2026-06-15"})
        assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(Inspection.id)).where(Inspection.enterprise_id == ents["c"][0])) == 1
    # The administrators' table changes the limit (and the plan module reads the same limit).
    assert (
        client_for("procadmin").post("/checks/limits", data={"A": "6", "B": "4", "C": "1", "D": "1"}).status_code == 302
    )
    with app.app_context():
        from app.plans.services import annual_limit

        assert annual_limit("C") == 1
    bad = client_for("procadmin").post("/checks/limits", data={"A": "x", "B": "4", "C": "1", "D": "1"})
    assert bad.status_code == 422 and "年度检查上限填写有误" in page_text(bad)


def test_over_limit_inspection_needs_an_approved_filing(app, ents, client_for):
    c = client_for("hp_officer")
    with time_machine.travel(NOW, tick=False):
        short = c.post(
            "/checks/inspections", data={"enterprise": ents["d"][1], "inspected_on": "2026-06-16", "reason": "太短"}
        )
        assert short.status_code == 422 and "不少于 10 个字" in page_text(short)
        resp = c.post(
            "/checks/inspections",
            data={
                "enterprise": ents["d"][1],
                "inspected_on": "2026-06-16",
                "reason": "群众反复投诉夜间违规装卸危险化学品，需现场核查并固定证据",
            },
        )
        assert resp.status_code == 302
    with app.app_context():
        filing = db.session.scalar(select(OverLimitFiling))
        assert filing.status == "pending" and filing.count_at_filing == 1 and filing.limit_at_filing == 1
        assert db.session.scalar(select(func.count(Inspection.id)).where(Inspection.enterprise_id == ents["d"][0])) == 1
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "approve"))
    assert "超限检查报备：上海申江化工贸易有限公司" in page_text(client_for("hp_leader").get("/inbox/"))
    assert "上海申江化工贸易有限公司" not in page_text(client_for("xh_leader").get("/inbox/"))
    resp = client_for("hp_leader").post(f"/inbox/tasks/{task_id}/act", data={"action": "approve", "comment": "同意"})
    assert resp.status_code == 302
    with app.app_context():
        filing = db.session.scalar(select(OverLimitFiling))
        assert filing.status == "approved" and filing.inspection_id
        row = db.session.get(Inspection, filing.inspection_id)
        assert row.kind == "overlimit" and row.inspected_on == date(2026, 6, 16)
    with time_machine.travel(NOW, tick=False):
        text = page_text(client_for("leader").get("/checks/"))
    assert "超限" in text and "已批准并登记" in text


def test_rejected_filing_records_nothing(app, ents, client_for):
    with time_machine.travel(NOW, tick=False):
        client_for("hp_officer").post(
            "/checks/inspections",
            data={
                "enterprise": ents["d"][1],
                "inspected_on": "2026-06-16",
                "reason": "怀疑企业存在违规动火作业，需要复查",
            },
        )
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.status == "open", HumanTask.step == "approve"))
    client_for("hp_leader").post(f"/inbox/tasks/{task_id}/act", data={"action": "reject", "comment": "近期已查，暂缓"})
    with app.app_context():
        filing = db.session.scalar(select(OverLimitFiling))
        assert filing.status == "rejected" and filing.inspection_id is None
        assert db.session.scalar(select(func.count(Inspection.id)).where(Inspection.enterprise_id == ents["d"][0])) == 1


def test_manual_labels_reason_expiry_and_scope(app, ents, client_for):
    with app.app_context():
        db.session.add(LabelDef(code="night_work", name="夜间作业", category="risk", colour="danger"))
        db.session.commit()
        label_id = db.session.scalar(select(LabelDef.id))
    c = client_for("hp_officer")
    no_reason = c.post(f"/enterprises/{ents['d'][0]}/labels", data={"label_id": label_id, "reason": ""})
    assert no_reason.status_code == 422 and "理由" in page_text(no_reason)
    with time_machine.travel(NOW, tick=False):
        ok = c.post(
            f"/enterprises/{ents['d'][0]}/labels",
            data={"label_id": label_id, "reason": "群众反映夜间装卸", "expires_on": "2026-06-30"},
        )
        assert ok.status_code == 302
        assert "夜间作业" in page_text(c.get(f"/enterprises/{ents['d'][0]}"))
    assert (
        client_for("xh_officer")
        .post(f"/enterprises/{ents['d'][0]}/labels", data={"label_id": label_id, "reason": "x"})
        .status_code
        == 404
    )
    from app.labels.services import expire_labels

    with app.app_context():
        assert expire_labels(date(2026, 7, 1)) == 1
        db.session.commit()
        row = db.session.scalar(select(EnterpriseLabel))
        assert row.removed_reason == "已过有效期"


def test_auto_labels_query_statistics_and_xlsx_export(app, ents, client_for):
    with time_machine.travel(NOW, tick=False), app.app_context():
        grading.recompute(reason="测试")
        db.session.add(
            LabelDef(
                code="had_accident", name="近三年有事故", category="risk", colour="danger", rule="accidents_3y > 0"
            )
        )
        db.session.add(
            LabelDef(code="hazard", name="重大危险源", category="risk", colour="warning", rule="major_hazard > 0")
        )
        db.session.flush()
        from app.labels.services import apply_auto_labels

        assert apply_auto_labels(today=NOW.date()) == {"added": 2, "removed": 0}
        assert apply_auto_labels(today=NOW.date()) == {"added": 0, "removed": 0}  # idempotent
        db.session.commit()
        ids = {lab.code: lab.id for lab in db.session.scalars(select(LabelDef))}
    leader = client_for("leader")
    with time_machine.travel(NOW, tick=False):
        any_text = page_text(leader.get(f"/labels/?label={ids['had_accident']}&label={ids['hazard']}&match=any"))
        all_text = page_text(leader.get(f"/labels/?label={ids['had_accident']}&label={ids['hazard']}&match=all"))
        scoped = page_text(client_for("hp_officer").get(f"/labels/?label={ids['hazard']}"))
        export = leader.get(f"/labels/export.xlsx?label={ids['had_accident']}&label={ids['hazard']}&match=any")
    assert "申江化工" in any_text and "徐汇冷链" in any_text and "恒泰建材" not in any_text
    assert "申江化工" not in all_text.split("label-results")[1].split("label-stats")[0]
    assert "徐汇冷链" not in scoped.split("label-results")[1].split("label-stats")[0]
    assert "label-stats" in any_text and "黄浦" in any_text and "徐汇" in any_text
    assert export.status_code == 200 and "xlsx" in export.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:3] == ["企业名称", "统一社会信用代码", "所属区"]
    assert sorted(r[0] for r in rows[1:]) == ["上海徐汇冷链物流有限公司", "上海申江化工贸易有限公司"]
    assert any(r[5] == "近三年有事故" for r in rows[1:])


def test_plan_rollup_by_month_quarter_year(app, ents, client_for):
    from app.plans.models import MonthlyPlan, PlanItem

    with app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        for month, n_done in ((4, 1), (5, 0)):
            plan = MonthlyPlan(org_id=hp.id, year=2026, month=month, title=f"{month}月计划", status="published")
            db.session.add(plan)
            db.session.flush()
            db.session.add(
                PlanItem(plan_id=plan.id, enterprise_id=ents["c"][0], status="done" if n_done else "planned")
            )
            db.session.add(PlanItem(plan_id=plan.id, enterprise_id=ents["d"][0], over_limit=True))
        db.session.commit()

    def rollup(login, period):
        text = client_for(login).get(f"/checks/?year=2026&period={period}").get_data(as_text=True)
        table = text.split('id="rollup"')[1].split("</table>")[0]
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))

    month = rollup("leader", "month")
    assert "2026年4月 黄浦区 2 1 1" in month and "2026年5月 黄浦区 2 0 1" in month
    assert "2026年第2季度 黄浦区 4 1 2" in rollup("hp_leader", "quarter")
    assert "2026年 黄浦区 4 1 2" in rollup("leader", "year")
    assert "黄浦" not in rollup("xh_leader", "year")


def test_plan_mark_done_over_the_limit_is_refused(app, ents):
    from app.errors import ValidationFailed
    from app.plans.models import MonthlyPlan, PlanItem
    from app.plans.services import mark_done
    from tests.conftest import user

    with time_machine.travel(NOW, tick=False), app.app_context():
        hp = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
        plan = MonthlyPlan(org_id=hp.id, year=2026, month=6, title="6月计划", status="published")
        db.session.add(plan)
        db.session.flush()
        item = PlanItem(plan_id=plan.id, enterprise_id=ents["d"][0])
        db.session.add(item)
        db.session.flush()
        with pytest.raises(ValidationFailed, match="超限检查报备"):
            mark_done(item, user("hp_officer"), on=NOW.date())  # today: a later date is refused as such


def test_bad_input_gets_a_chinese_message_and_nothing_is_recorded(app, ents, client_for):
    c = client_for("hp_officer")
    bad_date = c.post("/checks/inspections", data={"enterprise": ents["c"][1], "inspected_on": "2026-13-45"})
    assert bad_date.status_code == 422 and "检查日期格式应为 YYYY-MM-DD" in page_text(bad_date)
    bad_year = c.get("/checks/?year=abc")
    assert bad_year.status_code == 422 and "年度应为" in page_text(bad_year)
    unknown = c.post("/checks/inspections", data={"enterprise": "913101010000000000"})
    assert unknown.status_code == 422 and "统一社会信用代码" in page_text(unknown)
    bad_label = c.post(f"/enterprises/{ents['c'][0]}/labels", data={"label_id": "x", "reason": "理由"})
    assert bad_label.status_code == 422
    bad_months = client_for("procadmin").get("/triggers/rules/1?months=99")
    assert bad_months.status_code in (404, 422)
    with app.app_context():
        assert db.session.scalar(select(func.count(Inspection.id)).where(Inspection.enterprise_id == ents["c"][0])) == 0
        assert db.session.scalar(select(func.count(EnterpriseLabel.id))) == 0
    with time_machine.travel(NOW, tick=False):
        text = page_text(client_for("leader").get("/checks/?year=2026"))
    assert "check-districts" in text and "黄浦区" in text


def test_automatic_label_changes_leave_change_records(app, ents):
    """Labels given or taken by a rule, and labels that expire, leave a 标签变化 record on the enterprise
    (the dossier shows it; trigger rules over label changes see it) like a manual change does."""
    from app.enterprises.models import EnterpriseRecord
    from app.labels.services import apply_auto_labels, expire_labels

    def changes(eid):
        return list(
            db.session.scalars(
                select(EnterpriseRecord)
                .where(EnterpriseRecord.enterprise_id == eid, EnterpriseRecord.kind == "label_change")
                .order_by(EnterpriseRecord.id)
            )
        )

    with time_machine.travel(NOW, tick=False), app.app_context():
        grading.recompute(reason="测试")
        rule = LabelDef(code="hazard", name="重大危险源", category="risk", colour="warning", rule="major_hazard > 0")
        db.session.add(rule)
        db.session.flush()
        assert apply_auto_labels(today=NOW.date()) == {"added": 1, "removed": 0}
        (rec,) = changes(ents["x"][0])
        assert rec.title.startswith("自动添加标签「重大危险源」") and rec.occurred_on == NOW.date()
        assert rec.value["action"] == "add" and rec.value["auto"] is True and rec.source == "系统：自动标签规则"
        assert changes(ents["d"][0]) == [] and changes(ents["c"][0]) == []
        assert apply_auto_labels(today=NOW.date()) == {"added": 0, "removed": 0}
        assert len(changes(ents["x"][0])) == 1  # nothing changed, no new record
        rule.rule = "major_hazard > 5"  # the rule no longer holds: the label is taken away, with a record
        assert apply_auto_labels(today=NOW.date()) == {"added": 0, "removed": 1}
        removed = changes(ents["x"][0])[-1]
        assert removed.value["action"] == "remove" and removed.title == "自动移除标签「重大危险源」：规则不再满足"
        # An expiring manual label leaves its record too.
        manual = LabelDef(code="night", name="夜间作业", category="risk", colour="danger")
        db.session.add(manual)
        db.session.flush()
        db.session.add(
            EnterpriseLabel(
                enterprise_id=ents["c"][0],
                label_id=manual.id,
                source="manual",
                reason="x",
                expires_on=date(2026, 6, 30),
            )
        )
        db.session.flush()
        assert expire_labels(date(2026, 7, 1)) == 1
        (expired,) = changes(ents["c"][0])
        assert expired.title == "自动移除标签「夜间作业」：已过有效期" and expired.occurred_on == date(2026, 7, 1)
        db.session.rollback()


def test_inspections_export_xlsx_in_scope_with_names(app, ents, client_for):
    """检查记录 export: Chinese headers, names for kinds, districts and organisations, typed dates, the formula
    guard, only what the user's scope holds, and an audit entry."""
    from app.audit.models import AuditEntry

    with app.app_context():
        section = db.session.scalar(select(Organisation).where(Organisation.code == "SHYJ-ZD1"))
        db.session.add(
            Inspection(
                enterprise_id=ents["x"][0], org_id=section.id, inspected_on=date(2026, 4, 8), kind="plan", note="=1+1"
            )
        )
        db.session.commit()
    resp = client_for("leader").get("/checks/inspections/export.xlsx?year=2026")
    assert resp.status_code == 200 and ".xlsx" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:4] == ["检查日期", "企业名称", "统一社会信用代码", "所属区"]
    assert [r[1] for r in rows[1:]] == ["上海徐汇冷链物流有限公司", "上海申江化工贸易有限公司"]  # newest first
    assert rows[1][0].date() == date(2026, 4, 8) and "徐汇" in rows[1][3] and "黄浦" in rows[2][3]
    assert rows[1][6] == "计划检查" and rows[2][6] == "其他检查" and rows[1][4] == "C 级"
    assert rows[1][7] == "=1+1" and sheet.cell(row=2, column=8).data_type == "s"  # text, never a formula
    assert "SHYJ" not in str(rows) and "plan" not in {r[6] for r in rows[1:]}
    scoped = load_workbook(
        io.BytesIO(client_for("hp_officer").get("/checks/inspections/export.xlsx?year=2026").data)
    ).active
    assert [r[1].value for r in scoped.iter_rows(min_row=2)] == ["上海申江化工贸易有限公司"]
    assert client_for("hp_officer").get("/checks/inspections/export.xlsx?year=abc").status_code == 422
    assert "inspections-export" in page_text(client_for("leader").get("/checks/"))
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inspection.export"))
        assert entry is not None and entry.detail["rows"] >= 1
