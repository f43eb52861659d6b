"""the buyer's and approver's day: chat ids of users, approval levels, purchase orders, inbox indexes

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-08 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import engine.storage.types

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wecom_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('dingtalk_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('feishu_id', sa.String(length=64), nullable=True))

    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.storage.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', engine.storage.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'],
                            name=op.f('fk_purchase_orders_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders'))
    )

    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_level', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('purchase_order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_requisitions_purchase_order_id_purchase_orders'), 'purchase_orders',
            ['purchase_order_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_requisitions_purchase_order_id'),
                              ['purchase_order_id'], unique=False)
        batch_op.create_index('ix_requisitions_state_created', ['state', 'created_at'],
                              unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_closed_role_due', ['closed', 'role', 'due_at'],
                              unique=False)
        batch_op.create_index('ix_tasks_assignee', ['assignee'], unique=False)
        batch_op.create_index('ix_tasks_created_at', ['created_at'], unique=False)

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_opened_at', ['opened_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_opened_at')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_created_at')
        batch_op.drop_index('ix_tasks_assignee')
        batch_op.drop_index('ix_tasks_closed_role_due')

    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.drop_index('ix_requisitions_state_created')
        batch_op.drop_index(batch_op.f('ix_requisitions_purchase_order_id'))
        batch_op.drop_constraint(batch_op.f('fk_requisitions_purchase_order_id_purchase_orders'),
                                 type_='foreignkey')
        batch_op.drop_column('purchase_order_id')
        batch_op.drop_column('approval_level')

    op.drop_table('purchase_orders')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('feishu_id')
        batch_op.drop_column('dingtalk_id')
        batch_op.drop_column('wecom_id')
