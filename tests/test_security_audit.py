"""The audit page (filters, paging, audited CSV export, verify button) and tamper detection."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit import checkpoint
from app.audit import services as audit
from app.audit.models import AuditEntry, AuditHead
from app.extensions import db
from tests.conftest import page_text, user


def _fill(n: int = 5) -> None:
    for i in range(n):
        audit.record("test.event", actor=user("hp_officer"), object_type="clue", object_id=i, detail={"n": i})
    audit.record("test.other", actor=user("xh_officer"), object_type="plan", object_id="P-1", detail={"x": "=1+2"})
    db.session.commit()


def _is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def _as_dba():
    """Simulate someone with direct database access (on PostgreSQL: the owner disabling the trigger)."""
    if _is_pg():
        db.session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    try:
        yield
    finally:
        if _is_pg():
            db.session.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))
        db.session.commit()


def test_only_the_audit_administrator_sees_the_page(login_as):
    assert login_as("auditor").get("/audit").status_code == 200
    for login in ("admin", "secadmin", "hp_officer"):
        assert login_as(login).get("/audit").status_code == 403
    nav = page_text(login_as("auditor").get("/"))
    assert "审计日志" in nav


def test_filters_and_paging(app, login_as, ctx):
    _fill(60)
    c = login_as("auditor")
    page = page_text(c.get("/audit?action=test.event"))
    assert "共 60 条" in page and "test.other" not in page.split("<tbody>")[-1]
    assert "第 1 / 2 页" in page
    assert "#59</td>" in page and "#9</td>" not in page
    assert "#9</td>" in page_text(c.get("/audit?action=test.event&page=2"))
    by_actor = page_text(c.get("/audit?actor=xh_off"))
    assert "P-1" in by_actor and "共 1 条" in by_actor
    assert "共 1 条" in page_text(c.get("/audit?object_type=plan&object_id=P-1"))
    assert "共 61 条" in page_text(c.get("/audit?action=test.*"))
    assert "没有符合条件的记录" in page_text(c.get("/audit?date_from=2099-01-01"))
    assert "共 0 条" in page_text(c.get("/audit?date_to=2000-01-01"))


def test_csv_export_is_audited(app, login_as, ctx):
    _fill(3)
    c = login_as("auditor")
    resp = c.get("/audit/export.csv?action=test.other")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeff序号,时间,操作人ID,操作人")
    lines = body.strip().splitlines()
    assert len(lines) == 2 and "xh_officer" in lines[1]
    assert '"{""x"": ""=1+2""}"' in lines[1]  # the detail as JSON (starts with "{", so no formula)
    db.session.expire_all()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).one()
    assert entry.actor_login == "auditor"
    assert entry.detail["filters"] == {"action": "test.other"} and entry.detail["rows"] == 1


def test_csv_cells_cannot_start_formulas():
    from app.tabular.export import safe_text

    assert safe_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_text("@SUM") == "'@SUM" and safe_text("-1") == "'-1" and safe_text("正常") == "正常"


def test_verify_button(login_as, ctx):
    _fill(3)
    c = login_as("auditor")
    resp = c.post("/audit/verify")
    assert resp.status_code == 200 and "审计链完整" in page_text(resp)
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "audit.verify")) == 1


def test_edited_row_is_detected(login_as, ctx):
    _fill(5)
    target = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "test.event").limit(1).offset(2))
    with _as_dba():
        db.session.execute(
            text("UPDATE audit_entries SET detail = :d WHERE id = :id"), {"d": json.dumps({"n": 999}), "id": target}
        )
    result = audit.verify()
    assert not result.ok
    assert f"第 {target} 条记录内容被篡改" in result.problems
    page = page_text(login_as("auditor").post("/audit/verify"))
    assert "审计链校验未通过" in page and f"第 {target} 条记录内容被篡改" in page


def test_deleted_row_in_the_middle_is_detected(ctx):
    _fill(5)
    target = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id).offset(2).limit(1))
    with _as_dba():
        db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": target})
    problems = audit.verify().problems
    assert any(f"第 {target + 1} 条记录的前序链值不符" in p for p in problems)


def test_cut_off_end_is_detected_by_the_checkpoint(app, ctx, runner):
    _fill(5)
    assert audit.verify().ok
    last = db.session.scalar(select(func.max(AuditEntry.id)))
    keep = db.session.scalar(select(AuditEntry).where(AuditEntry.id == last - 1))
    # A careful attacker removes the last row and makes audit_head agree with what is left.
    with _as_dba():
        db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": last})
        db.session.execute(
            text("UPDATE audit_head SET last_id = :i, last_mac = :m WHERE id = 1"), {"i": keep.id, "m": keep.mac}
        )
    result = audit.verify()
    assert not result.ok
    assert result.problems == [f"审计日志末尾记录被删除：外部检查点记到第 {last} 条，表中只到第 {last - 1} 条"]
    cli = runner.invoke(args=["ducha", "audit-verify"])
    assert cli.exit_code == 1 and "末尾记录被删除" in cli.output


def test_checkpoint_follows_each_commit(app, ctx):
    _fill(2)
    path = checkpoint.checkpoint_path()
    mark = checkpoint.read(path, app.config["AUDIT_KEY"])
    head = db.session.get(AuditHead, 1)
    assert (mark.last_id, mark.last_mac) == (head.last_id, head.last_mac)
    # A rolled-back append does not move it.
    audit.record("test.rolled_back")
    db.session.rollback()
    assert checkpoint.read(path, app.config["AUDIT_KEY"]) == mark


def test_forged_or_missing_checkpoint(app, ctx, runner):
    _fill(2)
    path = checkpoint.checkpoint_path()
    data = json.loads(path.read_text())
    data["last_id"] = 1
    path.write_text(json.dumps(data))
    assert "外部检查点文件已损坏或被改动" in audit.verify().problems
    path.unlink()
    result = audit.verify()
    assert not result.ok and "未找到外部检查点文件" in result.problems[0]
    assert runner.invoke(args=["ducha", "audit-verify"]).exit_code == 1
    fixed = runner.invoke(args=["ducha", "audit-verify", "--reset-checkpoint"])
    assert fixed.exit_code == 0, fixed.output
    assert runner.invoke(args=["ducha", "audit-verify"]).exit_code == 0


def test_empty_chain_verifies(ctx, runner):
    result = runner.invoke(args=["ducha", "audit-verify"])
    assert result.exit_code == 0 and "checked 0 entries" in result.output


def test_postgres_refuses_update_and_delete(ctx):
    if not _is_pg():
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    _fill(1)
    for stmt in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(stmt))
        db.session.rollback()
    assert audit.verify().ok
