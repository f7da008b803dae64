"""directory indexes (issue 16): every filter set with a province read from one index
(province, occupation, status, sort keys, gender, birth date); a worker's search terms by
worker and term, so a common search word is probed per worker in the index alone

Revision ID: eebdfa4c43d5
Revises: t17a1b2c3d4e5
Create Date: 2026-12-03 13:42:01

"""

from alembic import op

revision = "eebdfa4c43d5"
down_revision = "t17a1b2c3d4e5"
branch_labels = None
depends_on = None

PROVINCE_FILTERS = [
    "is_listed",
    "province_code",
    "occupation",
    "needs_sponsor",
    "covered_until",
    "needs_cover_from",
    "gender",
    "birth_date",
    "id",
]


def upgrade():
    with op.batch_alter_table("worker_search_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_search_terms_worker_id"))
        batch_op.create_index("ix_worker_search_terms_worker_term", ["worker_id", "term"])

    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_listed_province"))
        batch_op.create_index("ix_workers_listed_province_filters", PROVINCE_FILTERS)


def downgrade():
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index("ix_workers_listed_province_filters")
        batch_op.create_index(
            batch_op.f("ix_workers_listed_province"), ["is_listed", "province_code"]
        )

    with op.batch_alter_table("worker_search_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_worker_search_terms_worker_term")
        batch_op.create_index(batch_op.f("ix_worker_search_terms_worker_id"), ["worker_id"])
