"""imports: sources, runs, cursors, bad rows, seen pairs, purchase-order lines

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-07 22:48:50.334281
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.storage.types

revision = '0009'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('plugin', sa.String(length=64), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('every_minutes', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_import_sources_name'))
    )
    op.create_table('import_cursors',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('cursor', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['import_sources.id'], name=op.f('fk_import_cursors_source_id_import_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'kind', name=op.f('pk_import_cursors'))
    )
    op.create_table('import_po_lines',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('po', sa.String(length=128), nullable=False),
    sa.Column('line', sa.String(length=128), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=64), nullable=True),
    sa.Column('open_qty', sa.Float(), nullable=False),
    sa.Column('expected_date', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_import_po_lines_sku_id_skus'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_import_po_lines_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('source', 'po', 'line', name=op.f('pk_import_po_lines'))
    )
    with op.batch_alter_table('import_po_lines', schema=None) as batch_op:
        batch_op.create_index('ix_import_po_lines_pair', ['sku_id', 'warehouse_id'], unique=False)

    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('plugin', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('file', sa.Text(), nullable=True),
    sa.Column('file_name', sa.String(length=256), nullable=True),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('pages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('progress_done', sa.Float(), nullable=True),
    sa.Column('progress_total', sa.Float(), nullable=True),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('cursor', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('started_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['import_sources.id'], name=op.f('fk_import_runs_source_id_import_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_source_id'), ['source_id'], unique=False)

    op.create_table('import_bad_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('where', sa.String(length=128), nullable=False),
    sa.Column('row', sa.Integer(), nullable=True),
    sa.Column('column', sa.String(length=256), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['import_runs.id'], name=op.f('fk_import_bad_rows_run_id_import_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_bad_rows'))
    )
    with op.batch_alter_table('import_bad_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_bad_rows_run_id'), ['run_id'], unique=False)

    op.create_table('import_seen',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['import_runs.id'], name=op.f('fk_import_seen_run_id_import_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'sku_id', 'warehouse_id', name=op.f('pk_import_seen'))
    )


def downgrade() -> None:
    op.drop_table('import_seen')
    with op.batch_alter_table('import_bad_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_bad_rows_run_id'))

    op.drop_table('import_bad_rows')
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_runs_source_id'))

    op.drop_table('import_runs')
    with op.batch_alter_table('import_po_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_import_po_lines_pair')

    op.drop_table('import_po_lines')
    op.drop_table('import_cursors')
    op.drop_table('import_sources')
