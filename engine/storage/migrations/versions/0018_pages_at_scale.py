"""pages at scale: tasks know their SKU×warehouse, trigram indexes for the inbox's search, a
partial index of empty stock levels

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-08 02:10:00.000000

Issue #18 asks every page of the buyer's and approver's day to answer within 200 ms with 100k
SKUs × 10 warehouses and 50k open tasks (bench/pages.py). The inbox counts and sorts the open
tasks by SKU×warehouse: each task now keeps its alert's pair (which never changes), so that
needs no join of 50k alerts. The inbox searches SKUs by any part
of their code or name (ILIKE '%…%'): on PostgreSQL, GIN trigram indexes (the pg_trgm extension,
shipped with PostgreSQL and trusted, so the database's owner may create it) answer it without
reading every SKU; SQLite has no such index and reads them all, as before. The dashboard
counts the open alerts by SKU×warehouse and severity from a partial index of them alone, and
the stock levels with nothing available: a partial index holds only those, and on
PostgreSQL statistics of ``on_hand - reserved`` tell the planner they are few.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0022'
branch_labels = None
depends_on = None

EMPTY = "on_hand - reserved <= 0"
OPEN = "state IN ('open', 'acknowledged')"  # tables.OPEN_ALERT_PREDICATE


def upgrade() -> None:
    # each task's SKU×warehouse, copied from its alert (the inbox's pairs without a join)
    op.add_column('tasks', sa.Column('sku_id', sa.Integer(), nullable=True))
    op.add_column('tasks', sa.Column('warehouse_id', sa.Integer(), nullable=True))
    op.execute('UPDATE tasks SET '
               'sku_id = (SELECT alerts.sku_id FROM alerts WHERE alerts.id = tasks.alert_id), '
               'warehouse_id = (SELECT alerts.warehouse_id FROM alerts '
               'WHERE alerts.id = tasks.alert_id) WHERE alert_id IS NOT NULL')
    op.create_index('ix_alerts_open_pair_severity', 'alerts',
                    ['sku_id', 'warehouse_id', 'severity'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index('ix_stock_levels_empty', 'stock_levels', ['sku_id', 'warehouse_id'],
                    sqlite_where=sa.text(EMPTY), postgresql_where=sa.text(EMPTY))
    if op.get_bind().dialect.name == 'postgresql':
        # the planner's estimate of how many levels are empty (else a third of 1M: it then
        # joins every SKU to list twelve of them)
        op.execute('CREATE STATISTICS st_stock_levels_available ON (on_hand - reserved) '
                   'FROM stock_levels')
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_skus_code_trgm', 'skus', ['code'], postgresql_using='gin',
                        postgresql_ops={'code': 'gin_trgm_ops'})
        op.create_index('ix_skus_name_trgm', 'skus', ['name'], postgresql_using='gin',
                        postgresql_ops={'name': 'gin_trgm_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_skus_name_trgm', table_name='skus')
        op.drop_index('ix_skus_code_trgm', table_name='skus')
        op.execute('DROP STATISTICS IF EXISTS st_stock_levels_available')
    op.drop_index('ix_stock_levels_empty', table_name='stock_levels')
    op.drop_index('ix_alerts_open_pair_severity', table_name='alerts')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('warehouse_id')
        batch.drop_column('sku_id')
