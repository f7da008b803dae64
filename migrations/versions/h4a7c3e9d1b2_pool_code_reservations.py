"""pool codes can be held for an order; orders refunded in full by part refunds say so

Revision ID: h4a7c3e9d1b2
Revises: h3b7e2d9c4a1
Create Date: 2026-12-02 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "h4a7c3e9d1b2"
down_revision = "h3b7e2d9c4a1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pool_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_order_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_pool_codes_reserved_order_id"), ["reserved_order_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pool_codes_reserved_order_id_orders"),
            "orders",
            ["reserved_order_id"],
            ["id"],
        )
    # Orders whose part refunds gave back everything that was paid were left "fulfilled".
    op.execute(
        """
        UPDATE orders SET status = 'refunded'
        WHERE status IN ('paid', 'fulfilling', 'fulfilled')
          AND total_idr > 0
          AND (SELECT COALESCE(SUM(refunds.amount_idr), 0) FROM refunds
               WHERE refunds.order_id = orders.id) >= orders.total_idr
        """
    )


def downgrade():
    with op.batch_alter_table("pool_codes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_pool_codes_reserved_order_id_orders"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_pool_codes_reserved_order_id"))
        batch_op.drop_column("reserved_until")
        batch_op.drop_column("reserved_order_id")
