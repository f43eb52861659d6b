"""rules that failed at run time: skipped for the event, counted per rule and version

Revision ID: 0007
Revises: 0013
Create Date: 2026-12-07 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rule_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=64), nullable=False),
        sa.Column('rule_version', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('count', sa.Integer(), server_default='1', nullable=False),
        sa.Column('first_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('last_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('last_sku_id', sa.Integer(), nullable=True),
        sa.Column('last_warehouse_id', sa.Integer(), nullable=True),
        sa.Column('last_event_id', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['last_sku_id'], ['skus.id'],
                                name=op.f('fk_rule_failures_last_sku_id_skus')),
        sa.ForeignKeyConstraint(['last_warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_rule_failures_last_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_failures')),
        sa.UniqueConstraint('rule', 'rule_version', name=op.f('uq_rule_failures_rule')),
    )


def downgrade() -> None:
    op.drop_table('rule_failures')
