"""Shared fixtures. SQLite in memory by default; TEST_DATABASE_URL=postgresql+psycopg://... runs
the same suite on PostgreSQL (plus the tests marked `postgres`)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

import app.models
from app import create_app
from app.config import testing_config
from app.database import Base
from app.demo.residents import generate

# Property tests are derandomised so a CI run is repeatable; HYPOTHESIS_RANDOM=1 explores.
hypothesis_settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile("explore" if os.environ.get("HYPOTHESIS_RANDOM") else "repeatable")

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _pg_schema():
    """On PostgreSQL: a clean schema once per run."""
    if not ON_POSTGRES:
        yield
        return
    from app.database import make_engine

    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.create_all(conn)
    engine.dispose()
    yield


def make_config(**overrides):
    cfg = testing_config()
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def build_app(made: list, **overrides):
    """An app on a clean database: its own in-memory SQLite, or the shared PostgreSQL schema."""
    application = create_app(make_config(**overrides))
    application.config["RAISE_UNEXPECTED"] = False
    if not ON_POSTGRES:
        Base.metadata.create_all(application.extensions["db_engine"])
    made.append(application)
    return application


def teardown_apps(made: list) -> None:
    for application in made:
        engine = application.extensions["db_engine"]
        application.extensions["db_session"].remove()
        if ON_POSTGRES:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def app_factory(_pg_schema):
    """Build an app (with overrides) on a clean database; tear it down after the test."""
    made: list = []
    yield lambda **overrides: build_app(made, **overrides)
    teardown_apps(made)


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def residents():
    """The demo registry, by name (the showcase people are unique by name)."""
    return {r.name: r for r in generate()[:10]}


@pytest.fixture
def seeded(app):
    from app.demo.seed import seed_demo

    with app.app_context():
        seed_demo()
    return app


def login(client, code: str = "member-a") -> dict:
    resp = client.post("/auth/wechat/login", json={"code": code})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


CONSENT = {"accepted": True, "text_version": "pi-2026-01"}


def verify(client, token: str, resident):
    return client.post(
        "/me/identity",
        headers=bearer(token),
        json={
            "name": resident.name,
            "id_number": resident.certno,
            "consent": CONSENT,
        },
    )


def add_relative(client, token: str, resident, relation: str, **extra):
    body = {
        "name": resident.name,
        "id_number": resident.certno,
        "relation": relation,
        "consent": CONSENT,
    }
    body.update(extra)
    return client.post("/me/relatives", headers=bearer(token), json=body)


@pytest.fixture
def verified_member(client, seeded, residents):
    """Member A logged in and verified as 张伟; returns the access token."""
    tokens = login(client, "member-a")
    resp = verify(client, tokens["access_token"], residents["张伟"])
    assert resp.status_code == 200, resp.get_json()
    return tokens["access_token"]
