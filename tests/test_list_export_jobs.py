"""Clues, plans and alerts exports: above EXPORT_BACKGROUND_ROWS a background job with progress (the path the
instance and audit exports take, app/tabular/background.py), scoped by the data scope of the person who asked;
and the retention of export files (app/ops/retention.py purge_exports, a scheduler round job)."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.alerts import services as alert_services
from app.audit.models import AuditEntry
from app.clues.models import Clue
from app.engine.cli import ROUND_JOBS
from app.extensions import db
from app.models_base import utcnow
from app.ops import retention
from app.orgs.models import Organisation
from app.plans.models import MonthlyPlan
from app.reports import jobs
from app.reports.models import Job
from app.tabular import background
from tests.conftest import page_text, user


def _org(code):
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def _seed_clues():
    for code, n in (("310101", 3), ("310104", 2)):
        for i in range(n):
            db.session.add(
                Clue(source="hotline", content=f"{code} 线索 {i}", district_org_id=_org(code).id, status="accepting")
            )


def _seed_plans():
    for code, months in (("310101", (3, 4, 5)), ("310104", (3,))):
        for m in months:
            db.session.add(
                MonthlyPlan(org_id=_org(code).id, year=2026, month=m, title=f"{code} {m}月计划", status="published")
            )


def _seed_alerts():
    # raise_alert keeps one open alert per kind and object: one kind each
    for code, n in (("310101", 3), ("310104", 2)):
        for kind in ("task_overdue", "clue_stalled", "clue_overdue")[:n]:
            alert_services.raise_alert(kind, org=_org(code), title=f"{code} 预警 {kind}", notify_owner=False)


def _seed_cases():
    from app.cases.models import Case

    for code, n in (("310101", 3), ("310104", 2)):
        for i in range(n):
            db.session.add(Case(number=f"{code}-案-{i}", title=f"{code} 案件 {i}", org_id=_org(code).id))


LISTS = {
    "cases": ("/cases/export.xlsx", "hp_officer", _seed_cases, "案件编号", "export.cases", "案件"),
    "clues": ("/clues/export.xlsx", "hp_officer", _seed_clues, "线索编号", "export.clues", "线索"),
    "plans": ("/plans/export.xlsx", "hp_officer", _seed_plans, "计划", "export.plans", "月度计划"),
    "alerts": ("/alerts/export.xlsx?tab=open", "hp_leader", _seed_alerts, "类型", "export.alerts", "异常预警"),
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_large_list_export_is_a_scoped_background_job(app, client_for, monkeypatch, name):
    url, login, seed, header, kind, title = LISTS[name]
    with app.app_context():
        seed()
        db.session.commit()
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 2)
    c = client_for(login)
    resp = c.get(url)
    assert resp.status_code == 200 and "text/html" in resp.content_type
    text = page_text(resp)
    assert "数据较多，导出在后台进行" in text and f"导出：{title}" in text and "后台任务进度" in text
    assert jobs.wait_for_jobs(60)
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == kind).order_by(Job.id.desc()))
        assert job.status == "done" and job.progress == 100, job.message
        assert job.message == "已导出 3 行，可以下载"  # the 黄浦 rows only: 徐汇's are outside the scope
        link = job.result["url"]
    got = c.get(link)
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    rows = [[cell.value for cell in r] for r in load_workbook(io.BytesIO(got.data)).active.iter_rows()]
    assert rows[0][0] == header and len(rows) == 4
    assert all("310104" not in " ".join(str(v) for v in r if v) for r in rows[1:])
    assert client_for("xh_officer").get(link).status_code == 404  # the file is its creator's only
    # below the threshold the file comes at once, as before
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 100)
    direct = c.get(url)
    assert direct.status_code == 200 and direct.mimetype.endswith("spreadsheetml.sheet")


def test_background_clue_export_is_audited_when_asked(app, client_for, monkeypatch):
    with app.app_context():
        _seed_clues()
        db.session.commit()
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 1)
    client_for("hp_officer").get("/clues/export.csv")
    assert jobs.wait_for_jobs(60)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "clue.export"))
        assert entry.detail == {"rows": 3, "background": True} and entry.actor_login == "hp_officer"


def _export_file(app, user_id: int, age_days: float) -> str:
    import secrets

    from app.storage import files, get_storage

    name = f"{user_id}-{secrets.token_hex(8)}.xlsx"
    get_storage().put(files.EXPORTS + name, b"PK-test")
    path = get_storage().local_path(files.EXPORTS + name)
    if path is None:
        pytest.skip("export file times need the file store (DUCHA_TEST_STORAGE=s3 removes by the job's age)")
    stamp = (utcnow() - timedelta(days=age_days)).timestamp()
    os.utime(path, (stamp, stamp))
    return name


def test_old_export_files_are_removed_by_the_retention_round(app, client_for):
    assert "retention.exports" in ROUND_JOBS
    with app.app_context():
        uid = user("hp_officer").id
        old, fresh = _export_file(app, uid, 8), _export_file(app, uid, 1)
        job = Job(
            kind="export.clues",
            status="done",
            progress=100,
            message="已导出 3 行，可以下载",
            result={"url": f"/jobs/exports/{old}?name=x", "rows": 3},
            created_by_id=uid,
            finished_at=utcnow() - timedelta(days=8),
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        assert retention.purge_exports(utcnow(), days=0) == 0  # 0 keeps everything
        n = retention.purge_exports(utcnow())  # EXPORT_RETENTION_DAYS, default 7
        db.session.commit()
        assert n == 1
        assert not background.export_exists(old) and background.export_exists(fresh)
        job = db.session.get(Job, job_id)
        assert job.result_url is None and job.message == retention.EXPORT_EXPIRED and job.result["rows"] == 3
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.purged")).all()
        assert len(entries) == 1 and entries[0].detail["removed"] == 1 and entries[0].detail["days"] == 7
        # idempotent: a second round removes nothing and records nothing
        assert retention.purge_exports(utcnow()) == 0
        db.session.commit()
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.purged")).all()) == 1
    # a late download of the removed file says so in Chinese; the fresh one still downloads
    resp = client_for("hp_officer").get(f"/jobs/exports/{old}")
    assert resp.status_code == 404 and "已被清理" in page_text(resp)
    assert client_for("hp_officer").get(f"/jobs/exports/{fresh}").status_code == 200


def test_the_round_job_and_the_command_purge_exports(app, runner):
    with app.app_context():
        name = _export_file(app, user("hp_officer").id, 30)
        ROUND_JOBS["retention.exports"](utcnow())
        db.session.commit()
        assert not background.export_exists(name)
        name = _export_file(app, user("hp_officer").id, 30)
    result = runner.invoke(args=["ducha", "retention"])
    assert result.exit_code == 0 and "export files removed: 1" in result.output


def test_a_negative_export_retention_is_refused_at_start():
    from app.ops.settings_check import problems

    assert "DUCHA_EXPORT_RETENTION_DAYS must be 0 (keep) or a number of days" in problems({"EXPORT_RETENTION_DAYS": -1})
    assert not [p for p in problems({"EXPORT_RETENTION_DAYS": 0}) if "EXPORT" in p]
