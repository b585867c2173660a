"""claims.adjudicated_version: the accumulator version (accumulator_years.version) a waiting
claim's figure was computed against, so the review queue can tell a figure that other claims of
the person-year have since made stale (NULL for figures computed before this revision)

Revision ID: 20261207adjudicated_version
Revises: 20261207recon_counts
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261207adjudicated_version"
down_revision = "20261207recon_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adjudicated_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("adjudicated_version")
