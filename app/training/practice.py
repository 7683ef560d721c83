"""模拟练习: questions by tag with immediate feedback, the wrong-answer book (错题本), per-person records,
the versioned practice rules, and the records query through the data scope."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, select

from app.auth.models import User
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation
from app.security.scope import scope_for
from app.training.compete import SHANGHAI, normalise
from app.training.models import PracticeRecord, Question, TrainingSetting, WrongAnswer

DEFAULT_SETTINGS = {"batch_size": 10, "clear_after": 2, "include_case": False}
SETTING_LABELS = {
    "batch_size": "每次练习题数",
    "clear_after": "错题连续答对几次后移出错题本",
    "include_case": "练习中包含案例分析题（只显示参考答案，不计对错）",
}


def settings() -> dict:
    row = db.session.scalar(select(TrainingSetting).order_by(TrainingSetting.version.desc()).limit(1))
    return {**DEFAULT_SETTINGS, **(row.values if row else {})}


def setting_history() -> list[TrainingSetting]:
    return list(db.session.scalars(select(TrainingSetting).order_by(TrainingSetting.version.desc()).limit(20)))


def save_settings(actor, values: dict, note: str = "") -> TrainingSetting:
    errors = {}
    try:
        batch = int(values.get("batch_size") or 0)
        if not 1 <= batch <= 100:
            raise ValueError
    except ValueError:
        errors["batch_size"] = "每次练习题数应为 1–100 的整数"
        batch = 0
    try:
        clear = int(values.get("clear_after") or 0)
        if not 1 <= clear <= 10:
            raise ValueError
    except ValueError:
        errors["clear_after"] = "移出错题本的连续答对次数应为 1–10 的整数"
        clear = 0
    if errors:
        raise ValidationFailed("练习规则填写有误：" + "；".join(errors.values()), errors=errors)
    version = (db.session.scalar(select(func.max(TrainingSetting.version))) or 0) + 1
    row = TrainingSetting(
        version=version,
        values={"batch_size": batch, "clear_after": clear, "include_case": bool(values.get("include_case"))},
        note=(note or "").strip()[:200] or None,
        updated_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    return row


def pick(
    user, *, law: str = "", industry: str = "", difficulty: int | None = None, wrong_book: bool = False
) -> list[int]:
    """The ids of the next practice batch: by tag, or from the person's wrong-answer book."""
    conf = settings()
    if wrong_book:
        stmt = select(WrongAnswer.question_id).where(WrongAnswer.user_id == user.id, WrongAnswer.cleared.is_(False))
    else:
        stmt = select(Question.id).where(Question.active)
        if not conf["include_case"]:
            stmt = stmt.where(Question.qtype != "case")
        if law:
            stmt = stmt.where(Question.law == law)
        if industry:
            stmt = stmt.where(Question.industry == industry)
        if difficulty:
            stmt = stmt.where(Question.difficulty == difficulty)
    ids = list(db.session.scalars(stmt))
    if not ids:
        raise ValidationFailed("错题本是空的，先去练习吧" if wrong_book else "没有符合条件的题目，请换个标签再试")
    return random.sample(ids, min(len(ids), conf["batch_size"]))


def answer(user, question_id: int, response, now: datetime) -> dict:
    """Check one practice answer at once; record it; keep the wrong-answer book."""
    question = db.session.get(Question, question_id)
    if question is None or not question.active:
        raise NotFound("题目不存在或已停用")
    given = normalise(question, response)
    if not given:
        raise ValidationFailed("请先作答再提交", errors={"response": "请选择或填写答案"})
    if question.qtype == "case":
        return {"question": question, "given": given, "correct": None}
    correct = given == question.answer
    db.session.add(
        PracticeRecord(
            user_id=user.id,
            org_id=user.org_id,
            question_id=question.id,
            response=given,
            correct=correct,
            answered_at=now,
        )
    )
    book = db.session.scalar(
        select(WrongAnswer).where(WrongAnswer.user_id == user.id, WrongAnswer.question_id == question.id)
    )
    if not correct:
        if book is None:
            book = WrongAnswer(user_id=user.id, question_id=question.id)
            db.session.add(book)
        book.wrong_count = (book.wrong_count or 0) + 1
        book.streak, book.last_response, book.last_wrong_at, book.cleared = 0, given, now, False
    elif book is not None and not book.cleared:
        book.streak += 1
        book.cleared = book.streak >= settings()["clear_after"]
    db.session.flush()
    return {"question": question, "given": given, "correct": correct, "book": book}


def wrong_book(user) -> list[WrongAnswer]:
    return list(
        db.session.scalars(
            select(WrongAnswer)
            .where(WrongAnswer.user_id == user.id, WrongAnswer.cleared.is_(False))
            .order_by(WrongAnswer.last_wrong_at.desc())
        )
    )


def my_summary(user) -> dict:
    row = db.session.execute(
        select(func.count(), func.sum(case((PracticeRecord.correct, 1), else_=0))).where(
            PracticeRecord.user_id == user.id
        )
    ).one()
    total, right = row[0] or 0, int(row[1] or 0)
    return {"total": total, "right": right, "rate": round(right * 100 / total, 1) if total else None}


# --------------------------------------------------------------------------------------------- records


def _day_bounds(start: date | None, end: date | None):
    lo = datetime.combine(start, time.min, SHANGHAI) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI) if end else None
    return lo, hi


def records(viewer, *, person: str = "", org_id: int | None = None, start: date | None = None, end: date | None = None):
    """模拟练习记录查询: one row per person and unit in the period, inside the viewer's data scope."""
    right = func.sum(case((PracticeRecord.correct, 1), else_=0))
    stmt = (
        select(
            User.name.label("person"),
            Organisation.name.label("unit"),
            func.count(PracticeRecord.id).label("answered"),
            right.label("right"),
            func.min(PracticeRecord.answered_at).label("first_at"),
            func.max(PracticeRecord.answered_at).label("last_at"),
        )
        .join(User, User.id == PracticeRecord.user_id)
        .join(Organisation, Organisation.id == PracticeRecord.org_id)
        .group_by(User.id, User.name, Organisation.id, Organisation.name)
        .order_by(Organisation.name, User.name)
    )
    stmt = scope_for(viewer).filter_org(stmt, PracticeRecord.org_id)
    if person:
        stmt = stmt.where((User.name.contains(person, autoescape=True)) | (User.login == person))
    if org_id:
        unit = db.session.get(Organisation, org_id)
        if unit is not None:
            stmt = stmt.where(Organisation.path.startswith(unit.path, autoescape=True))
    lo, hi = _day_bounds(start, end)
    if lo:
        stmt = stmt.where(PracticeRecord.answered_at >= lo)
    if hi:
        stmt = stmt.where(PracticeRecord.answered_at < hi)
    out = []
    for r in db.session.execute(stmt.limit(5000)):
        out.append(
            {
                "person": r.person,
                "unit": r.unit,
                "answered": r.answered,
                "right": int(r.right or 0),
                "rate": round(int(r.right or 0) * 100 / r.answered, 1) if r.answered else 0,
                "first_at": r.first_at,
                "last_at": r.last_at,
            }
        )
    return out
