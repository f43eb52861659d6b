"""demand forecasts per SKU×warehouse (issue #16)

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-07 23:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.storage.types import UtcDateTime

revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'forecasts',
        sa.Column('sku_id', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('model', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('computed_at', UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_forecasts_sku_id_skus'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'],
                                name=op.f('fk_forecasts_warehouse_id_warehouses')),
        sa.PrimaryKeyConstraint('sku_id', 'warehouse_id', name=op.f('pk_forecasts')),
    )


def downgrade() -> None:
    op.drop_table('forecasts')
