"""roster_entries.name: the name the sponsor's roster gave for the person, which the batch
enrolment checks with the bureau (the person's own name may come from another roster or the
bureau); null on entries listed before, which fall back to the person's name

Revision ID: 20261206roster_entry_name
Revises: 20261206psn_no_index
Create Date: 2026-12-06 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206roster_entry_name"
down_revision = "20261206psn_no_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roster_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roster_entries", schema=None) as batch_op:
        batch_op.drop_column("name")
