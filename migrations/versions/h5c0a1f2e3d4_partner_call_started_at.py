"""fulfillment items remember a partner call whose outcome is not recorded yet

Revision ID: h5c0a1f2e3d4
Revises: h4a7c3e9d1b2
Create Date: 2026-12-02 20:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "h5c0a1f2e3d4"
down_revision = "h4a7c3e9d1b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("partner_call_started_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("fulfillment_items", schema=None) as batch_op:
        batch_op.drop_column("partner_call_started_at")
