"""API tokens carry a scope: full (the user's own rights), read or ingest (issue #13)

Revision ID: 0006
Revises: 0013
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tokens made before scopes existed keep what they could do: the user's own rights.
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('scope', sa.String(length=16), nullable=False,
                                   server_default='full'))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('scope')
