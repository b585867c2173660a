"""reconciliation mismatches keep counts in ours_count / theirs_count: a count_differs put the
numbers of settlements in ours_fen / theirs_fen, where they read as money

Data: each stored mismatch gets the four figure fields (those its kind does not use null), a
count_differs its counts moved out of the fen fields. Downgrade puts the counts back where the
old code read them.

Revision ID: 20261207recon_counts
Revises: 20261207claim_reversed
Create Date: 2026-12-07 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261207recon_counts"
down_revision = "20261207claim_reversed"
branch_labels = None
depends_on = None

_reconciliations = sa.table(
    "direct_reconciliations", sa.column("id", sa.Integer), sa.column("mismatches", sa.JSON)
)


def _mismatch(m: dict) -> dict:
    counts = m.get("code") == "count_differs"
    return {
        "setl_sn": m.get("setl_sn"),
        "code": m.get("code"),
        "zh": m.get("zh"),
        "ours_count": m.get("ours_fen") if counts else None,
        "theirs_count": m.get("theirs_fen") if counts else None,
        "ours_fen": None if counts else m.get("ours_fen"),
        "theirs_fen": None if counts else m.get("theirs_fen"),
    }


def _mismatch_before(m: dict) -> dict:
    counts = m.get("code") == "count_differs"
    return {
        "setl_sn": m.get("setl_sn"),
        "code": m.get("code"),
        "zh": m.get("zh"),
        "ours_fen": m.get("ours_count") if counts else m.get("ours_fen"),
        "theirs_fen": m.get("theirs_count") if counts else m.get("theirs_fen"),
    }


def _rewrite_mismatches(conn, change) -> None:
    rows = conn.execute(sa.select(_reconciliations.c.id, _reconciliations.c.mismatches)).all()
    for row_id, mismatches in rows:
        if mismatches:
            conn.execute(
                _reconciliations.update()
                .where(_reconciliations.c.id == row_id)
                .values(mismatches=[change(m) for m in mismatches])
            )


def upgrade() -> None:
    _rewrite_mismatches(op.get_bind(), _mismatch)


def downgrade() -> None:
    _rewrite_mismatches(op.get_bind(), _mismatch_before)
