"""the supply side: supplier delays, learned lead times, ETAs, unavailable suppliers (issue #19)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-08 02:00:00.000000

``supplier_delays`` keeps each ``supplier_delay`` event with the order it moved;
``lead_time_observations`` one row per receipt of an ordered requisition (its observed lead
time and whether it came by the promised day); requisitions and purchase orders carry the ETA
a delay set; a supplier may be marked unavailable (the requisitions' failover); ``ruleset_state.
learned_through`` is the last observation the snapshots were refreshed for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0019'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ruleset_state') as batch:
        batch.add_column(sa.Column('learned_through', sa.Integer(), server_default='0',
                                   nullable=False))
    with op.batch_alter_table('suppliers') as batch:
        batch.add_column(sa.Column('unavailable', sa.Boolean(), server_default=sa.text('false'),
                                   nullable=False))
    with op.batch_alter_table('requisitions') as batch:
        batch.add_column(sa.Column('eta', engine.storage.types.UtcDateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('purchase_orders') as batch:
        batch.add_column(sa.Column('eta', engine.storage.types.UtcDateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        'supplier_delays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=128), nullable=False),
        sa.Column('supplier_id', sa.Integer(), nullable=False),
        sa.Column('ref', sa.String(length=128), nullable=False),
        sa.Column('sku_id', sa.Integer(), nullable=True),
        sa.Column('warehouse_id', sa.Integer(), nullable=True),
        sa.Column('eta', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('delay_days', sa.Float(), nullable=False),
        sa.Column('lines', sa.Integer(), nullable=False),
        sa.Column('at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('received_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id']),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id']),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id'),
    )
    op.create_index('ix_supplier_delays_supplier_ref', 'supplier_delays', ['supplier_id', 'ref'])
    op.create_table(
        'lead_time_observations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('supplier_id', sa.Integer(), nullable=False),
        sa.Column('sku_id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('requisition_id', sa.Integer(), nullable=False),
        sa.Column('ref', sa.String(length=128), nullable=True),
        sa.Column('event_id', sa.String(length=128), nullable=False),
        sa.Column('ordered_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('received_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('lead_time_days', sa.Float(), nullable=False),
        sa.Column('promised_days', sa.Float(), nullable=False),
        sa.Column('on_time', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id']),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id']),
        sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('requisition_id'),
    )
    op.create_index('ix_lead_time_observations_supplier', 'lead_time_observations',
                    ['supplier_id', 'received_at'])


def downgrade() -> None:
    op.drop_index('ix_lead_time_observations_supplier', table_name='lead_time_observations')
    op.drop_table('lead_time_observations')
    op.drop_index('ix_supplier_delays_supplier_ref', table_name='supplier_delays')
    op.drop_table('supplier_delays')
    with op.batch_alter_table('purchase_orders') as batch:
        batch.drop_column('eta')
    with op.batch_alter_table('requisitions') as batch:
        batch.drop_column('eta')
    with op.batch_alter_table('suppliers') as batch:
        batch.drop_column('unavailable')
    with op.batch_alter_table('ruleset_state') as batch:
        batch.drop_column('learned_through')
