"""Large exports (instances, audit) run as background jobs with progress (app/tabular/background.py): above
EXPORT_BACKGROUND_ROWS the request queues a job and shows its progress bar; the job reads in chunks,
reports how far it is, writes the XLSX, and only its creator may download the file."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from app.audit import services as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.reports import jobs
from app.reports.models import Job
from tests.conftest import deploy_test_process, page_text, user
from tests.test_process_admin import start_demo


def _finished_job(app, kind: str) -> Job:
    assert jobs.wait_for_jobs(60)
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == kind).order_by(Job.id.desc()))
        db.session.expunge(job)
        return job


def test_large_instance_export_is_a_job_with_progress(app, client_for, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 2)
    with app.app_context():
        deploy_test_process("approval_demo")
    for _ in range(3):
        start_demo(app)
    admin = client_for("procadmin")
    resp = admin.get("/admin/processes/instances/export.xlsx")
    assert resp.status_code == 200 and "text/html" in resp.content_type
    assert "数据较多，导出在后台进行" in page_text(resp) and "后台任务进度" in page_text(resp)
    job = _finished_job(app, "export.instances")
    assert job.status == "done" and job.progress == 100 and job.message == "已导出 3 行，可以下载"
    url = job.result["url"]
    assert re.match(r"^/jobs/exports/\d+-[0-9a-f]{16}\.xlsx\?name=", url)
    bar = page_text(admin.get(f"/jobs/{job.id}/bar"))
    assert "下载结果" in bar and url.split("?")[0] in bar
    got = admin.get(url)
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(got.data)).active.iter_rows()]
    assert rows[0][:3] == ["流程编号", "标题", "流程"] and len(rows) == 4 and rows[1][2] == "测试审批"
    # Someone else cannot fetch the file, nor guess another name.
    assert client_for("auditor").get(url).status_code == 404
    assert admin.get("/jobs/exports/..%2F..%2Fsecret.xlsx").status_code == 404
    # Below the threshold the file comes at once, as before.
    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 100)
    direct = admin.get("/admin/processes/instances/export.xlsx")
    assert direct.status_code == 200 and "spreadsheetml" in direct.content_type


def test_large_audit_export_reports_progress_in_chunks(app, client_for, monkeypatch):
    from app.tabular import background

    monkeypatch.setitem(app.config, "EXPORT_BACKGROUND_ROWS", 2)
    monkeypatch.setattr(background, "CHUNK", 2)
    with app.app_context():
        for i in range(5):
            audit.record("user.create", actor=user("admin"), object_type="user", object_id=i, detail={"login": "x"})
        db.session.commit()
        steps = []
        result = background.export_job(
            lambda p, m="": steps.append((p, m)),
            name="audit",
            user_id=user("auditor").id,
            args={"action": "user.create"},
            fmt="csv",
        )
        auditor_id = user("auditor").id
        db.session.rollback()
    assert result["rows"] == 5 and result["url"].startswith(f"/jobs/exports/{auditor_id}-")
    percents = [p for p, _ in steps]
    assert percents == sorted(percents) and len(steps) >= 4 and "已读取 5 / 5 行" in [m for _, m in steps]
    auditor = client_for("auditor")
    resp = auditor.get("/audit/export.xlsx?action=user.create")
    assert resp.status_code == 200 and "后台任务进度" in page_text(resp)
    job = _finished_job(app, "export.audit")
    assert job.status == "done" and job.result["rows"] == 5
    sheet = load_workbook(io.BytesIO(auditor.get(job.result["url"]).data)).active
    assert sheet.max_row == 6 and "新建账号" in [c.value for c in sheet[2]]
    with app.app_context():  # the export itself is audited when it is asked for
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "audit.export"))
