"""messages record delivery (fallback channel, backoff, delivered_at, template); contacts keep
each number's channel and opt-out

Revision ID: m18a1b2c3d4e5
Revises: i15a1b2c3d4e5
Create Date: 2026-12-03 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "m18a1b2c3d4e5"
down_revision = "i15a1b2c3d4e5"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("template", sa.String(40)),
    ("locale", sa.String(8)),
    ("params_sealed", sa.Text()),
    ("fallback_channel", sa.String(16)),
    ("fallback_at", sa.DateTime(timezone=True)),
    ("next_attempt_at", sa.DateTime(timezone=True)),
    ("delivered_at", sa.DateTime(timezone=True)),
)


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        for name, kind in NEW_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index("ix_messages_status_fallback_at", ["status", "fallback_at"])
    op.create_table(
        "message_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("phone_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("message_contacts")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_fallback_at")
        for name, _kind in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
