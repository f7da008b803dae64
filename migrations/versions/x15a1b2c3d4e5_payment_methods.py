"""payments record how the sponsor pays (card, QRIS, VA, e-wallet) and what the pay page shows

Revision ID: x15a1b2c3d4e5
Revises: h5c0a1f2e3d4
Create Date: 2026-12-03 07:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "x15a1b2c3d4e5"
down_revision = "h5c0a1f2e3d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sa.String(length=16), nullable=False, server_default="card")
        )
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("va_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("qr_string", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("redirect_url", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("auto_refund_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("auto_refund_id")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("redirect_url")
        batch_op.drop_column("qr_string")
        batch_op.drop_column("va_number")
        batch_op.drop_column("channel")
        batch_op.drop_column("method")
