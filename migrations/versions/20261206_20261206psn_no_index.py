"""persons.psn_no indexed: the hospital counter finds the insured by the bureau's person number
on every trial (a sequential scan over every resident before)

On a large persons table, build the index first without blocking writes, outside this migration
(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_persons_psn_no ON persons (psn_no)`, docs/
direct_settlement.md); this migration then finds it and does nothing (IF NOT EXISTS). Migrations
run in one transaction here, where CONCURRENTLY cannot.

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
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_persons_psn_no", "persons", ["psn_no"], if_not_exists=True)
        return
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_psn_no"), ["psn_no"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_persons_psn_no", table_name="persons", if_exists=True)
        return
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_psn_no"))
