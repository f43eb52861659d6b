"""the inbox's open task pairs: a partial index of the open tasks' SKU×warehouse

Revision ID: 0024
Revises: 0018
Create Date: 2026-12-08 03:10:00.000000

Issue #18: the inbox counts the SKU×warehouse cases of the open tasks a viewer may see (50k in
bench/pages.py). A partial index of the open tasks' (sku_id, warehouse_id, role, assignee)
lets the database read them from the index alone, already in pair order, instead of hashing
every open task's row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0018'
branch_labels = None
depends_on = None

OPEN = "closed IS false"  # tables.OPEN_TASK_PREDICATE


def upgrade() -> None:
    op.create_index('ix_tasks_open_pair', 'tasks', ['sku_id', 'warehouse_id', 'role', 'assignee'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_tasks_open_pair', table_name='tasks')
