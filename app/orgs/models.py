"""The organisation tree."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

# kind -> Chinese label; the order is the tree's levels.
ORG_KINDS = {
    "city": "市执法总队",
    "section": "总队内设机构",
    "district": "区执法大队",
    "street": "街镇",
    "soe_group": "国有集团",
    "soe_unit": "集团成员单位",
}


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Materialised path of codes, "/SHYJ/310101/310101002/": a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(400), index=True)
    # The district code an organisation belongs to (district, street) for statistics.
    district_code: Mapped[str | None] = mapped_column(String(16), index=True)
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organisation]] = relationship(back_populates="parent", order_by="Organisation.sort")

    @property
    def kind_label(self) -> str:
        return ORG_KINDS.get(self.kind, self.kind)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def __repr__(self) -> str:
        return f"<Organisation {self.code} {self.name}>"
