"""claims terms: amounts by the product's own kinds (claims.other_amounts); the accumulator kind
above_ded (eligible spend above the deductible, for tiers counted from the deductible)

Revision ID: 20261205d1_claims_terms
Revises: 20261205b1_catalogues
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205d1_claims_terms"
down_revision = "20261205b1_catalogues"
branch_labels = None
depends_on = None

_KINDS_BEFORE = "kind IN ('paid', 'eligible', 'deductible', 'sub_cap')"
_KINDS_AFTER = "kind IN ('paid', 'eligible', 'deductible', 'sub_cap', 'above_ded')"


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("other_amounts", sa.JSON(), nullable=True))
    with op.batch_alter_table("accumulator_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accumulator_entries_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_accumulator_entries_kind"), _KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM accumulator_entries WHERE kind = 'above_ded'")
    with op.batch_alter_table("accumulator_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accumulator_entries_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_accumulator_entries_kind"), _KINDS_BEFORE)
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("other_amounts")
