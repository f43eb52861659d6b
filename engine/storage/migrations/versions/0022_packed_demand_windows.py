"""stock_levels.demand_packed: each pair's demand window packed for the whole-catalogue what-if

Revision ID: 0022
Revises: 0015
Create Date: 2026-12-08 02:30:00.000000

The rule preview, ``POST /ruleset/validate`` and the daily run read every pair's demand window
(issue #16); decoding a million JSON windows took seconds. The window is now also kept packed
(``DemandWindow.to_packed``: little-endian float64s, first day's ordinal, last demand day's
ordinal, then the daily quantities), written with the JSON one. Existing windows are packed
here, in batches.
"""

from __future__ import annotations

import json
import struct
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 5000


def pack(window: dict) -> bytes:
    """``DemandWindow.from_dict(window).to_packed()``, kept here as it is today (a migration
    does not follow the code's later changes)."""
    last = date.fromisoformat(window["last"]).toordinal() if window.get("last") else 0
    qty = [float(q) for q in window.get("qty") or []]
    start = date.fromisoformat(window["start"]).toordinal() if window.get("start") else 0
    nonzero = [i for i, q in enumerate(qty) if q != 0]
    if not start or not nonzero:
        return struct.pack("<2d", 0.0, float(last))
    qty = qty[nonzero[0]:nonzero[-1] + 1]  # to_dict leaves no zero at either end
    return struct.pack(f"<{len(qty) + 2}d", float(start + nonzero[0]), float(last), *qty)


def upgrade() -> None:
    op.add_column('stock_levels', sa.Column('demand_packed', sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    levels = sa.table('stock_levels', sa.column('sku_id', sa.Integer),
                      sa.column('warehouse_id', sa.Integer), sa.column('demand_window', sa.Text),
                      sa.column('demand_packed', sa.LargeBinary))
    after = (-1, -1)
    while True:  # by primary key, a batch at a time: a million pairs never held in memory
        rows = conn.execute(
            sa.select(levels.c.sku_id, levels.c.warehouse_id,
                      sa.cast(levels.c.demand_window, sa.Text))
            .where(levels.c.demand_window.is_not(None),
                   sa.tuple_(levels.c.sku_id, levels.c.warehouse_id) > after)
            .order_by(levels.c.sku_id, levels.c.warehouse_id).limit(BATCH)).all()
        if not rows:
            break
        windows = [(s, w, json.loads(text)) for s, w, text in rows if text]
        packed = [{"s": s, "w": w, "p": pack(window)} for s, w, window in windows if window]
        if packed:  # (a JSON null is no window)
            conn.execute(
                levels.update()
                .where(levels.c.sku_id == sa.bindparam('s'),
                       levels.c.warehouse_id == sa.bindparam('w'))
                .values(demand_packed=sa.bindparam('p')), packed)
        after = (rows[-1][0], rows[-1][1])


def downgrade() -> None:
    with op.batch_alter_table('stock_levels') as batch:
        batch.drop_column('demand_packed')
