"""Run Alembic from inside the application (CLI, tests, the development server's first start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection=None) -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head() -> None:
    engine = current_app.extensions["db_engine"]
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
