"""messages keep codes only encrypted: body_sealed; codes in messages already sent are hidden

Revision ID: h3b7e2d9c4a1
Revises: h1e5a2c7b9d3
Create Date: 2026-12-02 21:10:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "h3b7e2d9c4a1"
down_revision = "h1e5a2c7b9d3"
branch_labels = None
depends_on = None

REDACTED = "••••••"
# Purposes whose messages carry a code: sign-in and phone-change codes, bundle codes,
# invitation link tokens, vouchers and KPJ in SMS replies.
PURPOSES = ("sign_in", "phone_change", "claim_code", "worker_invitation", "claim_sms_reply")
CODES = (
    re.compile(r"\b[0-9A-Za-z]{4}(?:-[0-9A-Za-z]{4}){3}-[0-9A-Za-z*~$=]"),  # bundle codes
    re.compile(r"/undangan/[A-Za-z0-9_-]+"),  # invitation tokens
    re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{5,}"),  # vouchers
    re.compile(r"(?<![\d.])\d{6,}(?!\d)"),  # one-time codes, KPJ
)


def _redacted(body: str) -> str:
    for pattern in CODES:
        body = pattern.sub(
            lambda m: "/undangan/" + REDACTED if m.group(0).startswith("/") else REDACTED, body
        )
    return body


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_sealed", sa.Text(), nullable=True))

    # Messages already sent cannot be re-sealed (no key here, no need): hide their codes.
    messages = sa.table(
        "messages",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("purpose", sa.String),
        sa.column("status", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(messages.c.id, messages.c.body).where(
            messages.c.purpose.in_(PURPOSES), messages.c.status == "sent"
        )
    ).all()
    for message_id, body in rows:
        hidden = _redacted(body)
        if hidden != body:
            connection.execute(
                sa.update(messages).where(messages.c.id == message_id).values(body=hidden)
            )


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("body_sealed")
