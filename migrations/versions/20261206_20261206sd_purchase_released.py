"""special_drug_purchases.status `released`: a purchase whose claim's rejection became final
(the 复核 window passed, or the recheck upheld it) has given its cap reservation back; a later
approval (a human review of an automatic rejection) takes it again within what is left

Revision ID: 20261206sd_purchase_released
Revises: 20261206member_privacy
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "20261206sd_purchase_released"
down_revision = "20261206member_privacy"
branch_labels = None
depends_on = None

_BEFORE = "status IN ('reserved', 'submitted', 'failed')"
_AFTER = "status IN ('reserved', 'submitted', 'failed', 'released')"


def upgrade() -> None:
    with op.batch_alter_table("special_drug_purchases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_special_drug_purchases_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_special_drug_purchases_status"), _AFTER)


def downgrade() -> None:
    # the reservation was given back either way
    op.execute("UPDATE special_drug_purchases SET status = 'failed' WHERE status = 'released'")
    with op.batch_alter_table("special_drug_purchases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_special_drug_purchases_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_special_drug_purchases_status"), _BEFORE)
