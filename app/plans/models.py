"""Monthly inspection plans (月度检查计划), their items, and the inspections that execute them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.enterprises.models import Enterprise
from app.extensions import db
from app.models_base import UTCDateTime, utcnow
from app.orgs.models import Organisation

PLAN_STATUS = {
    "draft": "编制中",
    "reviewing": "审核中",
    "returned": "退回修改",
    "publicity": "公示中",
    "published": "已发布",
    "terminated": "已终止",
}
ITEM_SOURCES = {"assisted": "辅助生成", "random": "双随机抽取", "manual": "人工添加"}
ITEM_STATUS = {"planned": "待检查", "done": "已检查", "cancelled": "已取消"}


class MonthlyPlan(db.Model):
    __tablename__ = "monthly_plans"
    __table_args__ = (UniqueConstraint("org_id", "year", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)  # the district brigade
    year: Mapped[int]
    month: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    # The generation parameters and what the assisted generation excluded (over the annual limit).
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    excluded: Mapped[list] = mapped_column(JSON, default=list)
    # 双随机: the seed and the eligible pool (enterprise ids, sorted) of the latest draw, and its result.
    draw_seed: Mapped[int | None]
    draw_pool: Mapped[list] = mapped_column(JSON, default=list)
    draw_result: Mapped[list] = mapped_column(JSON, default=list)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_days: Mapped[int] = mapped_column(default=5)
    publicity_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org: Mapped[Organisation] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    items: Mapped[list[PlanItem]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanItem.id"
    )

    @property
    def status_label(self) -> str:
        return PLAN_STATUS.get(self.status, self.status)

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "returned")


class PlanItem(db.Model):
    __tablename__ = "plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("monthly_plans.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="assisted")
    reason: Mapped[str | None] = mapped_column(String(300))
    over_limit: Mapped[bool] = mapped_column(default=False)
    over_limit_note: Mapped[str | None] = mapped_column(String(300))
    planned_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    done_on: Mapped[date | None]

    plan: Mapped[MonthlyPlan] = relationship(back_populates="items")
    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def source_label(self) -> str:
        return ITEM_SOURCES.get(self.source, self.source)

    @property
    def status_label(self) -> str:
        return ITEM_STATUS.get(self.status, self.status)


class Inspection(db.Model):
    """One inspection of an enterprise (the annual limit and "time since last inspection" count these)."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_enterprise_on", "enterprise_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    inspected_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16), default="plan")  # plan / clue / other
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
