"""master data pages: indexes for a warehouse's stock, a supplier's SKUs, a category

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-08 01:00:00.000000

The master data pages (issue #15) list 100k SKUs by code (the unique index on code) and filter
them by category and supplier; a warehouse's page reads its stock levels and a supplier's page
its SKUs. The primary keys of stock_levels (sku_id, warehouse_id) and sku_suppliers (sku_id,
supplier_id) lead with the SKU, so these lookups by the second column scanned every row.
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_stock_levels_warehouse', 'stock_levels', ['warehouse_id'])
    op.create_index('ix_sku_suppliers_supplier', 'sku_suppliers', ['supplier_id'])
    op.create_index('ix_skus_category', 'skus', ['category'])


def downgrade() -> None:
    op.drop_index('ix_skus_category', table_name='skus')
    op.drop_index('ix_sku_suppliers_supplier', table_name='sku_suppliers')
    op.drop_index('ix_stock_levels_warehouse', table_name='stock_levels')
