"""noise control: alert snoozes, rule mutes, and notifications' role, digest and hold

Revision ID: 0016
Revises: 0020
Create Date: 2026-12-08 02:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0016'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_snoozes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('sku_id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('until', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('until_stock_change', sa.Boolean(), server_default=sa.text('false'),
                  nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=64), nullable=True),
        sa.Column('end_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'],
                                name=op.f('fk_alert_snoozes_alert_id_alerts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_snoozes')),
    )
    op.create_index('ix_alert_snoozes_alert', 'alert_snoozes', ['alert_id', 'ended_at'])
    op.create_index('ix_alert_snoozes_open', 'alert_snoozes', ['ended_at'])
    op.create_index('ix_alert_snoozes_pair', 'alert_snoozes',
                    ['sku_id', 'warehouse_id', 'ended_at'])
    op.create_table(
        'rule_mutes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=64), nullable=False),
        sa.Column('sku_id', sa.Integer(), nullable=True),
        sa.Column('warehouse_id', sa.Integer(), nullable=True),
        sa.Column('until', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('removed_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('removed_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_rule_mutes_sku_id_skus')),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_rule_mutes_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_mutes')),
    )
    op.create_index('ix_rule_mutes_open', 'rule_mutes', ['removed_at'])
    op.create_index('ix_rule_mutes_sku', 'rule_mutes', ['sku_id', 'removed_at'])
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('role', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('digest', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('held_until', engine.storage.types.UtcDateTime(timezone=True),
                                   nullable=True))
    op.create_index('ix_notifications_state_role', 'notifications', ['state', 'role', 'channel'])


def downgrade() -> None:
    op.drop_index('ix_notifications_state_role', table_name='notifications')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('held_until')
        batch.drop_column('digest')
        batch.drop_column('role')
    op.drop_index('ix_rule_mutes_sku', table_name='rule_mutes')
    op.drop_index('ix_rule_mutes_open', table_name='rule_mutes')
    op.drop_table('rule_mutes')
    op.drop_index('ix_alert_snoozes_pair', table_name='alert_snoozes')
    op.drop_index('ix_alert_snoozes_open', table_name='alert_snoozes')
    op.drop_index('ix_alert_snoozes_alert', table_name='alert_snoozes')
    op.drop_table('alert_snoozes')
