"""transfers between warehouses and group rules' alerts (issue #19)

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-08 02:00:00.000000

``transfers`` and their history (requested → shipped → received), and ``alerts.scope_key``:
a group rule's alert names its group, with at most one open per rule+warehouse+group.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.storage.types

revision = '0020'
down_revision = '0017'
branch_labels = None
depends_on = None

OPEN = "state IN ('open', 'acknowledged')"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_key', sa.String(length=64), nullable=True))
    op.create_index('uq_alerts_one_open_group', 'alerts', ['rule', 'warehouse_id', 'scope_key'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        'transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=True),
        sa.Column('action_key', sa.String(length=64), nullable=True),
        sa.Column('sku_id', sa.Integer(), nullable=False),
        sa.Column('from_warehouse_id', sa.Integer(), nullable=False),
        sa.Column('to_warehouse_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Float(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('ship_role', sa.String(length=64), nullable=True),
        sa.Column('receive_role', sa.String(length=64), nullable=True),
        sa.Column('explanation', JSON, nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id']),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id']),
        sa.ForeignKeyConstraint(['from_warehouse_id'], ['warehouses.id']),
        sa.ForeignKeyConstraint(['to_warehouse_id'], ['warehouses.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('alert_id', 'action_key', name='uq_transfers_alert_action'),
    )
    op.create_index('ix_transfers_sku_state', 'transfers', ['sku_id', 'state'])
    op.create_index('ix_transfers_state_created', 'transfers', ['state', 'created_at'])
    op.create_table(
        'transfer_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('transition', sa.String(length=32), nullable=False),
        sa.Column('from_state', sa.String(length=16), nullable=True),
        sa.Column('to_state', sa.String(length=16), nullable=False),
        sa.Column('data', JSON, nullable=False),
        sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_transfer_history_transfer', 'transfer_history', ['transfer_id'])


def downgrade() -> None:
    op.drop_index('ix_transfer_history_transfer', table_name='transfer_history')
    op.drop_table('transfer_history')
    op.drop_index('ix_transfers_state_created', table_name='transfers')
    op.drop_index('ix_transfers_sku_state', table_name='transfers')
    op.drop_table('transfers')
    op.drop_index('uq_alerts_one_open_group', table_name='alerts')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('scope_key')
