"""pool codes: draw free codes by an index walk in expiry order (issue 17, the renewal wave)

The ``(offer_id, status)`` index made every draw of free codes read and sort all of an offer's
available codes; ``(offer_id, status, expires_on, id)`` serves the same filters and the draw's
order, so a draw of n codes reads about n entries.

Revision ID: p17a1b2c3d4e5
Revises: ee8d27074037
Create Date: 2026-12-03 16:58:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "p17a1b2c3d4e5"
down_revision = "ee8d27074037"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pool_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_codes_offer_status_expiry",
            ["offer_id", "status", "expires_on", "id"],
            unique=False,
        )
        batch_op.drop_index("ix_pool_codes_offer_status")


def downgrade():
    with op.batch_alter_table("pool_codes", schema=None) as batch_op:
        batch_op.create_index("ix_pool_codes_offer_status", ["offer_id", "status"], unique=False)
        batch_op.drop_index("ix_pool_codes_offer_status_expiry")
