"""Results: rankings by person, unit (brigade) and district, the certificate, and the statistics
(participation, average score, weak topics by district) inside the viewer's data scope."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from app.enterprises.reference import districts
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import scope_for
from app.training.models import Competition, Paper, PaperAnswer, PracticeRecord, Question

CITY_LABEL = "市局机关"


def _district_name(org: Organisation, names: dict) -> str:
    return names.get(org.district_code or "", CITY_LABEL)


def person_ranking(comp: Competition) -> list[dict]:
    """The best scored paper of each candidate; ties go to the quicker one."""
    best: dict[int, Paper] = {}
    for p in db.session.scalars(select(Paper).where(Paper.competition_id == comp.id, Paper.status == "scored")):
        cur = best.get(p.user_id)
        if cur is None or (p.total_score, -p.used_seconds) > (cur.total_score, -cur.used_seconds):
            best[p.user_id] = p
    names = districts()
    rows = sorted(best.values(), key=lambda p: (-(p.total_score or 0), p.used_seconds, p.id))
    out, rank, prev = [], 0, None
    for i, p in enumerate(rows, start=1):
        key = (p.total_score, p.used_seconds)
        rank = rank if key == prev else i
        prev = key
        out.append(
            {
                "rank": rank,
                "paper": p,
                "name": p.user.name,
                "unit": p.org.name,
                "district": _district_name(p.org, names),
                "score": p.total_score,
                "minutes": round(p.used_seconds / 60, 1),
            }
        )
    return out


def group_ranking(people: list[dict], key: str) -> list[dict]:
    groups: dict[str, list[float]] = defaultdict(list)
    for row in people:
        groups[row[key]].append(row["score"] or 0)
    rows = [
        {"name": name, "count": len(scores), "average": round(sum(scores) / len(scores), 1), "best": max(scores)}
        for name, scores in groups.items()
    ]
    rows.sort(key=lambda r: (-r["average"], -r["count"], r["name"]))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows


def certificate_context(paper: Paper) -> dict:
    people = person_ranking(paper.competition)
    mine = next((r for r in people if r["paper"].user_id == paper.user_id), None)
    return {
        "title": f"{paper.competition.name}成绩证书",
        "name": paper.user.name,
        "unit": paper.org.name,
        "competition": paper.competition.name,
        "score": paper.total_score,
        "full_marks": paper.competition.full_marks,
        "rank": mine["rank"] if mine else None,
        "participants": len(people),
        "code": paper.code,
        "date": paper.submitted_at,
    }


def statistics(viewer) -> dict:
    """Per district: people who took part (competition or practice), average competition score as a
    percentage of full marks, and the three laws with the lowest correct rate (weak topics)."""
    scope = scope_for(viewer)
    names = districts()
    orgs = {o.id: o for o in db.session.scalars(scope.filter_org(select(Organisation), Organisation.id))}
    people: dict[str, set] = defaultdict(set)
    scores: dict[str, list[float]] = defaultdict(list)
    topic: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))

    papers = db.session.execute(
        scope.filter_org(
            select(Paper.id, Paper.user_id, Paper.org_id, Paper.total_score, Competition.rules).join(Competition),
            Paper.org_id,
        ).where(Paper.status == "scored")
    ).all()
    for _pid, uid, org_id, total, rules in papers:
        d = _district_name(orgs[org_id], names) if org_id in orgs else CITY_LABEL
        people[d].add(uid)
        full = sum(
            int((rules.get("counts") or {}).get(t) or 0) * float((rules.get("scores") or {}).get(t) or 0)
            for t in (rules.get("counts") or {})
        )
        if full:
            scores[d].append((total or 0) * 100 / full)
    answered = db.session.execute(
        scope.filter_org(
            select(Paper.org_id, Question.law, PaperAnswer.correct)
            .join(PaperAnswer, PaperAnswer.paper_id == Paper.id)
            .join(Question, Question.id == PaperAnswer.question_id),
            Paper.org_id,
        ).where(Paper.status == "scored", PaperAnswer.correct.is_not(None))
    ).all()
    practised = db.session.execute(
        scope.filter_org(
            select(PracticeRecord.org_id, Question.law, PracticeRecord.correct, PracticeRecord.user_id).join(
                Question, Question.id == PracticeRecord.question_id
            ),
            PracticeRecord.org_id,
        )
    ).all()
    for org_id, law, correct in answered:
        d = _district_name(orgs[org_id], names) if org_id in orgs else CITY_LABEL
        topic[d][law][0] += 1
        topic[d][law][1] += 1 if correct else 0
    for org_id, law, correct, uid in practised:
        d = _district_name(orgs[org_id], names) if org_id in orgs else CITY_LABEL
        people[d].add(uid)
        topic[d][law][0] += 1
        topic[d][law][1] += 1 if correct else 0
    order = [*names.values(), CITY_LABEL]
    rows = []
    for d in order:
        if d not in people and d not in topic:
            continue
        weak = sorted(
            ((law, round(r * 100 / n, 1), n) for law, (n, r) in topic[d].items() if n >= 3),
            key=lambda x: (x[1], -x[2]),
        )[:3]
        rows.append(
            {
                "district": d,
                "people": len(people[d]),
                "average": round(sum(scores[d]) / len(scores[d]), 1) if scores[d] else None,
                "weak": weak,
            }
        )
    return {"rows": rows, "scope": scope.label}
