"""The one code -> name mapping (app/names.py): roles, organisations, users, processes, steps, permissions,
audit actions and details; unknown codes come back unchanged; the audit page and export use it."""

from __future__ import annotations

from app import names
from app.audit import services as audit
from app.extensions import db
from tests.conftest import deploy_test_process, page_text, user


def test_codes_become_names(ctx):
    deploy_test_process("approval_demo")
    assert names.role("district_leader") == "大队领导"
    assert names.roles("district_leader,city_leader") == "大队领导、总队领导"
    assert names.org("310101") == "黄浦区应急管理局执法大队" or "黄浦" in names.org("310101")
    assert names.user("hp_officer") == "黄浦队员"
    assert names.process("approval_demo") == "测试审批"
    assert names.step("approval_demo", "review") == "大队审核"
    assert names.permission("audit.read") == "审计日志查看"
    assert names.audit_action("user.create") == "新建账号"
    assert names.audit_action("task.urge") == "待办催办"
    assert names.audit_action("process.deploy") == "流程部署"
    assert names.object_type("instance") == "流程实例"
    # Unknown codes are kept: nothing is lost.
    assert names.role("nope") == "nope" and names.user("ghost") == "ghost" and names.audit_action("x.y") == "x.y"
    assert names.step("approval_demo", "no_such_step") == "no_such_step"


def test_audit_detail_speaks_names(ctx):
    deploy_test_process("approval_demo")
    pairs = dict(
        p[:2]
        for p in names.detail(
            {
                "roles": ["district_leader", "city_leader"],
                "login": "hp_officer",
                "process_id": "approval_demo",
                "step": "review",
                "org": "310104",
            }
        )
    )
    assert pairs["角色"] == "大队领导、总队领导" and pairs["账号"] == "黄浦队员"
    assert pairs["流程"] == "测试审批" and pairs["步骤"] == "大队审核" and "徐汇" in pairs["机构"]


def test_audit_page_and_export_show_names(app, login_as, ctx):
    audit.record(
        "user.create",
        actor=user("admin"),
        object_type="user",
        object_id=7,
        detail={"login": "xh_officer", "roles": ["district_officer"]},
    )
    db.session.commit()
    c = login_as("auditor")
    page = page_text(c.get("/audit"))
    body = page.split("<tbody>")[-1]
    assert "新建账号" in body and "系统管理员" in body and "大队执法人员" in body and "徐汇队员" in body
    assert "user.create" not in body.replace('title="user.create"', "") and "district_officer" not in body
    rows = c.get("/audit/export.csv?action=user.create").get_data(as_text=True).splitlines()
    assert "新建账号" in rows[1] and "大队执法人员" in rows[1] and "user.create" in rows[1]  # the code kept too


def test_field_labels_of_an_instance_and_of_nothing(ctx):
    labels = names.FieldLabels(
        {"f.schema.json": '{"properties": {"risk": {"title": "风险", "oneOf": [{"const": "high", "title": "高"}]}}}'}
    )
    assert (
        labels.key("risk") == "风险" and labels.value("risk", "high") == "高" and labels.value("risk", None) == "（空）"
    )
    assert not labels.known("other") and labels.value("other", True) == "是"
    assert names.field_labels(None).known("risk") is False  # pages with a history but no instance


def test_enterprise_supervision_codes_become_names(ctx):
    """Trigger rules, labels, notification kinds and the supervision modules' audit details speak names."""
    from app.labels.models import LabelDef
    from app.triggers.models import TriggerRule

    for version, name in ((1, "收到投诉"), (2, "收到投诉举报")):
        db.session.add(
            TriggerRule(code="complaint_any", version=version, name=name, record_kind="complaint", condition="True")
        )
    hazard = LabelDef(code="hazard", name="重大危险源", category="risk", colour="warning")
    db.session.add(hazard)
    db.session.flush()
    assert names.trigger_rule("complaint_any") == "收到投诉举报"  # the latest version's name
    assert names.trigger_rules(["complaint_any", "gone"]) == "收到投诉举报、gone"
    assert names.label("hazard") == "重大危险源" and names.label(hazard.id) == "重大危险源"
    assert names.notification_kind("clue_returned") == "线索被退回" and names.notification_kind("x_y") == "通知"
    assert names.audit_action("label.add") == "添加企业标签"
    assert names.audit_action("trigger.rule.publish") == "发布触发规则"
    assert names.object_type("grade_model") == "分级模型"
    pairs = dict(
        p[:2]
        for p in names.detail(
            {"label": "hazard", "labels": [hazard.id], "outcome": "problem", "by": "hp_leader", "match": "all"}
        )
    )
    assert pairs["标签"] == "重大危险源" and pairs["处置结果"] == "发现问题并已处理"
    assert pairs["办理人"] == user("hp_leader").name != "hp_leader"
    assert pairs["匹配方式"] == "含全部"
    assert names.outcome("partly") == "部分属实" and names.outcome("no_problem") == "未发现问题"
