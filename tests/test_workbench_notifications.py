"""工作台 notifications that matter: the person who registered a clue is told once when it is accepted, when its
investigation report is sent back, when it is not accepted (with the reason) and when it is closed; the
工作台 lists these (unread first), and the generic "accepted"/"done" notices of the runtime do not repeat them."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.inbox.models import Notification
from tests.conftest import page_text, user
from tests.test_clue_process import (  # noqa: F401  (fixtures)
    act,
    clue_process,
    clue_row,
    fast_pdf,
    feedback,
    handle,
    open_row,
    registered,
    to_review,
)
from tests.test_workbench import _text


def _told(app, login: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notification.kind, Notification.title)
            .where(Notification.user_id == user(login).id)
            .order_by(Notification.id)
        ).all()
    return [(k, t) for k, t in rows if k in ("accepted", "done", "return") or k.startswith("clue_")]


def test_registrant_is_told_accepted_returned_and_closed_once(app, clue_process, fast_pdf, client_for):  # noqa: F811
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    number = clue_row(app, clue_id)["number"]
    assert "暂无" in _text(page_text(officer.get("/")), "wb-matters")
    to_review(app, client_for, officer)
    told = _told(app, "hp_officer")
    assert told == [("clue_accepted", f"您登记的线索 {number}已受理，进入研判")]  # no second 已受理 notice
    act(client_for("chief"), open_row(app, "review"), "reject", comment="隐患整改期限不明确")
    assert _told(app, "hp_officer")[-1] == (
        "clue_returned",
        f"您登记的线索 {number}的调查报告被退回修改：隐患整改期限不明确",
    )
    handle(app, officer)
    feedback(app, client_for, outcome="partly")
    act(client_for("chief"), open_row(app, "review"), "approve")
    assert clue_row(app, clue_id)["status"] == "closed"
    kinds = [k for k, _ in _told(app, "hp_officer")]
    assert kinds == ["clue_accepted", "clue_returned", "clue_closed"]  # the runtime's 已办结 notice is not repeated
    assert _told(app, "hp_officer")[-1][1] == f"您登记的线索 {number} 已办结：部分属实"
    box = _text(page_text(officer.get("/")), "wb-matters")
    assert "已办结" in box and "被退回" in box and "已受理" in box and number in box
    # The people who acted are not told of their own acts.
    assert not any(k.startswith("clue_") for k, _ in _told(app, "chief"))


def test_registrant_is_told_not_accepted_with_the_reason(app, clue_process, fast_pdf, client_for):  # noqa: F811
    officer = client_for("hp_officer")
    clue_id = registered(app, officer)
    act(client_for("hp_leader"), open_row(app, "accept"), "reject", comment="不属于安全生产监管范围")
    assert clue_row(app, clue_id)["status"] == "rejected"
    told = _told(app, "hp_officer")
    assert [k for k, _ in told] == ["clue_rejected"] and "不予受理：不属于安全生产监管范围" in told[0][1]
    box = _text(page_text(officer.get("/")), "wb-matters")
    assert "不予受理" in box and "不属于安全生产监管范围" in box
    # Someone else's 工作台 does not show it.
    assert "不属于安全生产监管范围" not in _text(page_text(client_for("xh_officer").get("/")), "wb-matters")
