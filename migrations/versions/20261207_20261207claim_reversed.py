"""claims.reversed_at: a counter settlement the hospital cancelled (撤销) stays `rejected` in the
state machine but reads 医院已撤销结算, is no longer presented as paid, and its explanation closes
with the cancellation

Data: a claim already reversed gets reversed_at from its `reverse` transition and its
explanation closed as app.direct_settlement.rules.cancelled_explanation does now (frozen here).
Downgrade drops the column; the explanations keep their closing line (it says what happened).

Revision ID: 20261207claim_reversed
Revises: 20261207dup_digests
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "20261207claim_reversed"
down_revision = "20261207dup_digests"
branch_labels = None
depends_on = None

_claims = sa.table(
    "claims",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("adjudication", sa.JSON),
    sa.column("reversed_at", sa.DateTime(timezone=True)),
)
_transitions = sa.table(
    "claim_transitions",
    sa.column("claim_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _yuan(fen: int) -> str:
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def _cancelled(adjudication: dict, on: date) -> dict:
    """rules.cancelled_explanation as of this revision."""
    lines = list(adjudication.get("lines") or [])
    if lines and lines[-1].get("code") == "counter_settlement_cancelled":
        return adjudication
    settled = _yuan(int(adjudication.get("payable_fen") or 0))
    total = {
        "code": "counter_settled_total",
        "zh": f"原一站式结算赔付合计 {settled} 元",
        "en": f"settled at the hospital counter: {settled} yuan",
    }
    kept = [line | total if line.get("code") == "payable_total" else line for line in lines]
    closing = {
        "code": "counter_settlement_cancelled",
        "zh": f"医院已于 {on.isoformat()} 撤销本次一站式结算，本次实际赔付 0.00 元",
        "en": f"the hospital cancelled this counter settlement on {on.isoformat()}: 0.00 yuan paid",
        "bucket": None,
    }
    return adjudication | {"lines": [*kept, closing]}


def _shanghai_day(at: datetime) -> date:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: stored as UTC
    return aware.astimezone(ZoneInfo("Asia/Shanghai")).date()


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    reversed_ = conn.execute(
        sa.select(_transitions.c.claim_id, sa.func.max(_transitions.c.created_at))
        .where(_transitions.c.action == "reverse")
        .group_by(_transitions.c.claim_id)
    ).all()
    for claim_id, at in reversed_:
        adjudication = conn.execute(
            sa.select(_claims.c.adjudication).where(
                _claims.c.id == claim_id, _claims.c.status == "rejected"
            )
        ).first()
        if adjudication is None:  # no longer rejected: not shown as reversed
            continue
        values: dict = {"reversed_at": at}
        if adjudication[0] is not None:
            values["adjudication"] = _cancelled(adjudication[0], _shanghai_day(at))
        conn.execute(_claims.update().where(_claims.c.id == claim_id).values(**values))


def downgrade() -> None:
    # the explanations keep their closing line: it says what happened
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("reversed_at")
