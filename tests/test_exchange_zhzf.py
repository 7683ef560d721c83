"""R2.6.1 统一综合执法系统回流 against its fake (a real process on loopback): paging, incremental pulls,
idempotence, a broken page, a timeout, an auth failure, schema drift, duplicates, rejected rows and their
re-processing, reconciliation with an alert for the data administrator, and the admin page's job."""

from __future__ import annotations

from sqlalchemy import func, select

from app.alerts.models import Alert
from app.enterprises.models import Enterprise
from app.exchange.fakes.data import credit_code
from app.exchange.models import ExchangeCursor, ExchangeRecord, ExchangeReject, Reconciliation
from app.extensions import db
from app.inbox.models import Notification
from app.orgs.models import Organisation
from tests import exchange_support
from tests.exchange_support import make_user, pull

fake, fake_process = exchange_support.fake, exchange_support.fake_process  # the fixtures

SNAPSHOT = (ExchangeRecord.source_id, ExchangeRecord.version, ExchangeRecord.checksum, ExchangeRecord.updated_at)


def _snapshot():
    return db.session.execute(select(*SNAPSHOT).order_by(ExchangeRecord.source_id)).all()


def _forget_cursor():
    db.session.query(ExchangeCursor).delete()
    db.session.commit()


def test_pull_pages_links_and_running_twice_changes_nothing(app, ctx, fake):
    org = db.session.scalar(select(Organisation).where(Organisation.code == "310101"))
    db.session.add(Enterprise(credit_code=credit_code(1), name="上海测试001化工有限公司", org_id=org.id))
    db.session.commit()
    run = pull("zhzf", "party")
    assert (run.status, run.pages, run.fetched, run.inserted, run.rejected) == ("done", 2, 30, 30, 0)
    run = pull("zhzf", "inspection")
    assert (run.status, run.pages, run.fetched, run.inserted) == ("done", 3, 60, 60)
    assert run.duration_ms is not None and run.cursor_to
    party = db.session.scalar(select(ExchangeRecord).where(ExchangeRecord.source_id == "P0001"))
    assert party.enterprise_id is not None and party.data["name"] == "上海测试001化工有限公司"
    linked = db.session.scalar(
        select(func.count()).where(ExchangeRecord.dataset == "inspection", ExchangeRecord.org_id.is_not(None))
    )
    assert linked == 60  # every inspection names a district brigade we hold
    before = _snapshot()
    again = pull("zhzf", "inspection")  # incremental: nothing changed since the cursor
    assert (again.fetched, again.inserted, again.updated) == (0, 0, 0)
    _forget_cursor()  # a full pull again: everything unchanged, not one row written
    full = pull("zhzf", "inspection")
    assert (full.fetched, full.inserted, full.updated, full.unchanged, full.rejected) == (60, 0, 0, 60, 0)
    assert _snapshot() == before


def test_incremental_pull_takes_only_changed_rows(app, ctx, fake):
    pull("zhzf", "inspection")
    fake.control(patch=[{"source": "zhzf", "dataset": "inspection", "id": "JC00007", "set": {"result": "立案查处"}}])
    run = pull("zhzf", "inspection")
    assert (run.fetched, run.updated, run.inserted) == (1, 1, 0)
    row = db.session.scalar(select(ExchangeRecord).where(ExchangeRecord.source_id == "JC00007"))
    assert row.version == 2 and row.data["result"] == "立案查处"


def test_broken_page_fails_the_run_keeps_earlier_pages_and_the_next_run_recovers(app, ctx, fake):
    fake.control(broken_page=2, broken_times=-1)
    run = pull("zhzf", "inspection")
    assert run.status == "failed" and "数据页无法解析" in run.message and "下次从原游标重新拉取" in run.message
    assert (run.pages, run.inserted, run.retries) == (1, 20, 2)
    assert db.session.get(ExchangeCursor, ("zhzf", "inspection")) is None  # the cursor did not move
    fake.control(broken_page=None)
    run = pull("zhzf", "inspection")
    assert (run.status, run.inserted, run.unchanged) == ("done", 40, 20)


def test_broken_page_once_is_retried(app, ctx, fake):
    fake.control(broken_page=2, broken_times=1)
    run = pull("zhzf", "inspection")
    assert (run.status, run.inserted, run.retries) == ("done", 60, 1)


def test_timeout_is_retried_with_backoff_then_fails_in_chinese(app, ctx, fake):
    fake.control(slow=1.0, slow_times=1)
    run = pull("zhzf", "party")
    assert (run.status, run.inserted, run.retries) == ("done", 30, 1)
    fake.control(reset=True)
    fake.control(slow=1.0, slow_times=-1)
    run = pull("zhzf", "party")
    assert run.status == "failed" and "秒内未响应" in run.message and run.retries == 2 and run.inserted == 0


def test_auth_failure_is_not_retried(app, ctx, fake):
    fake.control(auth="reject")
    run = pull("zhzf", "inspection")
    assert run.status == "failed" and "认证失败" in run.message and run.retries == 0 and run.fetched == 0


def test_server_errors_and_rate_limit_are_retried(app, ctx, fake):
    fake.control(errors=2)
    run = pull("zhzf", "party")
    assert (run.status, run.retries, run.inserted) == ("done", 2, 30)
    fake.control(reset=True)
    app.config["EXCHANGE_PAGE_SIZE"] = 10  # six pages and a token call against a limit of 4 calls per second
    fake.control(rate_limit=4, page_size_max=10)
    run = pull("zhzf", "inspection")
    assert run.status == "done" and run.inserted == 60 and run.pages == 6 and run.retries >= 1


def test_schema_drift_rejects_rows_with_reasons_and_a_fix_reprocesses_them(app, ctx, fake, client_for):
    fake.control(drift=True)
    run = pull("zhzf", "inspection")
    assert run.status == "partial" and run.rejected == 60 and run.inserted == 0
    assert "上游数据结构变化：缺少字段 party_name" in run.message and "dsrmc" in run.message
    item = db.session.scalar(select(ExchangeReject).where(ExchangeReject.source_id == "JC00001"))
    assert item.reasons[0]["message"] == "缺少必填项「当事人名称」" and item.row["dsrmc"]
    with app.app_context():
        make_user("data1", ["data_admin"])
    admin = client_for("data1")
    page = admin.get("/exchange/rejects")
    assert page.status_code == 200 and "缺少必填项「当事人名称」" in page.get_data(as_text=True)
    bad = admin.post(f"/exchange/rejects/{item.id}/reprocess", data={"row": "{not json"})
    assert bad.status_code in (303, 422)
    fixed = dict(item.row)
    fixed["party_name"] = fixed.pop("dsrmc")
    import json

    done = admin.post(f"/exchange/rejects/{item.id}/reprocess", data={"row": json.dumps(fixed, ensure_ascii=False)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExchangeReject, item.id).status == "reprocessed"
    assert db.session.scalar(select(ExchangeRecord.version).where(ExchangeRecord.source_id == "JC00001")) == 1


def test_duplicates_across_pages_are_counted_once(app, ctx, fake):
    fake.control(duplicates=True)
    run = pull("zhzf", "inspection")
    assert (run.status, run.inserted, run.duplicates, run.fetched) == ("done", 60, 2, 62)
    assert db.session.scalar(select(func.count()).select_from(ExchangeRecord)) == 60


def test_same_version_with_other_content_is_rejected(app, ctx, fake):
    pull("zhzf", "party")
    fake.control(
        patch=[{"source": "zhzf", "dataset": "party", "id": "P0003", "set": {"name": "改名公司", "version": 0}}]
    )
    _forget_cursor()  # the patch raised the version to 1 again: same version, other content
    run = pull("zhzf", "party")
    assert run.rejected == 1 and run.status == "partial"
    item = db.session.scalar(select(ExchangeReject))
    assert "版本号相同但内容不一致" in item.reasons[0]["message"]
    assert (
        db.session.scalar(select(ExchangeRecord.data).where(ExchangeRecord.source_id == "P0003"))["name"] != "改名公司"
    )


def test_reconciliation_matches_then_alerts_the_data_administrator(app, ctx, fake):
    from app.exchange.services import reconcile_days

    admin = make_user("data2", ["data_admin"])
    pull("zhzf", "inspection")
    rows = reconcile_days(None, "zhzf", "inspection", days=3)
    db.session.commit()
    assert all(r.matched for r in rows) and sum(r.local_count for r in rows) == 60
    fake.control(mismatch=2)
    rows = reconcile_days(None, "zhzf", "inspection", days=3)
    db.session.commit()
    busy = [r for r in rows if r.source_count]
    assert busy and not any(r.matched for r in busy)
    alert = db.session.get(Alert, busy[0].alert_id)
    assert alert.kind == "exchange_mismatch" and alert.owner_id == admin.id and "数据核验异常" in alert.title
    assert db.session.scalar(select(func.count()).where(Notification.user_id == admin.id)) >= 1
    assert db.session.scalar(select(func.count()).select_from(Reconciliation)) == 6


def test_admin_page_runs_a_pull_as_a_background_job_with_progress(app, fake, client_for):
    from app.reports import jobs
    from app.reports.models import Job

    with app.app_context():
        make_user("data3", ["data_admin"])
    admin = client_for("data3")
    page = admin.get("/exchange/")
    assert page.status_code == 200 and "上海市统一综合执法系统" in page.get_data(as_text=True)
    bar = admin.post("/exchange/run", data={"source": "zhzf", "dataset": "party"}, headers={"HX-Request": "true"})
    assert bar.status_code == 200 and "progress-bar" in bar.get_data(as_text=True)
    assert jobs.wait_for_jobs(30)
    with app.app_context():
        job = db.session.scalar(select(Job).order_by(Job.id.desc()))
        assert job.status == "done" and job.progress == 100 and "新增 30" in job.message
    html = admin.get("/exchange/").get_data(as_text=True)
    assert 'data-run-status="done"' in html and "当事人基础信息" in html
    bad = admin.post("/exchange/run", data={"source": "zhzf", "dataset": "nothing"})
    assert bad.status_code in (303, 422)
    assert client_for("admin").get("/exchange/").status_code == 403
    assert client_for("hp_officer").get("/exchange/rejects").status_code == 403


def test_a_failed_pull_fails_its_job_in_chinese_and_the_retry_starts_a_new_run(app, fake, client_for):
    from app.exchange.models import ExchangeRun
    from app.reports import jobs
    from app.reports.models import Job

    with app.app_context():
        make_user("data4", ["data_admin"])
    admin = client_for("data4")
    fake.control(auth="reject")
    admin.post("/exchange/run", data={"source": "zhzf", "dataset": "inspection"})
    assert jobs.wait_for_jobs(30)
    with app.app_context():
        job = db.session.scalar(select(Job).order_by(Job.id.desc()))
        assert job.status == "failed" and job.message.startswith("同步失败：上游系统认证失败")
        job_id = job.id
    fake.control(auth="ok")
    assert admin.post(f"/jobs/{job_id}/retry").status_code in (200, 302, 303)
    assert jobs.wait_for_jobs(30)
    with app.app_context():
        runs = db.session.scalars(select(ExchangeRun).order_by(ExchangeRun.id)).all()
        assert [r.status for r in runs] == ["failed", "done"] and runs[1].inserted == 60


def test_daily_reconciliation_job_runs_once_per_day(app, ctx, fake):

    from app.exchange.services import scheduled_reconciliation
    from app.models_base import utcnow

    pull("zhzf", "inspection")
    now = utcnow()  # reconciles yesterday, which holds inspections and parties of the fake
    assert scheduled_reconciliation(now) == 0  # off unless configured
    app.config["EXCHANGE_SCHEDULE"] = True
    try:
        assert scheduled_reconciliation(now) == 2
        db.session.commit()
        assert scheduled_reconciliation(now) == 0
        rows = db.session.scalars(select(Reconciliation)).all()
        assert {(r.dataset, r.matched) for r in rows} == {("inspection", True), ("party", False)}
    finally:
        app.config["EXCHANGE_SCHEDULE"] = False


def test_reconciliation_days_are_beijing_calendar_days(ctx):
    """A change at 20:00 UTC on 1 December is 04:00 on 2 December in Shanghai: it counts for the 2nd."""
    from datetime import UTC, date, datetime

    from app.exchange.reconcile import local_day, local_summary

    for sid, at in (
        ("E1", datetime(2026, 12, 1, 20, 0, tzinfo=UTC)),
        ("E2", datetime(2026, 12, 1, 15, 59, tzinfo=UTC)),
    ):
        db.session.add(
            ExchangeRecord(source="zhzf", dataset="inspection", source_id=sid, version=1, checksum="x", changed_at=at)
        )
    db.session.flush()
    assert local_day(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == date(2026, 12, 2)
    assert local_summary("zhzf", "inspection", date(2026, 12, 2))[0] == 1
    assert local_summary("zhzf", "inspection", date(2026, 12, 1))[0] == 1
