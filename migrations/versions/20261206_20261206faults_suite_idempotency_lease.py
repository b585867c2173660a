"""idempotency lease: who holds an in-progress key (host, process, claim) and until when, so a
key whose holder died is released at once, or when the lease (the request timeout) ends

Revision ID: 20261206faults_suite_lease
Revises: 20261206web_base_sessions
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206faults_suite_lease"
down_revision = "20261206web_base_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("holder")
