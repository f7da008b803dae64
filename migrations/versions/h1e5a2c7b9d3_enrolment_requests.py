"""enrolment requests: rows an agent sent for a person already in Payung wait for that worker

Revision ID: h1e5a2c7b9d3
Revises: 34ba76942542
Create Date: 2026-12-02 21:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "h1e5a2c7b9d3"
down_revision = "34ba76942542"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enrolment_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("nik_digest", sa.String(length=64), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_enrolment_requests_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_enrolment_requests_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_requests")),
        sa.UniqueConstraint(
            "partner_id", "nik_digest", name=op.f("uq_enrolment_requests_partner_id")
        ),
    )
    with op.batch_alter_table("enrolment_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrolment_requests_partner_phone", ["partner_id", "phone_e164"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrolment_requests_worker_id"), ["worker_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("enrolment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_requests_worker_id"))
        batch_op.drop_index("ix_enrolment_requests_partner_phone")
    op.drop_table("enrolment_requests")
