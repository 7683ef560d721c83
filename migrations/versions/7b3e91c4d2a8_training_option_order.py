"""training: the order of a question's options as shown on a paper (选项乱序)

Revision ID: 7b3e91c4d2a8
Revises: 9bf8aecc2341
Create Date: 2026-12-02 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7b3e91c4d2a8"
down_revision = "9bf8aecc2341"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("training_answers") as batch:
        batch.add_column(sa.Column("option_order", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("training_answers") as batch:
        batch.drop_column("option_order")
