"""persons.psn_no indexed: the hospital counter finds the insured by the bureau's person number
on every trial (a sequential scan over every resident before)

Revision ID: 20261206psn_no_index
Revises: 20261206estimate_consent
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "20261206psn_no_index"
down_revision = "20261206estimate_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_psn_no"), ["psn_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_psn_no"))
