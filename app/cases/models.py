"""案卷评查 (R2.5.1): cases with parties, violations, documents and procedure dates; review checklists as
versioned rule sets per case type; reviews (评查) run by workflows/case_review.bpmn; 行刑衔接 referrals;
versioned settings; the reminder log of 合格案卷 submission."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.knowledge.models import KnowledgeEntry
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

CASE_TYPES = {"simple": "简易程序", "general": "一般程序"}
CASE_STATUSES = {"open": "办理中", "closed": "已结案"}
# Procedure steps in order: (date column, Chinese name).
STEPS = [
    ("discovered_on", "发现"),
    ("filed_on", "立案"),
    ("investigated_on", "调查"),
    ("notified_on", "告知"),
    ("decided_on", "决定"),
    ("served_on", "送达"),
    ("executed_on", "执行"),
    ("closed_on", "结案"),
]
STEP_NAMES = dict(STEPS)
DOC_TYPES = {
    "filing_approval": "立案审批表",
    "inquiry": "询问笔录",
    "inspection_record": "现场检查记录",
    "notice": "行政处罚告知书",
    "decision": "行政处罚决定书",
    "service_receipt": "送达回证",
    "execution": "执行记录",
    "closing_report": "结案审批表",
}
PARTY_KINDS = {"unit": "单位", "person": "个人（负责人）"}
REVIEW_STATUSES = {
    "assigning": "待分派",
    "scoring": "评查中",
    "signoff": "待签发",
    "signed": "已签发",
    "returned": "退回重评",
}
CONCLUSIONS = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
RULESET_STATUSES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
ACCEPTANCE = {"pending": "待答复", "accepted": "已受理", "rejected": "不予受理"}


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    case_type: Mapped[str] = mapped_column(String(16), default="general", index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # 主办人
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    source: Mapped[str] = mapped_column(String(12), default="manual")  # manual / xlsx
    facts: Mapped[str] = mapped_column(Text, default="")
    discovered_on: Mapped[date | None] = mapped_column(Date)
    filed_on: Mapped[date | None] = mapped_column(Date, index=True)
    investigated_on: Mapped[date | None] = mapped_column(Date)
    notified_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    served_on: Mapped[date | None] = mapped_column(Date)
    executed_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # 合格案卷报送: when the unit submitted the qualified file.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship()
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseParty.id"
    )
    violations: Mapped[list[CaseViolation]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseViolation.id"
    )
    documents: Mapped[list[CaseDocument]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseDocument.id"
    )

    @property
    def type_label(self) -> str:
        return CASE_TYPES.get(self.case_type, self.case_type)

    @property
    def status_label(self) -> str:
        return CASE_STATUSES.get(self.status, self.status)


class CaseParty(db.Model):
    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # unit / person
    name: Mapped[str] = mapped_column(String(120))
    id_code: Mapped[str | None] = mapped_column(String(40))  # credit code of a unit; position of a person
    penalty_yuan: Mapped[int | None] = mapped_column()  # 罚款（元）; None: no fine

    case: Mapped[Case] = relationship(back_populates="parties")

    @property
    def kind_label(self) -> str:
        return PARTY_KINDS.get(self.kind, self.kind)


class CaseViolation(db.Model):
    __tablename__ = "case_violations"
    __table_args__ = (UniqueConstraint("case_id", "entry_id", name="uq_case_violations_case_entry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id"), index=True)

    case: Mapped[Case] = relationship(back_populates="violations")
    entry: Mapped[KnowledgeEntry] = relationship()


class CaseDocument(db.Model):
    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    doc_type: Mapped[str] = mapped_column(String(24))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(default=0)
    sm3: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str | None] = mapped_column(String(400))  # None: registered by an import, file kept elsewhere
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="documents")

    @property
    def type_label(self) -> str:
        return DOC_TYPES.get(self.doc_type, self.doc_type)


class ReviewRuleSet(db.Model):
    """A checklist version for one case type: items [{code, title, points, check}] and the rule table
    `limits` (deadlines, required documents, 一案双罚 articles, conclusion thresholds). Published versions
    are frozen; an edit makes a new draft; publishing retires the previous published version."""

    __tablename__ = "case_rule_sets"
    __table_args__ = (UniqueConstraint("case_type", "version", name="uq_case_rule_sets_type_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_type: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="draft")
    items: Mapped[list] = mapped_column(JSON, default=list)
    limits: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return RULESET_STATUSES.get(self.status, self.status)

    @property
    def type_label(self) -> str:
        return CASE_TYPES.get(self.case_type, self.case_type)

    @property
    def total_points(self) -> float:
        return float(sum(float(i.get("points") or 0) for i in self.items or []))


class CaseReview(db.Model):
    """One 评查 of a case: the rule set version used, the item scores ([{code, title, points, check, auto,
    auto_message, score, reason}]), total, conclusion and sign-off."""

    __tablename__ = "case_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("case_rule_sets.id"))
    status: Mapped[str] = mapped_column(String(12), default="assigning", index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(index=True)
    scores: Mapped[list] = mapped_column(JSON, default=list)
    total_score: Mapped[float | None] = mapped_column()
    conclusion: Mapped[str | None] = mapped_column(String(16))
    remark: Mapped[str | None] = mapped_column(String(500))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    case: Mapped[Case] = relationship()
    rule_set: Mapped[ReviewRuleSet] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def status_label(self) -> str:
        return REVIEW_STATUSES.get(self.status, self.status)

    @property
    def conclusion_label(self) -> str:
        return CONCLUSIONS.get(self.conclusion or "", "")


class CaseReferral(db.Model):
    """行刑衔接: a case referred to public security, the answer (受理/不予受理) and the outcome."""

    __tablename__ = "case_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    referred_on: Mapped[date] = mapped_column(Date, index=True)
    receiver: Mapped[str] = mapped_column(String(120))
    acceptance: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    answered_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()

    @property
    def acceptance_label(self) -> str:
        return ACCEPTANCE.get(self.acceptance, self.acceptance)


class CaseSetting(db.Model):
    """Versioned settings (合格案卷报送期限, reminder lead days, 行刑衔接 answer days): the newest row applies."""

    __tablename__ = "case_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseReminder(db.Model):
    """One row per reminder sent (case, kind such as "before:2026-12-31"): the scheduler never repeats one."""

    __tablename__ = "case_reminders"
    __table_args__ = (UniqueConstraint("case_id", "kind", name="uq_case_reminders_case_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
