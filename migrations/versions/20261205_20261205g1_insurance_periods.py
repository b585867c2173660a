"""insurance periods: every 1101 insuinfo answer kept per person, and the sandbox's begin date

Revision ID: 20261205g1_insurance_periods
Revises: 20261205e1_claim_lines
Create Date: 2026-12-05 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "20261205g1_insurance_periods"
down_revision = "20261205e1_claim_lines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insurance_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("psn_insu_stas", sa.String(length=1), nullable=False),
        sa.Column("paus_insu_date", sa.Date(), nullable=True),
        sa.Column("begin_date", sa.Date(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_insurance_answers_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_answers")),
    )
    with op.batch_alter_table("insurance_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_insurance_answers_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("sandbox_residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("psn_insu_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_residents", schema=None) as batch_op:
        batch_op.drop_column("psn_insu_date")

    with op.batch_alter_table("insurance_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insurance_answers_person_id"))

    op.drop_table("insurance_answers")
