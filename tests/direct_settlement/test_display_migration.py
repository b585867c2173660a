"""Migrations 20261207claim_reversed and 20261207recon_counts on data written before them: a
claim the hospital had already cancelled gets reversed_at from its `reverse` transition and its
explanation closed as the cancellation now closes it; a stored count_differs moves its counts
out of the fen fields. Downgrade puts the counts back where the old code read them. SQLite, and PostgreSQL when
TEST_DATABASE_URL is set (foreign keys off for the hand-made rows: only these tables matter)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from app.migrate import alembic_config
from tests.migration_support import postgres_engine, sqlite_engine

BEFORE = "20261206sd_purchase_released"
# 2026-11-23 17:30 UTC is 2026-11-24 in Shanghai: the closing line names the Shanghai day
REVERSED = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)

ENGINE = {
    "decision": "payable",
    "payable_fen": 447247,
    "reason_codes": ["payable_total"],
    "buckets": [],
    "lines": [
        {"code": "ratio_applied", "zh": "x", "en": "x", "bucket": "in_policy"},
        {"code": "payable_total", "zh": "本次赔付合计 4,472.47 元", "en": "t", "bucket": None},
    ],
}
OLD_MISMATCHES = [
    {"setl_sn": None, "code": "count_differs", "zh": "笔数不一致", "ours_fen": 1, "theirs_fen": 2},
    {
        "setl_sn": None,
        "code": "sum_differs",
        "zh": "金额合计不一致",
        "ours_fen": 5,
        "theirs_fen": 9,
    },
]


def _filler(column: sa.Column):
    """A value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    if isinstance(kind, sa.DateTime):
        return REVERSED
    if isinstance(kind, sa.Date):
        return date(2026, 5, 6)
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(conn, name: str, **values) -> None:
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    row = {
        c.name: _filler(c)
        for c in table.columns
        if not c.nullable and c.server_default is None and not c.primary_key
    }
    conn.execute(table.insert().values(row | values))


def _claim(conn, claim_id: int, status: str, adjudication) -> None:
    _insert(
        conn,
        "claims",
        id=claim_id,
        claim_no=f"CL{claim_id}",
        status=status,
        source="settlement",
        health="healthy",
        health_set_by="member",
        adjudication=adjudication,
    )


def _transition(conn, claim_id: int, action: str, at: datetime) -> None:
    _insert(
        conn,
        "claim_transitions",
        claim_id=claim_id,
        action=action,
        from_status="paid",
        to_status="rejected",
        actor_type="system",
        created_at=at,
    )


def _check(engine) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BEFORE)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        _claim(conn, 1, "rejected", ENGINE)  # cancelled at the counter
        _transition(conn, 1, "pay", datetime(2026, 11, 23, 2, tzinfo=UTC))
        _transition(conn, 1, "reverse", REVERSED)
        _claim(conn, 2, "rejected", ENGINE)  # a reviewer's rejection: untouched
        _transition(conn, 2, "reject", REVERSED)
        _claim(conn, 3, "rejected", None)  # reversed before any explanation was kept
        _transition(conn, 3, "reverse", REVERSED)
        _insert(conn, "direct_reconciliations", id=7, mismatches=OLD_MISMATCHES, matched=False)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    claims = sa.table(
        "claims",
        sa.column("id"),
        sa.column("reversed_at", sa.DateTime(timezone=True)),
        sa.column("adjudication", sa.JSON),
    )
    recs = sa.table("direct_reconciliations", sa.column("id"), sa.column("mismatches", sa.JSON))
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(claims).order_by(claims.c.id))}
        mismatches = conn.execute(sa.select(recs.c.mismatches)).scalar_one()
    at = rows[1].reversed_at
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == REVERSED
    assert [(line["code"], line["zh"]) for line in rows[1].adjudication["lines"]] == [
        ("ratio_applied", "x"),
        ("counter_settled_total", "原一站式结算赔付合计 4,472.47 元"),
        (
            "counter_settlement_cancelled",
            "医院已于 2026-11-24 撤销本次一站式结算，本次实际赔付 0.00 元",
        ),
    ]
    assert rows[2].reversed_at is None and rows[2].adjudication == ENGINE
    assert rows[3].reversed_at is not None and rows[3].adjudication is None
    assert mismatches == [
        {
            "setl_sn": None,
            "code": "count_differs",
            "zh": "笔数不一致",
            "ours_count": 1,
            "theirs_count": 2,
            "ours_fen": None,
            "theirs_fen": None,
        },
        {
            "setl_sn": None,
            "code": "sum_differs",
            "zh": "金额合计不一致",
            "ours_count": None,
            "theirs_count": None,
            "ours_fen": 5,
            "theirs_fen": 9,
        },
    ]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BEFORE)
    with engine.connect() as conn:
        assert conn.execute(sa.select(recs.c.mismatches)).scalar_one() == OLD_MISMATCHES
        assert "reversed_at" not in {c["name"] for c in sa.inspect(conn).get_columns("claims")}


def test_sqlite_data_before_the_migration(tmp_path):
    with sqlite_engine(tmp_path) as engine:
        _check(engine)


@pytest.mark.postgres
def test_postgres_data_before_the_migration():
    with postgres_engine("huimin_mig") as engine:
        _check(engine)
