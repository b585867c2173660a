"""sandbox fee lines (5204 费用明细 of the sandbox bureau's settlements)

Revision ID: 20261205a1_fee_lines
Revises: 2b2e10f45784
Create Date: 2026-12-05 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "20261205a1_fee_lines"
down_revision = "2b2e10f45784"
branch_labels = None
depends_on = None

_AMOUNTS = (
    "det_item_fee_sumamt_fen",
    "fulamt_ownpay_amt_fen",
    "overlmt_amt_fen",
    "preselfpay_amt_fen",
    "inscp_scp_amt_fen",
)


def upgrade() -> None:
    op.create_table(
        "sandbox_fee_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedetl_sn", sa.String(length=48), nullable=False),
        sa.Column("setl_id", sa.String(length=40), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("psn_no", sa.String(length=40), nullable=False),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=50), nullable=False),
        sa.Column("med_list_name", sa.String(length=200), nullable=False),
        sa.Column("med_chrgitm_type", sa.String(length=4), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=2), nullable=False),
        sa.Column("cnt", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("pric_fen", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _AMOUNTS),
        sa.Column("fee_ocur_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("init_feedetl_sn", sa.String(length=48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "chrgitm_lv IN ('01', '02', '03')",
            name=op.f("ck_sandbox_fee_lines_chrgitm_lv_known"),
        ),
        sa.CheckConstraint("pric_fen >= 0", name=op.f("ck_sandbox_fee_lines_price_nonnegative")),
        sa.CheckConstraint(
            "(cnt > 0 AND "
            + " AND ".join(f"{name} >= 0" for name in _AMOUNTS)
            + ") OR (cnt < 0 AND "
            + " AND ".join(f"{name} <= 0" for name in _AMOUNTS)
            + ")",
            name=op.f("ck_sandbox_fee_lines_charge_or_reversal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_fee_lines")),
        sa.UniqueConstraint("feedetl_sn", name=op.f("uq_sandbox_fee_lines_feedetl_sn")),
    )
    with op.batch_alter_table("sandbox_fee_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sandbox_fee_lines_setl_id"), ["setl_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_fee_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_fee_lines_setl_id"))
    op.drop_table("sandbox_fee_lines")
