"""`alembic upgrade head` on an empty database gives exactly the models' schema, on SQLite and
(when TEST_DATABASE_URL is set) on a fresh PostgreSQL database; downgrade to base empties it."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.migrate import alembic_config
from app.models import Base

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _assert_head_matches_models(engine):
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert leftover == set()


def test_sqlite_upgrade_head_matches_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        _assert_head_matches_models(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_head_matches_models():
    url = make_url(PG_URL)
    name = f"huimin_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        _assert_head_matches_models(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
