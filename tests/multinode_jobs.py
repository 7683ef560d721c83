"""The job function of tests/test_multinode.py: module-level, so the job worker processes can import it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.extensions import db
from app.orgs.models import Organisation


def mark(report, marker_dir: str, code: str) -> dict:
    """Note the attempt in a file (outside any transaction), work a little, then add one organisation:
    the attempt count shows how often it ran, the organisation how often its effect committed."""
    with (Path(marker_dir) / code).open("a") as f:
        f.write(f"{os.getpid()}\n")
    report(50, "处理中")
    time.sleep(1.5)
    db.session.add(Organisation(code=code, name="多节点作业", kind="street", path=f"/{code}/"))
    db.session.flush()
    return {"message": "完成"}
