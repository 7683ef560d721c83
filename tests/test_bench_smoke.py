"""The benchmarks must not rot: the generator at a tiny scale and the engine benchmark for a few
instances, each on its own temporary SQLite database (never the test database)."""

from __future__ import annotations

import re


def test_generator_tiny_scale(tmp_path, capsys):
    from bench import generate

    url = f"sqlite:///{tmp_path / 'gen.sqlite3'}"
    assert generate.main(["--scale", "0.01", "--database-url", url, "--instance-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"generated in \d+\.\d s", out)
    for table in ("users", "enterprises", "process_instances", "human_tasks", "audit_entries"):
        assert re.search(rf"\b{table}\s+[\d,]+", out), table

    from bench.common import make_app

    app = make_app(url, str(tmp_path))
    with app.app_context():
        from sqlalchemy import func, select

        from app.audit.services import verify
        from app.engine.models import ProcessInstance
        from app.extensions import db
        from app.inbox.models import HumanTask

        assert verify().ok  # the generated audit trail is a valid chain, checkpoint included
        running = db.session.scalar(select(func.count()).where(ProcessInstance.status == "running"))
        open_rows = db.session.scalar(select(func.count()).where(HumanTask.status == "open"))
        assert running == open_rows == 50
        db.session.remove()
        db.engine.dispose()


def test_engine_benchmark_few_instances(tmp_path, capsys):
    from bench import engine

    figures = engine.main(
        [
            "--instances",
            "3",
            "--warmup",
            "1",
            "--users",
            "60",
            "--database-url",
            f"sqlite:///{tmp_path / 'engine.sqlite3'}",
            "--instance-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    for mode in ("service", "HTTP"):
        assert re.search(rf"{mode}: task completion\s+\w+\s+\d+\.\d", out), mode
        assert re.search(rf"{mode}: [\d.]+ instances/s", out), mode
    assert figures["service_commits_per_completion"] == 1.0
    assert figures["http_commits_per_completion"] == 1.0
    assert figures["http_statements_per_completion"] > 0
    assert figures["service_cpu_ms_per_instance"] > 0


def test_grading_benchmark_tiny_scale(tmp_path, capsys):
    from bench import grading

    url = f"sqlite:///{tmp_path / 'grading.sqlite3'}"
    assert grading.main(["--enterprises", "300", "--day-records", "60", "--events", "3", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert re.search(r"full recompute, first \(all scores new\): [\d.]+ s wall, .*scanned 300, changed 300", out)
    assert re.search(r"full recompute, again \(nothing changed\): .*changed 0,", out)
    assert re.search(r"incremental recompute after one event .*median [\d.]+ ms", out)
    assert re.search(r"trigger evaluation over a day of 60 records: [\d.]+ s wall", out)
