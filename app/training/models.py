"""Skill training tables: questions, competitions, papers and answers, practice records, settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

QTYPES = {"single": "单选", "multi": "多选", "judge": "判断", "case": "案例分析"}
DIFFICULTY = {1: "易", 2: "中", 3: "难"}
OPTION_LETTERS = "ABCDEF"
PAPER_STATUS = {"answering": "作答中", "marking": "待人工评分", "scored": "已评分"}


class Question(db.Model):
    """One question of the bank. `answer`: option letters ("A", "AC"), "T"/"F" for 判断, the reference
    points for 案例分析 (marked by people)."""

    __tablename__ = "training_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    qtype: Mapped[str] = mapped_column(String(8), index=True)
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    law: Mapped[str] = mapped_column(String(100), index=True)
    industry: Mapped[str] = mapped_column(String(40), default="通用", index=True)
    difficulty: Mapped[int] = mapped_column(default=2)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def qtype_label(self) -> str:
        return QTYPES.get(self.qtype, self.qtype)

    @property
    def difficulty_label(self) -> str:
        return DIFFICULTY.get(self.difficulty, str(self.difficulty))

    @property
    def answer_label(self) -> str:
        if self.qtype == "judge":
            return "正确" if self.answer == "T" else "错误"
        return self.answer


class Competition(db.Model):
    """执法比武 and its rules. `rules`: {"counts": {type: n}, "scores": {type: points}}."""

    __tablename__ = "training_competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the organiser
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    laws: Mapped[list] = mapped_column(JSON, default=list)  # empty: the whole bank
    time_limit_minutes: Mapped[int] = mapped_column(default=60)
    max_attempts: Mapped[int] = mapped_column(default=1)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eligible_org_ids: Mapped[list] = mapped_column(JSON, default=list)  # empty: everyone
    marker_logins: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship()

    @property
    def shuffle_options(self) -> bool:
        """选项乱序: each paper shows the options of 单选/多选 questions in an order of its own."""
        return bool(self.rules.get("shuffle_options"))

    def count(self, qtype: str) -> int:
        return int((self.rules.get("counts") or {}).get(qtype) or 0)

    def score(self, qtype: str) -> float:
        return float((self.rules.get("scores") or {}).get(qtype) or 0)

    @property
    def full_marks(self) -> float:
        return sum(self.count(t) * self.score(t) for t in QTYPES)


class Paper(db.Model):
    """One candidate's attempt: the questions drawn from `seed`, the server-side clock, the scores."""

    __tablename__ = "training_papers"
    __table_args__ = (UniqueConstraint("competition_id", "user_id", "attempt_no", name="uq_training_paper_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # what markers see instead of the name
    competition_id: Mapped[int] = mapped_column(ForeignKey("training_competitions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(default=1)
    seed: Mapped[int] = mapped_column(BigInteger)
    question_ids: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submit_note: Mapped[str | None] = mapped_column(String(40))  # 手动交卷 / 超时自动交卷
    status: Mapped[str] = mapped_column(String(16), default="answering", index=True)
    version: Mapped[int] = mapped_column(default=1)
    auto_score: Mapped[float | None]
    manual_score: Mapped[float | None]
    total_score: Mapped[float | None]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id", ondelete="SET NULL"))

    competition: Mapped[Competition] = relationship()
    user: Mapped[User] = relationship()
    org: Mapped[Organisation] = relationship()
    answers: Mapped[list[PaperAnswer]] = relationship(
        back_populates="paper", order_by="PaperAnswer.position", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return PAPER_STATUS.get(self.status, self.status)

    @property
    def used_seconds(self) -> int:
        end = self.submitted_at or self.deadline_at
        return max(0, int((min(end, self.deadline_at) - self.started_at).total_seconds()))


Index("ix_training_papers_comp_status", Paper.competition_id, Paper.status)


class PaperAnswer(db.Model):
    __tablename__ = "training_answers"
    __table_args__ = (UniqueConstraint("paper_id", "question_id", name="uq_training_answer_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("training_papers.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("training_questions.id"))
    position: Mapped[int]
    max_score: Mapped[float]
    response: Mapped[str | None] = mapped_column(Text)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correct: Mapped[bool | None]
    score: Mapped[float | None]
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mark_comment: Mapped[str | None] = mapped_column(Text)
    # The original option letters in the order shown ("CADB": the A shown is the question's C); None: as in the
    # bank. `response` holds the letters the candidate ticked as shown; scoring maps them back.
    option_order: Mapped[str | None] = mapped_column(String(8))

    paper: Mapped[Paper] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship(lazy="joined")

    def order(self, n_options: int) -> str:
        """The stored order when it still fits the question (its options were not edited since), else A, B, …"""
        plain = OPTION_LETTERS[:n_options]
        return self.option_order if self.option_order and sorted(self.option_order) == list(plain) else plain

    def shown_options(self) -> list[tuple[str, str]]:
        """(letter shown, option text) in the paper's order."""
        options = self.question.options or []
        order = self.order(len(options))
        return [(OPTION_LETTERS[i], options[OPTION_LETTERS.index(o)]) for i, o in enumerate(order)]

    def to_bank(self, shown: str | None) -> str:
        """Letters as shown -> the bank's letters (sorted), what the answer key is written in. Other types, and
        letters past the options (they stay wrong), are kept as they are."""
        if self.question.qtype not in ("single", "multi") or not shown:
            return shown or ""
        order = self.order(len(self.question.options or []))
        return "".join(sorted(order[i] if 0 <= (i := OPTION_LETTERS.find(ch)) < len(order) else ch for ch in shown))

    def shown_answer(self) -> str:
        """The answer key in the letters shown on this paper."""
        q = self.question
        if q.qtype not in ("single", "multi"):
            return q.answer_label
        order = self.order(len(q.options or []))
        return "".join(sorted(OPTION_LETTERS[order.index(ch)] for ch in q.answer if ch in order))


class PracticeRecord(db.Model):
    """One practised question: who, where (unit at the time), when, right or wrong."""

    __tablename__ = "training_practice_records"
    __table_args__ = (Index("ix_training_practice_org_time", "org_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("training_questions.id", ondelete="CASCADE"), index=True)
    response: Mapped[str] = mapped_column(String(16))
    correct: Mapped[bool]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    question: Mapped[Question] = relationship()


class WrongAnswer(db.Model):
    """错题本: a question a person got wrong, until answered right `streak` times in a row."""

    __tablename__ = "training_wrong_book"
    __table_args__ = (UniqueConstraint("user_id", "question_id", name="uq_training_wrong_user_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("training_questions.id", ondelete="CASCADE"))
    wrong_count: Mapped[int] = mapped_column(default=0)
    streak: Mapped[int] = mapped_column(default=0)
    last_response: Mapped[str | None] = mapped_column(String(16))
    last_wrong_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared: Mapped[bool] = mapped_column(default=False)

    question: Mapped[Question] = relationship(lazy="joined")


class TrainingSetting(db.Model):
    """Versioned practice rules (比武及练习规则管理): every save adds a row; the newest version applies."""

    __tablename__ = "training_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    updated_by: Mapped[User | None] = relationship()
