"""工作台 per role: my 待办 count with overdue and soon-due, the next tasks, quick start, alerts in scope,
followed clues, and for leaders the overdue tasks of their units (scoped)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.inbox.models import HumanTask
from app.models_base import utcnow
from tests.conftest import deploy_test_process, page_text
from tests.test_process_admin import FILL, start_demo


def _setup(app) -> list[int]:
    with app.app_context():
        deploy_test_process("approval_demo")
    ids = [start_demo(app, fill=FILL) for _ in range(3)]
    with app.app_context():
        rows = db.session.scalars(select(HumanTask).where(HumanTask.status == "open").order_by(HumanTask.id)).all()
        rows[0].due_at = utcnow() - timedelta(hours=3)  # overdue
        rows[1].due_at = utcnow() + timedelta(hours=5)  # soon due
        rows[2].due_at = utcnow() + timedelta(days=5)
        db.session.commit()
    return ids


def _text(page: str, element_id: str) -> str:
    import re

    tag = re.search(rf'<(\w+)[^>]*id="{element_id}"', page)
    if tag is None:
        return ""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</{tag.group(1)}>', page, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


def test_leader_sees_counts_next_tasks_and_units(app, client_for):
    _setup(app)
    page = page_text(client_for("hp_leader").get("/"))
    assert (
        "3" in _text(page, "wb-todo")
        and "超期 1" in _text(page, "wb-overdue")
        and "即将到期 1" in _text(page, "wb-soon")
    )
    nxt = _text(page, "wb-next")
    assert nxt.count("大队审核") == 3 and "仓库检查" in nxt
    units = _text(page, "wb-units")
    assert "黄浦" in units and "徐汇" not in units  # the leader's scope only
    # Another district's leader has nothing to do and sees no Huangpu unit.
    other = page_text(client_for("xh_leader").get("/"))
    assert "没有待办" in other and "黄浦" not in _text(other, "wb-units")


def test_officer_sees_quick_start_and_no_units(app, client_for):
    _setup(app)
    page = page_text(client_for("hp_officer").get("/"))
    assert "测试审批" in _text(page, "wb-start") and 'id="wb-units"' not in page
    assert "0" in _text(page, "wb-todo")
