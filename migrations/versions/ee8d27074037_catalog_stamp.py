"""catalog stamp: one row whose stamp changes with every catalogue edit (issue 16)

Revision ID: ee8d27074037
Revises: eebdfa4c43d5
Create Date: 2026-12-03 13:44:50.696821

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ee8d27074037"
down_revision = "eebdfa4c43d5"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "catalog_stamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_stamps")),
    )
    op.bulk_insert(table, [{"id": 1, "stamp": secrets.randbits(62)}])


def downgrade():
    op.drop_table("catalog_stamps")
