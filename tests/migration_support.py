"""Throwaway databases for the migration tests: each test upgrades (and downgrades) a database
of its own, never the suite's schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@contextmanager
def sqlite_engine(directory: Path) -> Iterator[Engine]:
    """An empty SQLite file in `directory` (a test's tmp_path)."""
    engine = create_engine(f"sqlite:///{directory / 'm.sqlite3'}")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_engine(prefix: str = "huimin_mig") -> Iterator[Engine]:
    """A new PostgreSQL database beside TEST_DATABASE_URL's, dropped afterwards."""
    url = make_url(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
