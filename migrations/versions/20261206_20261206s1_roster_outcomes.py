"""roster outcomes told straight: a job with failed rows ends `completed_with_errors`; a roster
entry keeps the line and the (masked) name it was uploaded with; an upload keeps the budget
warning it was given

Revision ID: 20261206s1_roster_outcomes
Revises: 20261205h1_claim_recheck
Create Date: 2026-12-06 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206s1_roster_outcomes"
down_revision = "20261205h1_claim_recheck"
branch_labels = None
depends_on = None

_BEFORE = "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')"
_AFTER = (
    "status IN ('queued', 'running', 'succeeded', 'completed_with_errors', 'failed', "
    "'cancelled')"
)


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=24)
        )
        batch_op.create_check_constraint(op.f("ck_jobs_status"), _AFTER)
    # Jobs that finished with failed rows said `succeeded`; they are told straight now.
    op.execute("UPDATE jobs SET status = 'completed_with_errors' WHERE status = 'succeeded' AND failed > 0")
    with op.batch_alter_table("roster_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("name_masked", sa.String(length=64), nullable=True))
    with op.batch_alter_table("roster_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_warning", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roster_uploads", schema=None) as batch_op:
        batch_op.drop_column("budget_warning")
    with op.batch_alter_table("roster_entries", schema=None) as batch_op:
        batch_op.drop_column("name_masked")
        batch_op.drop_column("line")
    op.execute("UPDATE jobs SET status = 'succeeded' WHERE status = 'completed_with_errors'")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_status"), type_="check")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=24), type_=sa.String(length=16)
        )
        batch_op.create_check_constraint(op.f("ck_jobs_status"), _BEFORE)
