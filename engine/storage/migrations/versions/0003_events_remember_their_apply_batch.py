"""events remember their apply batch

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 23:52:23.123011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stock_events_batch_id'), ['batch_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_events_batch_id'))
        batch_op.drop_column('batch_id')

