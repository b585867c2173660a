"""member privacy: the consents purpose `identity_verification_withdrawn` (a member withdrew
consent to the processing of personal information, PIPL art. 15; append-only, the latest of it
and `identity_verification` decides) and members.closed_at / retain_until (account closure 注销,
and until when the closed account's insurance records are kept)

Revision ID: 20261206member_privacy
Revises: 20261206sd_claim_holds
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206member_privacy"
down_revision = "20261206sd_claim_holds"
branch_labels = None
depends_on = None

_BEFORE = (
    "purpose IN ('identity_verification', 'guardian', 'value_estimate', 'value_estimate_withdrawn')"
)
_AFTER = (
    "purpose IN ('identity_verification', 'guardian', 'value_estimate', "
    "'value_estimate_withdrawn', 'identity_verification_withdrawn')"
)


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consents_purpose"), _AFTER)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retain_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("retain_until")
        batch_op.drop_column("closed_at")
    op.execute("DELETE FROM consents WHERE purpose = 'identity_verification_withdrawn'")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consents_purpose"), _BEFORE)
