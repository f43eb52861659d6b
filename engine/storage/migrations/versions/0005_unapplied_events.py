"""index of the events recorded but not applied yet

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 02:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_stock_events_unapplied', 'stock_events', ['id'], unique=False,
                    sqlite_where=sa.text("applied IS 0"),
                    postgresql_where=sa.text("applied IS false"))


def downgrade() -> None:
    op.drop_index('ix_stock_events_unapplied', table_name='stock_events')
