"""claims.diagnosis_code: the ICD-10 code of the claim's diagnosis (the bureau's dise_codg, or
typed from the documents), which decides whether a chronic out-patient visit is a class-one
chronic condition the product covers; null on claims filed before, whose chronic out-patient
visits a re-run holds for a reviewer (docs/adjudication.md)

Revision ID: 20261206claim_dx_code
Revises: 20261206roster_entry_name
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206claim_dx_code"
down_revision = "20261206roster_entry_name"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("diagnosis_code", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("diagnosis_code")
