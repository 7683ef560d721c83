"""Job functions for tests/test_jobs.py. Module-level, so the real job worker process can import and run them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.errors import ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation


def slow_then_quick(report, marker_dir: str, code: str) -> dict:
    """Adds an organisation. The first run blocks (and is killed there); later runs finish at once."""
    marks = Path(marker_dir)
    run = len(list(marks.glob("run-*"))) + 1
    report(30, f"第 {run} 次运行")
    (marks / f"run-{run}").touch()
    if run == 1:
        time.sleep(120)  # SIGKILLed here (before writing: on SQLite a pending write would lock out the lease)
    db.session.add(Organisation(code=code, name="作业写入", kind="street", path=f"/{code}/"))
    db.session.flush()
    return {"message": f"第 {run} 次运行完成", "run": run}


def fails_until(report, marker_dir: str, good_from: int) -> dict:
    """Raises (an unexpected error) on runs before `good_from`, then succeeds."""
    marks = Path(marker_dir)
    run = len(list(marks.glob("try-*"))) + 1
    (marks / f"try-{run}").touch()
    if run < good_from:
        raise RuntimeError(f"transient failure {run}")
    return {"message": f"第 {run} 次成功", "run": run}


def invalid_data(report) -> dict:
    raise ValidationFailed("第 3 行统一社会信用代码格式错误")


def record_once(report, code: str) -> dict:
    """Adds one organisation named by `code` (a second run of the same job would add a second row)."""
    report(50, "写入")
    db.session.add(Organisation(code=code, name="回收测试", kind="street", path=f"/{code}/"))
    db.session.flush()
    return {"message": "已写入", "pid": os.getpid()}
