"""`alembic upgrade head` on an empty database gives exactly the models' schema, on SQLite and
(when TEST_DATABASE_URL is set) on a fresh PostgreSQL database; downgrade to base empties it."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.migrate import alembic_config
from app.models import Base
from tests.migration_support import postgres_engine, sqlite_engine


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
    with sqlite_engine(tmp_path) as engine:
        _assert_head_matches_models(engine)


@pytest.mark.postgres
def test_postgres_upgrade_head_matches_models():
    with postgres_engine("huimin_mig") as engine:
        _assert_head_matches_models(engine)
