"""attachment capture metadata and upload key

Revision ID: 8c01c784b634
Revises: b449823a93e5
Create Date: 2026-12-02 00:32:17.127404

"""
from alembic import op
import sqlalchemy as sa

import app.models_base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '8c01c784b634'
down_revision = 'b449823a93e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_at', app.models_base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('accuracy_m', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('upload_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_attachments_uploaded_by_id'), ['uploaded_by_id', 'upload_key'])


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attachments_uploaded_by_id'), type_='unique')
        batch_op.drop_column('upload_key')
        batch_op.drop_column('accuracy_m')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('taken_at')
