"""sponsor profiles (person, company, local government; legal name, address, NPWP) and
numbered invoices with a gap-free sequence per month

Revision ID: i15a1b2c3d4e5
Revises: x15a1b2c3d4e5
Create Date: 2026-12-03 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "i15a1b2c3d4e5"
down_revision = "x15a1b2c3d4e5"  # the gateway's payment methods, merged in
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sponsor_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("npwp", sa.String(length=16), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "invoice_sequences",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("on_request", sa.Boolean(), nullable=False),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("npwp", sa.String(length=16), nullable=True),
        sa.Column("total_idr", sa.Integer(), nullable=False),
        sa.Column("va_bank", sa.String(length=16), nullable=False),
        sa.Column("va_number", sa.String(length=32), nullable=True),
        sa.Column("va_amount_idr", sa.Integer(), nullable=True),
        sa.Column("va_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_idr >= 0", name=op.f("ck_invoices_total_not_negative")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("order_id"),
        sa.UniqueConstraint("period", "sequence"),
    )


def downgrade():
    op.drop_table("invoices")
    op.drop_table("invoice_sequences")
    op.drop_table("sponsor_profiles")
