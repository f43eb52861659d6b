"""outbox, applied events, user contacts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:48:58.064894
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.storage.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('available_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('done_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_available', ['status', 'available_at'], unique=False)

    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied', sa.Boolean(), server_default=sa.text('true'), nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('email')

    with op.batch_alter_table('stock_events', schema=None) as batch_op:
        batch_op.drop_column('applied')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_available')

    op.drop_table('outbox')
