"""alerts by SKU×warehouse pair

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_alerts_pair', 'alerts', ['sku_id', 'warehouse_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alerts_pair', table_name='alerts')
