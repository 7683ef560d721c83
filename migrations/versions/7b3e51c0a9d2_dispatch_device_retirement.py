"""dispatch: device retirement (退役)

Revision ID: 7b3e51c0a9d2
Revises: d15d732694cb
Create Date: 2026-12-02 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models_base  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '7b3e51c0a9d2'
down_revision = 'd15d732694cb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dispatch_devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', app.models_base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retire_reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_dispatch_devices_retired_by_id_users'), 'users', ['retired_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('dispatch_devices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dispatch_devices_retired_by_id_users'), type_='foreignkey')
        batch_op.drop_column('retire_reason')
        batch_op.drop_column('retired_by_id')
        batch_op.drop_column('retired_at')
