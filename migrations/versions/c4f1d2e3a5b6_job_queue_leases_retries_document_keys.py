"""job queue: task, payload, attempts, backoff, leases, dedup key; document content key

Revision ID: c4f1d2e3a5b6
Revises: 8c01c784b634
Create Date: 2026-12-02 01:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.models_base  # noqa: F401  (custom column types)

revision = "c4f1d2e3a5b6"
down_revision = "8c01c784b634"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("max_attempts", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("run_after", app.models_base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("locked_until", app.models_base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_jobs_dedup_key"), ["dedup_key"], unique=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_documents_content_key"), ["content_key"], unique=False)


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_content_key"))
        batch_op.drop_column("content_key")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_dedup_key"))
        for name in ("dedup_key", "locked_until", "locked_by", "run_after", "max_attempts", "attempts", "payload", "task"):
            batch_op.drop_column(name)
