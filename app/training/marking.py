"""Manual marking of 案例分析 answers: the `training_marking` process (workflows/training_marking.bpmn).

A submitted paper with case questions starts one instance, started by the system (no initiator, so the
inbox never shows the candidate) and named by the paper's code only. The markers of the competition,
minus the candidate, hold the task (或签). They mark on /training/marking/<task>, which checks that the
marker is not the candidate, stores the scores, then completes the inbox task; the service task
`training.finish_marking` adds the scores up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.auth.models import User
from app.engine import runtime
from app.engine.services import service
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.inbox.models import HumanTask
from app.inbox.queries import can_act
from app.training.models import Paper, PaperAnswer

PROCESS_ID = "training_marking"


def start_for(paper: Paper):
    comp = paper.competition
    candidate = db.session.get(User, paper.user_id)
    markers = [m for m in comp.marker_logins or [] if m != candidate.login]
    cases = [a for a in paper.answers if a.question.qtype == "case"]
    data = {
        "paper_id": paper.id,
        "paper_code": paper.code,
        "subject": f"案例分析评阅：{comp.name}（试卷 {paper.code}）",
        "competition_name": comp.name,
        "case_text": f"共 {len(cases)} 道案例分析题，满分 {sum(a.max_score for a in cases):g} 分",
        "marker_logins": ",".join(markers),
        "mark_hint": "请在「技能拉练 → 案例分析评阅」页面按试卷编号逐题打分，完成后本待办自动办结",
    }
    instance = runtime.start(
        PROCESS_ID,
        actor=None,
        org=comp.org,
        data=data,
        business_key=f"training-paper:{paper.id}",
        entry="training_page",
    )
    paper.instance_id = instance.id
    return instance


def open_task(paper: Paper) -> HumanTask | None:
    if paper.instance_id is None:
        return None
    return db.session.scalar(
        select(HumanTask)
        .where(HumanTask.instance_id == paper.instance_id, HumanTask.status == "open")
        .order_by(HumanTask.id)
        .limit(1)
    )


def my_papers(user) -> list[tuple[Paper, HumanTask]]:
    """Papers waiting for this marker (the open marking tasks they may act on)."""
    rows = db.session.scalars(
        select(HumanTask).where(
            HumanTask.process_id == PROCESS_ID, HumanTask.status == "open", HumanTask.assignee_id == user.id
        )
    )
    out = []
    for row in rows:
        paper = db.session.scalar(select(Paper).where(Paper.instance_id == row.instance_id))
        if paper is not None:
            out.append((paper, row))
    return out


def load_for_marker(paper_id: int, user) -> tuple[Paper, HumanTask, list[PaperAnswer]]:
    """The paper as a marker sees it (code, questions, answers; never the name): refused to the candidate."""
    paper = db.session.get(Paper, paper_id)
    if paper is None or paper.instance_id is None:
        raise NotFound("待评阅的试卷不存在")
    if paper.user_id == user.id:
        raise PermissionDenied("不能评阅本人的试卷")
    if paper.status != "marking":
        raise NotFound("该试卷已评阅完毕或不需要人工评分")
    rows = db.session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id == paper.instance_id, HumanTask.status == "open")
        .order_by(HumanTask.id)
    ).all()
    mine = next((r for r in rows if can_act(user, r)), None)
    if mine is None:
        raise PermissionDenied("您不是这份试卷的阅卷人")
    cases = [a for a in paper.answers if a.question.qtype == "case"]
    return paper, mine, cases


def mark_paper(paper_id: int, actor, scores: dict, comments: dict, now: datetime) -> Paper:
    """Store a marker's scores for every case answer, then complete the inbox task."""
    from app.inbox import actions

    paper, row, cases = load_for_marker(paper_id, actor)
    errors = {}
    parsed = {}
    for a in cases:
        raw = str(scores.get(str(a.id), "")).strip()
        try:
            value = float(raw)
        except ValueError:
            errors[f"score_{a.id}"] = f"第 {a.position} 题请填写得分（数字）"
            continue
        if not 0 <= value <= a.max_score:
            errors[f"score_{a.id}"] = f"第 {a.position} 题得分应在 0–{a.max_score:g} 分之间"
        parsed[a.id] = round(value, 1)
    if errors:
        raise ValidationFailed("评分填写有误：" + "；".join(errors.values()), errors=errors)
    for a in cases:
        a.score, a.correct = parsed[a.id], parsed[a.id] >= a.max_score * 0.6
        a.marked_by_id, a.marked_at = actor.id, now
        a.mark_comment = (str(comments.get(str(a.id), "")).strip() or None) if comments else None
    db.session.flush()
    actions.complete(row, actor, action="complete", form_data={"manual_score": sum(parsed.values())})
    return paper


@service("training.finish_marking")
def finish_marking(data: dict) -> float:
    """Add up the manual scores; refuses (the marker's act is undone) while a case answer has none."""
    paper = db.session.get(Paper, int(data.get("paper_id") or 0))
    if paper is None:
        raise NotFound("流程关联的试卷不存在")
    cases = [a for a in paper.answers if a.question.qtype == "case"]
    if any(a.score is None for a in cases):
        raise ValidationFailed("还有案例分析题没有评分，请在「案例分析评阅」页面逐题打分后提交")
    paper.manual_score = round(sum(a.score for a in cases), 2)
    paper.total_score = round((paper.auto_score or 0) + paper.manual_score, 2)
    paper.status = "scored"
    db.session.flush()
    return paper.total_score
