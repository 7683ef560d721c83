"""技能拉练: the competition paper (seed, server clock, autosave, resume, one submission), blind marking of
案例分析 through the inbox, rankings and the certificate. Every clock is injected (`now`) or moved with
time-machine for the routes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox.models import HumanTask
from app.training import compete, marking
from app.training.models import Paper
from tests.conftest import page_text, user
from tests.training_support import START, deploy_marking, make_bank, make_competition, org


@pytest.fixture
def comp(app):
    with app.app_context():
        deploy_marking(app)
        make_bank()
        c = make_competition()
        db.session.commit()
        return c.id


def _comp(comp_id):
    from app.training.models import Competition

    return db.session.get(Competition, comp_id)


def test_paper_not_before_start_then_drawn_from_its_seed(app, comp):
    with app.app_context():
        c, me = _comp(comp), user("hp_officer")
        with pytest.raises(Conflict, match="比武尚未开始，开始时间为 2026-06-15 09:00:00"):
            compete.start_or_resume(c, me, START - timedelta(seconds=1))
        paper = compete.start_or_resume(c, me, START)
        types = [a.question.qtype for a in paper.answers]
        assert types.count("single") == 3 and types.count("multi") == 2 and types.count("case") == 1
        assert compete.draw(c, paper.seed) == paper.question_ids  # the recorded seed reproduces the paper
        assert paper.deadline_at == START + timedelta(minutes=30)
        with pytest.raises(Conflict, match="已于 2026-06-15 17:00:00 结束"):
            compete.start_or_resume(c, user("xh_officer"), START + timedelta(hours=9))


def test_autosave_resume_and_answer_after_the_limit_refused(app, comp):
    with app.app_context():
        c, me = _comp(comp), user("hp_officer")
        paper = compete.start_or_resume(c, me, START)
        first = paper.answers[0]
        compete.save_answers(paper, me, {str(first.question_id): "a"}, START + timedelta(minutes=5))
        db.session.commit()
        # The tab is closed; later the candidate comes back: the same paper, the answer kept, the clock ran on.
        again = compete.start_or_resume(c, me, START + timedelta(minutes=20))
        assert again.id == paper.id and again.answers[0].response == "A"
        assert compete.remaining_seconds(again, START + timedelta(minutes=20)) == 600
        late = START + timedelta(minutes=30, seconds=6)
        with pytest.raises(Conflict, match="答题时间已于 2026-06-15 09:30:00 截止，本次提交的答案未被接受"):
            compete.save_answers(again, me, {str(first.question_id): "B"}, late)
        db.session.rollback()
        assert db.session.get(Paper, paper.id).answers[0].response == "A"  # nothing of the late answer stored
        # The scheduler's round (or the next visit) submits it with what was saved in time.
        assert compete.expire_all(late - timedelta(seconds=3)) == 0  # still inside the 5 s grace
        assert compete.expire_all(late) == 1
        p = db.session.get(Paper, paper.id)
        assert p.status == "marking" and p.submit_note == "超时自动交卷" and p.submitted_at == p.deadline_at


def test_answer_after_the_limit_refused_over_http(app, comp, client_for):
    c = client_for("hp_officer")
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        resp = c.post(f"/training/competitions/{comp}/paper")
        assert resp.status_code == 303
        paper_url = resp.headers["Location"]
        page = c.get(paper_url)
        assert page.status_code == 200 and "剩余" in page_text(page)
    paper_id = int(paper_url.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        qid = db.session.get(Paper, paper_id).question_ids[0]
    headers = {"Accept": "application/json"}
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        ok = c.post(f"/training/papers/{paper_id}/answers", json={"answers": {str(qid): "A"}}, headers=headers)
        assert ok.status_code == 200 and ok.get_json()["saved"] == 1 and ok.get_json()["remaining"] == 21 * 60
    with time_machine.travel(START + timedelta(minutes=40), tick=False):
        late = c.post(f"/training/papers/{paper_id}/answers", json={"answers": {str(qid): "B"}}, headers=headers)
        assert late.status_code == 409
        assert "答题时间已于 2026-06-15 09:31:00 截止" in late.get_json()["message"]


def test_a_second_tab_cannot_submit_twice(app, comp, client_for):
    c = client_for("hp_officer")
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        paper_url = c.post(f"/training/competitions/{comp}/paper").headers["Location"]
        submit_url = paper_url + "/submit"
        first = c.post(submit_url, data={})
        assert first.status_code == 303
        second = c.post(submit_url, data={}, headers={"Accept": "application/json"})
        assert second.status_code == 409 and "请勿重复提交" in second.get_json()["message"]
        # A tab that still shows the paper sends its answers with the submission: refused, nothing changed.
        third = c.post(submit_url, data={"q_1": "A"}, headers={"Accept": "application/json"})
        assert third.status_code == 409 and "不能再修改答案" in third.get_json()["message"]
        during = page_text(c.get(paper_url))  # others may still sit it: no answer key yet
        assert "比武结束后公布正确答案和解析" in during and "正确答案：" not in during
    with time_machine.travel(START + timedelta(hours=9), tick=False):
        assert "正确答案：" in page_text(c.get(paper_url))
    with app.app_context():
        papers = db.session.scalars(select(Paper)).all()
        assert len(papers) == 1 and papers[0].status == "marking"
        # one marking instance (its task offered to both markers, first one decides), not two
        rows = db.session.scalars(select(HumanTask).where(HumanTask.process_id == "training_marking")).all()
        assert len({r.instance_id for r in rows}) == 1 and len(rows) == 2


def test_stale_submit_from_another_session_is_refused(app, comp):
    with app.app_context():
        c, me = _comp(comp), user("hp_officer")
        paper = compete.start_or_resume(c, me, START)
        db.session.commit()
        version = paper.version
        compete.save_answers(paper, me, {str(paper.question_ids[0]): "A"}, START + timedelta(minutes=1))
        db.session.commit()
        with pytest.raises(Conflict, match="另一个窗口"):
            compete.submit(paper, me, START + timedelta(minutes=2), expected_version=version)


def test_eligibility_and_attempts(app, comp):
    with app.app_context():
        c = _comp(comp)
        c.eligible_org_ids = [org("310101").id]
        with pytest.raises(PermissionDenied, match="不在本次比武的参赛范围内"):
            compete.start_or_resume(c, user("xh_officer"), START)
        me = user("hp_officer")
        p = compete.start_or_resume(c, me, START)
        compete.submit(p, me, START + timedelta(minutes=3))
        with pytest.raises(Conflict, match="每人可参加 1 次"):
            compete.start_or_resume(c, me, START + timedelta(minutes=4))


def test_blind_marking_through_the_inbox_and_not_ones_own_paper(app, comp, client_for):
    with app.app_context():
        c, cand = _comp(comp), user("hp_leader")  # a marker who also sits the competition
        paper = compete.start_or_resume(c, cand, START)
        for a in paper.answers:
            q = a.question
            value = {"single": "A", "multi": "AB", "judge": "F", "case": "违反第四十条，责令改正并罚款"}[q.qtype]
            compete.save_answers(paper, cand, {str(q.id): value}, START + timedelta(minutes=5))
        compete.submit(paper, cand, START + timedelta(minutes=6))
        db.session.commit()
        assert paper.auto_score == 3 * 10 + 2 * 5 + 2 * 5  # multi AB of ABD: half marks
        [row] = db.session.scalars(select(HumanTask).where(HumanTask.process_id == "training_marking")).all()
        assert row.assignee_id == user("city_officer").id  # the candidate is not among the markers
        instance = row.instance
        assert cand.name not in instance.title and cand.name not in str(instance.summary)
        assert instance.initiator_id is None and paper.code in instance.title
        with pytest.raises(PermissionDenied, match="不能评阅本人的试卷"):
            marking.mark_paper(paper.id, cand, {}, {}, START)
        pid, case_id = paper.id, next(a.id for a in paper.answers if a.question.qtype == "case")
        paper_code = paper.code
    own = client_for("hp_leader").get(f"/training/marking/paper/{pid}")
    assert own.status_code == 403 and "不能评阅本人的试卷" in page_text(own)
    marker = client_for("city_officer")
    listing = page_text(marker.get("/training/marking"))
    assert "黄浦大队长" not in listing
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.process_id == "training_marking"))
    inbox_task = page_text(marker.get(f"/inbox/tasks/{task_id}"))  # the inbox shows the code, never the name
    assert "案例分析评阅" in inbox_task and paper_code in inbox_task and "按试卷编号逐题打分" in inbox_task
    assert "黄浦大队长" not in inbox_task
    form = page_text(marker.get(f"/training/marking/paper/{pid}"))
    assert "违反第四十条" in form and "黄浦大队长" not in form and "黄浦" not in form
    bad = marker.post(f"/training/marking/paper/{pid}", data={f"score_{case_id}": "25"})
    assert bad.status_code == 422 and "得分应在 0–20 分之间" in page_text(bad)
    done = marker.post(
        f"/training/marking/paper/{pid}", data={f"score_{case_id}": "16", f"comment_{case_id}": "要点齐全"}
    )
    assert done.status_code == 303
    with app.app_context():
        p = db.session.get(Paper, pid)
        assert p.status == "scored" and p.manual_score == 16 and p.total_score == 50 + 16
        assert p.instance.status == "completed" if hasattr(p, "instance") else True
        row = db.session.scalar(select(HumanTask).where(HumanTask.process_id == "training_marking"))
        assert row.status == "completed" and row.completed_by_id == user("city_officer").id
    again = marker.post(f"/training/marking/paper/{pid}", data={f"score_{case_id}": "20"})
    assert again.status_code == 404 and "已评阅完毕" in page_text(again)


def test_rankings_by_person_unit_district_and_certificate(app, comp, client_for):
    with app.app_context():
        c = _comp(comp)
        c.rules = {**c.rules, "counts": {**c.rules["counts"], "case": 0}}  # objective only: scored at once
        scores = {}
        for login, right, minutes in [("hp_officer", 3, 10), ("xh_officer", 1, 5), ("city_officer", 3, 8)]:
            me = user(login)
            p = compete.start_or_resume(c, me, START)
            singles = [a for a in p.answers if a.question.qtype == "single"]
            for i, a in enumerate(singles):
                compete.save_answers(p, me, {str(a.question_id): "A" if i < right else "B"}, START)
            compete.submit(p, me, START + timedelta(minutes=minutes))
            scores[login] = p.total_score
        db.session.commit()
        assert scores == {"hp_officer": 30, "xh_officer": 10, "city_officer": 30}
        hp_paper = db.session.scalar(select(Paper).where(Paper.user_id == user("hp_officer").id)).id
    page = page_text(client_for("hp_officer").get(f"/training/competitions/{comp}/ranking"))
    person = page[page.index('id="rank-person"') : page.index('id="rank-unit"')]
    # equal scores: the quicker one first
    assert person.index("李晓峰") < person.index("黄浦队员") < person.index("徐汇队员")
    district = page[page.index('id="rank-district"') :]
    assert "市局机关" in district and "徐汇" in district
    pdf = client_for("hp_officer").get(f"/training/papers/{hp_paper}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = client_for("xh_officer").get(f"/training/papers/{hp_paper}/certificate.pdf")
    assert other.status_code == 403


def test_rules_refuse_what_the_bank_cannot_supply(app, comp):
    with app.app_context():
        with pytest.raises(ValidationFailed) as err:
            make_competition(count_case="5", ends_at=START - timedelta(hours=1))
        assert "题库中符合条件的案例分析题只有 2 道，少于 5 道" in err.value.errors["count_case"]
        assert err.value.errors["ends_at"] == "结束时间应晚于开始时间"
        from app.engine.models import ProcessModel

        model = db.session.scalar(select(ProcessModel).where(ProcessModel.process_id == "training_marking"))
        model.enabled = False
        with pytest.raises(ValidationFailed) as err:
            make_competition()
        assert "「执法比武案例分析评阅」流程未部署或已停用" in err.value.errors["count_case"]
        model.enabled = True
        with pytest.raises(ValidationFailed) as err:
            make_competition(marker_logins="nobody")
        assert err.value.errors["marker_logins"] == "未知的阅卷人：nobody"


def test_option_shuffle_stored_per_paper_kept_on_resume_and_used_for_marking(app, comp, client_for):
    """选项乱序: each paper has its own order of the 单选/多选 options, stored with the paper; the resumed paper
    shows the same order; the candidate answers in the letters shown and scoring maps them back."""
    from app.training.models import Competition

    with app.app_context():
        c = db.session.get(Competition, comp)
        c.rules = {**c.rules, "counts": {**c.rules["counts"], "case": 0}, "shuffle_options": True}
        db.session.commit()
        orders = {}
        for login in ("hp_officer", "xh_officer"):
            me = user(login)
            p = compete.start_or_resume(c, me, START)
            objective = [a for a in p.answers if a.question.qtype in ("single", "multi")]
            assert objective
            assert all(sorted(a.option_order) == list("ABCDEF"[: len(a.question.options)]) for a in objective)
            assert all(a.option_order is None for a in p.answers if a.question.qtype == "judge")
            orders[login] = {a.question_id: a.option_order for a in objective}
            if login == "hp_officer":  # every objective question answered right, in the letters shown
                answers = {str(a.question_id): a.shown_answer() for a in objective}
                compete.save_answers(p, me, answers, START + timedelta(minutes=1))
                hp_paper = p.id
        db.session.commit()
        assert any(set(o.values()) - {"ABCD", "AB", "ABC"} for o in orders.values())  # not all in bank order
        # Resumed: the same order, from the stored column (not drawn again).
        again = compete.start_or_resume(c, user("hp_officer"), START + timedelta(minutes=2))
        assert again.id == hp_paper
        assert {a.question_id: a.option_order for a in again.answers if a.option_order} == orders["hp_officer"]
        shown = {a.question_id: a.shown_options() for a in again.answers if a.option_order}
    # The page shows the options in the paper's order.
    with time_machine.travel(START + timedelta(minutes=3), tick=False):
        page = client_for("hp_officer").get(f"/training/papers/{hp_paper}").get_data(as_text=True)
    for qid, options in shown.items():
        card = page[page.index(f'id="q-{qid}"') :]
        card = card[: card.index("</div></div>")]
        positions = [card.index(f"{letter}. {text}") for letter, text in options]
        assert positions == sorted(positions), qid
    with app.app_context():
        p = db.session.get(Paper, hp_paper)
        singles_multis = [a for a in p.answers if a.option_order]
        compete.submit(p, user("hp_officer"), START + timedelta(minutes=4))
        assert all(a.correct for a in singles_multis)
        assert all(a.to_bank(a.response) == a.question.answer for a in singles_multis)


def test_option_shuffle_is_a_rule_on_by_default_for_new_competitions(app, comp, client_for):
    from app.training.models import Competition

    c = client_for("leader")
    page = c.get("/training/rules/competitions/new").get_data(as_text=True)
    box = page[page.index('name="shuffle_options"') :][:80]
    assert "checked" in box  # on by default for a new competition
    form = {
        "name": "黄浦区执法比武（乱序）",
        "count_single": "2",
        "score_single": "5",
        "time_limit_minutes": "20",
        "max_attempts": "1",
        "starts_at": "2026-06-15T09:00",
        "ends_at": "2026-06-15T12:00",
    }
    assert c.post("/training/rules/competitions/new", data={**form, "shuffle_options": "1"}).status_code == 303
    assert c.post("/training/rules/competitions/new", data={**form, "name": "不乱序"}).status_code == 303
    with app.app_context():
        rows = {x.name: x.shuffle_options for x in db.session.scalars(select(Competition))}
        assert rows == {"黄浦区执法比武（乱序）": True, "不乱序": False, db.session.get(Competition, comp).name: False}
        cid = db.session.scalar(select(Competition.id).where(Competition.name == "不乱序"))
    box = c.get(f"/training/rules/competitions/{cid}").get_data(as_text=True)
    assert "checked" not in box[box.index('name="shuffle_options"') :][:80]
