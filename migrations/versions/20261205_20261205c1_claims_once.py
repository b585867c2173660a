"""claims paid once: failed payee accounts per claim (blind index only)

Revision ID: 20261205c1_claims_once
Revises: 20261205d1_claims_terms
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261205c1_claims_once"
down_revision = "20261205d1_claims_terms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_failed_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payout_id", sa.Integer(), nullable=True),
        sa.Column("account_index", sa.String(length=64), nullable=False),
        sa.Column("account_last4", sa.String(length=4), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_failed_accounts_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_claim_failed_accounts_payout_id_payouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_failed_accounts")),
        sa.UniqueConstraint(
            "claim_id",
            "account_index",
            name=op.f("uq_claim_failed_accounts_claim_id_account_index"),
        ),
    )
    with op.batch_alter_table("claim_failed_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_claim_failed_accounts_claim_id"), ["claim_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("claim_failed_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_failed_accounts_claim_id"))
    op.drop_table("claim_failed_accounts")
