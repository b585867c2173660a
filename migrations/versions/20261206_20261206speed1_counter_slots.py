"""disclosure counters spread over slot rows (no hot rows): `slot` column in the unique key

Revision ID: 20261206speed1_counter_slots
Revises: 20261206faults_suite_lease
Create Date: 2026-12-06 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206speed1_counter_slots"
down_revision = "20261206faults_suite_lease"
branch_labels = None
depends_on = None

_CELL = ["product_id", "plan_year", "month", "metric", "dimension"]
_NEW = "uq_disclosure_counters_cell_slot"


def _unique_named(columns: list[str]) -> str | None:
    """The unique constraint's name as the database has it (the first migration's name is
    longer than PostgreSQL's 63 characters, so it may have been shortened)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("disclosure_counters"):
        if list(constraint["column_names"]) == columns:
            return constraint["name"]
    return None


def upgrade() -> None:
    old = _unique_named(_CELL)
    with op.batch_alter_table("disclosure_counters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=False, server_default="0"))
        if old is not None:
            batch_op.drop_constraint(old, type_="unique")
        batch_op.create_unique_constraint(_NEW, [*_CELL, "slot"])


def downgrade() -> None:
    # Fold every cell's slots into slot 0 (sums; the largest for the one maximum metric).
    op.execute(
        """
        INSERT INTO disclosure_counters
            (product_id, plan_year, month, metric, dimension, slot, value, updated_at)
        SELECT product_id, plan_year, month, metric, dimension, 0, 0, max(updated_at)
          FROM disclosure_counters
         GROUP BY product_id, plan_year, month, metric, dimension
        HAVING min(slot) > 0
        """
    )
    op.execute(
        """
        UPDATE disclosure_counters SET value = (
            SELECT CASE WHEN disclosure_counters.metric = 'largest_claim_paid_fen'
                        THEN max(o.value) ELSE sum(o.value) END
              FROM disclosure_counters o
             WHERE o.product_id = disclosure_counters.product_id
               AND o.plan_year = disclosure_counters.plan_year
               AND o.month = disclosure_counters.month
               AND o.metric = disclosure_counters.metric
               AND o.dimension = disclosure_counters.dimension)
         WHERE slot = 0
        """
    )
    op.execute("DELETE FROM disclosure_counters WHERE slot <> 0")
    with op.batch_alter_table("disclosure_counters", schema=None) as batch_op:
        batch_op.drop_constraint(_NEW, type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_disclosure_counters_product_id_plan_year_month_metric_dimension"), _CELL
        )
        batch_op.drop_column("slot")
