"""rule_runs: an activation evaluates its changed rules over the current stock at once

Revision ID: 0017
Revises: 0018
Create Date: 2026-12-08 02:00:00.000000

Issue #17: saving or activating a ruleset version evaluates the rules it changed against every
SKU×warehouse in their scope, as a job whose progress the pages show (one row per activation).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rule_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('previous', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=True),
        sa.Column('rules', engine.storage.types.Json, nullable=False),
        sa.Column('progress_done', sa.Float(), server_default='0', nullable=False),
        sa.Column('progress_total', sa.Float(), server_default='0', nullable=False),
        sa.Column('counts', engine.storage.types.Json, nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('started_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_runs')),
    )
    op.create_index('ix_rule_runs_state', 'rule_runs', ['state'])


def downgrade() -> None:
    op.drop_index('ix_rule_runs_state', table_name='rule_runs')
    op.drop_table('rule_runs')
