"""claim recheck (复核): the `recheck` status, when the member asked for it and the reviewer
whose rejection it rechecks

Revision ID: 20261205h1_claim_recheck
Revises: 20261205g1_insurance_periods
Create Date: 2026-12-05 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205h1_claim_recheck"
down_revision = "20261205g1_insurance_periods"
branch_labels = None
depends_on = None

_BEFORE = (
    "status IN ('draft', 'submitted', 'pending_review', 'more_info_requested', 'approved', "
    "'rejected', 'paid', 'closed')"
)
_AFTER = (
    "status IN ('draft', 'submitted', 'pending_review', 'more_info_requested', 'approved', "
    "'rejected', 'paid', 'closed', 'recheck')"
)


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recheck_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("rejected_by_staff_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_claims_rejected_by_staff_id_staff_accounts"),
            "staff_accounts",
            ["rejected_by_staff_id"],
            ["id"],
        )
        batch_op.drop_constraint(op.f("ck_claims_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_claims_status"), _AFTER)


def downgrade() -> None:
    # A claim waiting in recheck goes back to the rejection it was asking about.
    op.execute("UPDATE claims SET status = 'rejected' WHERE status = 'recheck'")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_claims_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_claims_status"), _BEFORE)
        batch_op.drop_constraint(
            batch_op.f("fk_claims_rejected_by_staff_id_staff_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("rejected_by_staff_id")
        batch_op.drop_column("recheck_requested_at")
