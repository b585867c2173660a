"""Revision 20261207dup_digests backfills the duplicate checks' digests of the claims already
there (app/claims/digests.py), on SQLite and on PostgreSQL: a claim's settlement number and an
invoice's issuer and number get exactly the digest the application gives a new one, a claim
without a settlement number none; a downgrade drops them and leaves the numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from app.claims.digests import invoice_digest, settlement_digest
from app.migrate import alembic_config
from tests.migration_support import postgres_engine, sqlite_engine

BEFORE = "20261206sd_purchase_released"
FILLER = {int: 0, str: "x", bool: False, date: date(2026, 4, 8), object: [], list: []}
CLAIMS = [  # (id, setl_id): one-tap, one-tap, photographed
    (1, "SBS20269000000003"),
    (2, "SBS20269000000004"),
    (3, None),
]
INVOICES = [(1, 3, "赣州市人民医院", "36000026001234"), (2, 3, "赣州市人民医院", "36000026001235")]


def _row(table: sa.Table, **given) -> dict:
    """`given`, and a plain value for every other column that must have one."""
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        try:
            kind = column.type.python_type  # JSON: object
        except NotImplementedError:
            kind = list
        row[column.name] = datetime(2026, 11, 23, tzinfo=UTC) if kind is datetime else FILLER[kind]
    return row


def _backfilled(engine, app) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BEFORE)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the claims' parents are not the point here
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        meta = sa.MetaData()
        claims = sa.Table("claims", meta, autoload_with=conn)
        invoices = sa.Table("claim_invoices", meta, autoload_with=conn)
        for claim_id, setl_id in CLAIMS:
            conn.execute(
                claims.insert(),
                _row(
                    claims,
                    id=claim_id,
                    claim_no=f"CL{claim_id}",
                    setl_id=setl_id,
                    source="settlement" if setl_id else "documents",
                    status="paid",
                    health="healthy",
                ),
            )
        for invoice_id, claim_id, issuer, number in INVOICES:
            conn.execute(
                invoices.insert(),
                _row(invoices, id=invoice_id, claim_id=claim_id, issuer=issuer, number=number),
            )
    with app.app_context():  # the application's DUPLICATE_CHECK_KEY (the testing profile's)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            got = conn.execute(text("SELECT id, setl_id, setl_digest FROM claims ORDER BY id"))
            assert [tuple(r) for r in got] == [
                (i, setl, settlement_digest(setl)) for i, setl in CLAIMS
            ]
            got = conn.execute(
                text("SELECT id, number, number_digest FROM claim_invoices ORDER BY id")
            )
            assert [tuple(r) for r in got] == [
                (i, number, invoice_digest(issuer, number)) for i, _, issuer, number in INVOICES
            ]
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BEFORE)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT setl_id FROM claims ORDER BY id"))
        assert [r[0] for r in got] == [setl for _, setl in CLAIMS]
        assert "setl_digest" not in {c["name"] for c in sa.inspect(conn).get_columns("claims")}


def test_sqlite_backfills_the_digests(tmp_path, app):
    with sqlite_engine(tmp_path) as engine:
        _backfilled(engine, app)


@pytest.mark.postgres
def test_postgres_backfills_the_digests(app):
    with postgres_engine("huimin_dig") as engine:
        _backfilled(engine, app)
