"""the inbox's open tasks: partial indexes of their SKU×warehouse and of their urgency order;
the alerts that saw a stock-out by opening time

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-08 03:10:00.000000

Issue #18: the inbox counts the SKU×warehouse cases of the open tasks a viewer may see (50k in
bench/pages.py). A partial index of the open tasks' (sku_id, warehouse_id, role, assignee,
due_at) lets the database read them from the index alone, already in pair order, instead of
hashing every open task's row. On PostgreSQL, a partial index in the inbox's default order
(closed, severity rank, undated last, due, id) gives its first page from the index's first
entries instead of sorting every open task (the rank's CASE as PostgreSQL plans the query's);
another in due order serves the overdue list. The report and the dashboard count the
stock-outs per day: a partial index of the alerts whose facts saw nothing available (few)
answers it without reading every alert's facts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0019'
branch_labels = None
depends_on = None

OPEN = "closed IS false"  # tables.OPEN_TASK_PREDICATE
RAN_OUT = "(((facts -> 'stock') ->> 'available')::float) <= 0"  # tables.RAN_OUT_PREDICATE
URGENCY_RANK = ("(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
                "WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END)")  # tables.URGENCY_RANK


def upgrade() -> None:
    op.create_index('ix_tasks_open_pair', 'tasks',
                    ['sku_id', 'warehouse_id', 'role', 'assignee', 'due_at'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'CREATE INDEX ix_tasks_open_urgency ON tasks (closed, {URGENCY_RANK}, '
                   f'(due_at IS NULL), due_at, id) WHERE {OPEN}')
        op.execute(f'CREATE INDEX ix_tasks_open_due ON tasks (closed, (due_at IS NULL), due_at) '
                   f'WHERE {OPEN}')
        op.create_index('ix_alerts_ran_out', 'alerts', ['opened_at', 'sku_id', 'warehouse_id'],
                        postgresql_where=sa.text(RAN_OUT))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_alerts_ran_out', table_name='alerts')
        op.drop_index('ix_tasks_open_due', table_name='tasks')
        op.drop_index('ix_tasks_open_urgency', table_name='tasks')
    op.drop_index('ix_tasks_open_pair', table_name='tasks')
