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
