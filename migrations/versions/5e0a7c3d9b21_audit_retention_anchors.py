"""audit retention anchors

The anchor a retention purge leaves (app/ops/retention.py), and on PostgreSQL the append-only trigger of
audit_entries relaxed by exactly that much: UPDATE is still refused, DELETE only of entries older than
180 days (the Cybersecurity Law's six months), whoever asks. A purge needs no trigger switched off, and
the application role still cannot remove a recent entry.

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


RETENTION_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
STRICT_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RETENTION_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(STRICT_FUNCTION)
    op.drop_table("audit_anchors")
