"""audit retention anchors

Revision ID: 5e0a7c3d9b21
Revises: 87c0048ed940
Create Date: 2026-12-02 04:40:00

"""

import sqlalchemy as sa
from alembic import op

import app.models_base

revision = "5e0a7c3d9b21"
down_revision = "87c0048ed940"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("through_id", sa.Integer(), nullable=False),
        sa.Column("through_mac", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("purged_at", app.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seal", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
        sa.UniqueConstraint("through_id", name=op.f("uq_audit_anchors_through_id")),
    )


def downgrade():
    op.drop_table("audit_anchors")
