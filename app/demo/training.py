"""Demo data for 技能拉练: the question bank (app/demo/training_questions.py), a finished competition with
results, rankings and a few papers still waiting in the markers' inbox, an open competition, and practice
records for officers across the districts. Idempotent: nothing is added when the bank has questions."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.models_base import utcnow
from app.training import bank, compete, marking, practice
from app.training.models import Question

LETTERS = "ABCD"
MARKERS = ["fz_chief", "dcc_chief"]
CASE_ANSWER = (
    "该行为违反了安全生产法的相关规定。应当责令限期改正，依法处以罚款；"
    "逾期未改正的，责令停产停业整顿，并对直接负责的主管人员依法处罚。"
)


def _questions(admin) -> int:
    from app.demo.training_questions import CASES, FACTS, MULTI

    rng = random.Random(17)
    n = 0
    for law, industry, diff, stem, right, wrong, judge, expl in FACTS:
        options = [right, *wrong]
        rng.shuffle(options)
        common = {"law": law, "industry": industry, "difficulty": str(diff), "explanation": expl}
        bank.save_question(
            admin,
            {**common, "qtype": "single", "stem": stem, "options": options, "answer": LETTERS[options.index(right)]},
        )
        n += 1
        if judge:
            for text, value in ((right, "对"), (wrong[0], "错")):
                statement = stem.replace("（　）", text)
                bank.save_question(admin, {**common, "qtype": "judge", "stem": statement, "answer": value})
                n += 1
    for law, industry, diff, stem, options, answer, expl in MULTI:
        bank.save_question(
            admin,
            {
                "qtype": "multi",
                "stem": stem,
                "options": options,
                "answer": answer,
                "law": law,
                "industry": industry,
                "difficulty": str(diff),
                "explanation": expl,
            },
        )
        n += 1
    for law, industry, diff, stem, reference in CASES:
        bank.save_question(
            admin,
            {
                "qtype": "case",
                "stem": stem,
                "answer": reference,
                "law": law,
                "industry": industry,
                "difficulty": str(diff),
                "explanation": "评分时按要点给分，依据、处理意见齐全得满分。",
            },
        )
        n += 1
    return n


def _people() -> list[User]:
    logins = [f"d{i:02d}_{role}" for i in range(1, 17) for role in ("officer", "leader")]
    logins += [f"city_officer{i}" for i in range(1, 5)]
    return list(db.session.scalars(select(User).where(User.login.in_(logins)).order_by(User.login)))


def _response(q: Question, skill: float, rng: random.Random) -> str:
    if q.qtype == "case":
        return CASE_ANSWER if rng.random() < 0.9 else ""
    if rng.random() < skill:
        return q.answer
    if q.qtype == "judge":
        return "F" if q.answer == "T" else "T"
    if q.qtype == "multi":
        return q.answer[:-1] if rng.random() < 0.5 else "AB"
    return next(ch for ch in LETTERS if ch != q.answer)


def _finished_competition(admin, people, rng, now) -> dict:
    start = (now - timedelta(days=45)).replace(hour=1, minute=0, second=0, microsecond=0)  # 09:00 Shanghai
    comp = compete.save_competition(
        admin,
        {
            "name": "2026年全市安全生产执法比武（初赛）",
            "count_single": "20",
            "score_single": "2",
            "count_multi": "5",
            "score_multi": "4",
            "count_judge": "10",
            "score_judge": "1",
            "count_case": "2",
            "score_case": "15",
            "time_limit_minutes": "90",
            "max_attempts": "1",
            "starts_at": start,
            "ends_at": start + timedelta(hours=8),
            "marker_logins": ",".join(MARKERS),
        },
    )
    skills = {}
    papers = []
    for person in people:
        district = person.login[1:3] if person.login.startswith("d") else "00"
        skill = skills.setdefault(person.id, min(0.95, 0.55 + (int(district) % 5) * 0.07 + rng.random() * 0.15))
        begin = start + timedelta(minutes=rng.randint(0, 30))
        paper = compete.start_or_resume(comp, person, begin)
        answers = {str(a.question_id): _response(a.question, skill, rng) for a in paper.answers}
        compete.save_answers(paper, person, answers, begin + timedelta(minutes=20))
        compete.submit(paper, person, begin + timedelta(minutes=rng.randint(35, 85)))
        papers.append(paper)
    marked = 0
    marker = db.session.scalar(select(User).where(User.login == MARKERS[0]))
    for paper in papers[:-3]:  # three papers are left in the markers' inbox
        cases = [a for a in paper.answers if a.question.qtype == "case"]
        scores = {str(a.id): str(rng.randint(6, 14) if a.response else 0) for a in cases}
        marking.mark_paper(paper.id, marker, scores, {}, start + timedelta(days=1))
        marked += 1
    return {"competition_papers": len(papers), "competition_marked": marked}


def _open_competition(admin, now) -> None:
    from app.training.models import Question as Q

    laws = ["中华人民共和国安全生产法", "危险化学品安全管理条例"]
    assert db.session.scalar(select(func.count(Q.id)).where(Q.law.in_(laws)))
    compete.save_competition(
        admin,
        {
            "name": "2026年第四季度危险化学品专项执法比武",
            "laws": laws,
            "count_single": "15",
            "score_single": "3",
            "count_multi": "5",
            "score_multi": "5",
            "count_judge": "10",
            "score_judge": "1",
            "count_case": "1",
            "score_case": "20",
            "time_limit_minutes": "60",
            "max_attempts": "2",
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=14),
            "marker_logins": ",".join(MARKERS),
        },
    )


def _practice(people, rng, now) -> int:
    objective = list(db.session.scalars(select(Question).where(Question.qtype != "case")))
    n = 0
    for person in people:
        weak = rng.choice(sorted({q.law for q in objective}))
        for _ in range(rng.randint(8, 30)):
            q = rng.choice(objective)
            skill = 0.35 if q.law == weak else 0.8
            when = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
            practice.answer(person, q.id, _response(q, skill, rng) or "A", when)
            n += 1
    return n


def seed_training() -> dict[str, int]:
    from app.engine import deploy

    if db.session.scalar(select(func.count(Question.id))):
        return {}
    folder = Path(current_app.config["WORKFLOWS_DIR"])
    deploy.deploy(deploy.sources_from_files(folder / "training_marking.bpmn"), comment="演示数据：部署案例分析评阅流程")
    admin = db.session.scalar(select(User).where(User.login == "leader"))
    rng = random.Random(20261117)
    now = utcnow()
    result = {"training_questions": _questions(admin)}
    people = _people()
    result |= _finished_competition(admin, people, rng, now)
    _open_competition(admin, now)
    result["practice_records"] = _practice(people, rng, now)
    db.session.flush()
    return result
