"""special_drug_claim_holds: what of a special drug's annual cap an itemised claim holds while
its money is settled (taken on approval, given back when the approval is undone)

Revision ID: 20261206sd_claim_holds
Revises: 20261206claim_dx_code
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206sd_claim_holds"
down_revision = "20261206claim_dx_code"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "special_drug_claim_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("usage_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0", name=op.f("ck_special_drug_claim_holds_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_special_drug_claim_holds_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["usage_id"],
            ["special_drug_usage.id"],
            name=op.f("fk_special_drug_claim_holds_usage_id_special_drug_usage"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_drug_claim_holds")),
        sa.UniqueConstraint(
            "claim_id", "usage_id", name=op.f("uq_special_drug_claim_holds_claim_id_usage_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("special_drug_claim_holds")
