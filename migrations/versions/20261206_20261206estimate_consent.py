"""value estimate consent: the consents purposes `value_estimate` and its withdrawal
`value_estimate_withdrawn` (append-only; the member's latest row of the two decides)

Revision ID: 20261206estimate_consent
Revises: 20261206direct_settle
Create Date: 2026-12-06 02:10:00
"""

from __future__ import annotations

from alembic import op

revision = "20261206estimate_consent"
down_revision = "20261206direct_settle"
branch_labels = None
depends_on = None

_BEFORE = "purpose IN ('identity_verification', 'guardian')"
_AFTER = (
    "purpose IN ('identity_verification', 'guardian', 'value_estimate', 'value_estimate_withdrawn')"
)


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consents_purpose"), _AFTER)


def downgrade() -> None:
    op.execute(
        "DELETE FROM consents WHERE purpose IN ('value_estimate', 'value_estimate_withdrawn')"
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consents_purpose"), _BEFORE)
