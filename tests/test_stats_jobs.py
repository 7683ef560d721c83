"""The nightly summary rebuild runs at night, once a day, and never because a scheduler (re)started."""

from __future__ import annotations

from datetime import UTC, datetime

from app.stats import jobs


def test_rebuild_runs_only_between_two_and_three_at_night_once_a_day(app, monkeypatch):
    calls = []
    monkeypatch.setattr("app.stats.summary.rebuild", lambda: calls.append(1) or 7)
    monkeypatch.setattr(jobs, "_rebuilt_on", set())
    app.config["STATS_NIGHTLY_REBUILD"] = True
    with app.app_context():
        # 10:00 Shanghai (02:00 UTC): a scheduler that starts in the day does not rebuild
        assert jobs.rebuild_job(datetime(2026, 12, 2, 2, 0, tzinfo=UTC)) == 0
        # 02:10 Shanghai (18:10 UTC the day before): rebuilds once; the second pass of the hour does not
        assert jobs.rebuild_job(datetime(2026, 12, 2, 18, 10, tzinfo=UTC)) == 7
        assert jobs.rebuild_job(datetime(2026, 12, 2, 18, 40, tzinfo=UTC)) == 0
        # the next night again
        assert jobs.rebuild_job(datetime(2026, 12, 3, 18, 5, tzinfo=UTC)) == 7
    assert len(calls) == 2
    app.config["STATS_NIGHTLY_REBUILD"] = False
    with app.app_context():
        assert jobs.rebuild_job(datetime(2026, 12, 4, 18, 5, tzinfo=UTC)) == 0
    assert len(calls) == 2


def test_heavy_round_work_goes_to_the_job_worker_once_at_a_time(app):
    """`heavy`: with the job worker the work is queued (one at a time per name), without it it runs here."""
    from sqlalchemy import select

    from app.engine.cli import heavy
    from app.extensions import db
    from app.reports import jobs as queue
    from app.reports.models import Job

    with app.app_context():
        assert heavy("stats.periodic", jobs.periodic_work, []) == 0  # thread runner: at once
        assert db.session.scalar(select(Job.id)) is None
    app.config["JOBS_RUNNER"] = "worker"
    try:
        with app.app_context():
            assert heavy("stats.periodic", jobs.periodic_work, []) is None
            assert heavy("stats.periodic", jobs.periodic_work, []) is None  # one queued already
            db.session.commit()
            rows = db.session.scalars(select(Job)).all()
            assert [(r.task, r.payload["args"][0]) for r in rows] == [("app.engine.cli:run_heavy", "stats.periodic")]
            job_id = rows[0].id
        assert queue.execute(app, job_id) == "done"
        with app.app_context():
            assert heavy("stats.periodic", jobs.periodic_work, []) is None  # done: may be queued again
            db.session.commit()
            assert len(db.session.scalars(select(Job)).all()) == 2
    finally:
        app.config["JOBS_RUNNER"] = "thread"
