"""knowledge search: the index state token that kept searches (ranking, facets) are keyed by

Revision ID: kbs17f4c3d2e1
Revises: 7b3e91c4d2a8
Create Date: 2026-12-02 14:30:00

"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "kbs17f4c3d2e1"
down_revision = "7b3e91c4d2a8"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "knowledge_index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_index_state")),
    )
    op.bulk_insert(table, [{"id": 1, "token": uuid.uuid4().hex}])


def downgrade():
    op.drop_table("knowledge_index_state")
