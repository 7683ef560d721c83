"""The alert centre through HTTP: the red/yellow/green task board by organisation and person, 催办 and 升级
with their records, closure when the task is done, scope."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.alerts.models import Alert
from app.extensions import db
from app.inbox.models import HumanTask, Notification
from tests import test_clue_process as clues
from tests.conftest import page_text, user

# The clue scenario's fixtures and steps (the deployed process, fast PDFs); `client_for` gives one client per user.
clue_process, fast_pdf = clues.clue_process, clues.fast_pdf
accept, dispatch, handle, judge, open_row, registered = (
    clues.accept,
    clues.dispatch,
    clues.handle,
    clues.judge,
    clues.open_row,
    clues.registered,
)


def to_handling(app, client_for) -> int:
    registered(app, client_for("hp_officer"))
    accept(app, client_for)
    judge(app, client_for, risk="medium")
    dispatch(app, client_for)
    return open_row(app, "handle")


def test_board_levels_by_org_and_person(app, clue_process, fast_pdf, client_for):
    from app.alerts.services import level_of, summarise, task_board

    task_id = to_handling(app, client_for)
    with app.app_context():
        due = db.session.get(HumanTask, task_id).due_at
        leader = user("leader")
        assert level_of(due, due - timedelta(days=3)) == "green"
        assert level_of(due, due - timedelta(hours=3)) == "yellow"
        assert level_of(due, due + timedelta(minutes=1)) == "red"
        rows = task_board(leader, now=due + timedelta(hours=2))
        assert [(r.task.id, r.level) for r in rows] == [(task_id, "red")]
        summary = summarise(rows)
        assert summary["by_org"] == {"黄浦区": {"red": 1, "yellow": 0, "green": 0}}
        assert summary["by_person"] == {"角色：大队执法人员": {"red": 1, "yellow": 0, "green": 0}}
        assert task_board(user("xh_leader"), now=due + timedelta(hours=2)) == []  # another district
    page = page_text(client_for("leader").get("/alerts/"))
    assert "预警中心" in page and "处理" in page and "催办" in page and "升级" in page
    assert "处理" not in page_text(client_for("xh_leader").get("/alerts/")).split("board-table")[1]


def test_urge_and_escalate_are_recorded_and_closed_when_done(app, clue_process, fast_pdf, client_for):
    task_id = to_handling(app, client_for)
    city = client_for("leader")
    # Another district cannot urge or escalate it; an officer without leadership cannot escalate.
    assert client_for("xh_leader").post(f"/alerts/tasks/{task_id}/urge").status_code == 404
    assert client_for("hp_officer").post(f"/alerts/tasks/{task_id}/escalate").status_code == 403
    assert city.post(f"/alerts/tasks/{task_id}/urge", data={"note": "请今日内完成"}).status_code == 302
    with app.app_context():
        urged = db.session.scalars(
            select(Notification.title).where(Notification.user_id == user("hp_officer").id, Notification.kind == "urge")
        ).all()
        assert urged and "催办" in urged[0]
    assert city.post(f"/alerts/tasks/{task_id}/escalate", data={"note": "超期未办"}).status_code == 302
    with app.app_context():
        row = db.session.get(HumanTask, task_id)
        assert row.assignee.login == "hp_leader" and row.candidate_role is None
        alert = db.session.scalar(select(Alert).where(Alert.task_id == task_id))
        assert [a["action"] for a in alert.actions] == ["催办", "升级"] and alert.status == "open"
        alert_id = alert.id
    detail = page_text(city.get(f"/alerts/{alert_id}"))
    assert "请今日内完成" in detail and "升级给黄浦大队长" in detail
    # The leader now holds the task and does it; the scheduler round closes the alert (closure record).
    handle(app, client_for("hp_leader"))
    from app.engine.cli import run_round

    run_round(app)
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.status == "closed" and "任务已办理" in alert.closure
    closed = page_text(city.get("/alerts/?tab=closed"))
    assert "任务已办理" in closed


def test_alert_close_needs_owner_or_leader_in_scope(app, clue_process, fast_pdf, client_for):
    from app.alerts import services
    from app.orgs.services import by_code

    with app.app_context():
        alert = services.raise_alert("clue_stalled", org=by_code("310101"), title="测试预警：线索停滞")
        db.session.commit()
        alert_id = alert.id
        assert alert.owner.login == "hp_leader"
        notes = db.session.scalars(select(Notification.title).where(Notification.user_id == user("hp_leader").id)).all()
        assert "预警：测试预警：线索停滞" in notes
    assert client_for("hp_officer").post(f"/alerts/{alert_id}/close", data={"closure": "已处理"}).status_code == 403
    assert client_for("leader").post(f"/alerts/{alert_id}/close", data={"closure": "总队已督办"}).status_code == 302
    assert client_for("leader").post(f"/alerts/{alert_id}/close", data={"closure": "再次"}).status_code == 409
    assert "总队已督办" in page_text(client_for("hp_leader").get("/alerts/?tab=closed"))
