"""fulfillment items remember the partner batch that holds them (a telco bulk top-up)

Revision ID: t17a1b2c3d4e5
Revises: m18a1b2c3d4e5
Create Date: 2026-12-03 13:24:14

"""

import sqlalchemy as sa
from alembic import op

revision = "t17a1b2c3d4e5"
down_revision = "m18a1b2c3d4e5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_batch_id", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_fulfillment_items_partner_batch_id"), ["partner_batch_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfillment_items_partner_batch_id"))
        batch_op.drop_column("partner_batch_id")
