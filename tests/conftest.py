"""Shared fixtures. SQLite in memory by default; TEST_DATABASE_URL=postgresql+psycopg://... runs
the same suite on PostgreSQL (plus the tests marked `postgres`).

How tests stay isolated, cheaply (docs/performance.md "Test suite wall time"):

- Every app-level test gets a real, empty database of its own: on SQLite a fresh in-memory
  database (the schema is copied from one built once per run with sqlite3's
  `Connection.backup()`); on PostgreSQL the shared schema, emptied after the test (DELETE from
  the tables that have rows and a restart of the used sequences: what TRUNCATE ... RESTART
  IDENTITY did, at a fraction of its cost). There is no outer transaction or savepoint, so code
  that commits, rolls back, or opens sessions of its own (the sandbox bureau, idempotency, threads
  racing, the Celery worker) sees exactly what it would in production. Tests marked `postgres`
  need nothing more: every test already has a real, committed-to database.
- `seeded`: the demo seed (`seed_demo()`) runs for real once per run (per xdist worker); its
  rows are kept and copied into later tests' empty databases (SQLite: `backup()`; PostgreSQL:
  COPY per table and the sequences set where the seed left them). The copy is only used when the
  test's database is still empty and its app has the configuration the seed was made with;
  otherwise `seed_demo()` runs as before. Tests that call `seed_demo()` themselves still do.
- Under pytest-xdist (`./scripts/test` passes `-n`), each worker has a PostgreSQL database of its
  own (test_gw0, test_gw1, ... created on demand on the TEST_DATABASE_URL server); SQLite
  databases are per app already. Tests are distributed one by one (xdist's default `load`):
  under `--dist loadfile`/`loadscope`, tests/security/test_schemathesis.py's 91 per-operation
  tests came out as 4 items in a fraction of the time, so keep the default.
- Staff passwords are hashed at the testing profile's cheap Argon2 cost (app/config.py
  PASSWORD_HASH_*); tests/security/test_password_cost.py checks production keeps the strong one.
"""

from __future__ import annotations

import copy
import os
import sqlite3

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import app.models

# prometheus_client picks its value class (single- or multi-process) when first imported, from
# PROMETHEUS_MULTIPROC_DIR; tests/ops/test_gunicorn_conf.py sets that variable while it runs, so the
# metrics are imported here first, in the single-process mode every other test expects.
import app.ops.metrics
from app import create_app
from app.config import Config, testing_config
from app.database import Base
from app.demo.residents import generate

# Property tests are derandomised so a CI run is repeatable; HYPOTHESIS_RANDOM=1 explores.
hypothesis_settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile("explore" if os.environ.get("HYPOTHESIS_RANDOM") else "repeatable")

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
MEMORY_SQLITE = ("sqlite://", "sqlite:///:memory:")


def _worker_database(url: str, worker: str) -> str:
    """The database of one xdist worker: `<name>_<worker>` on the same server, made if missing."""
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if found is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


if ON_POSTGRES and XDIST_WORKER:
    # Before any test module reads it: testing_config() and tests/test_migrations.py use it too.
    PG_URL = _worker_database(PG_URL, XDIST_WORKER)
    os.environ["TEST_DATABASE_URL"] = PG_URL


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


def _quoted_tables(engine) -> list[str]:
    """Every table, quoted, parents before children."""
    quote = engine.dialect.identifier_preparer.quote
    return [quote(t.name) for t in Base.metadata.sorted_tables]


def _nonempty_tables(conn) -> list[str]:
    """The tables holding at least one row (one round trip), parents before children."""
    tables = _quoted_tables(conn.engine)
    union = " UNION ALL ".join(
        f"SELECT {i} WHERE EXISTS (SELECT 1 FROM {name})" for i, name in enumerate(tables)
    )
    return [tables[i] for i in sorted(conn.execute(text(union)).scalars())]


_SQLITE_EMPTY_SCHEMA: list[sqlite3.Connection] = []


def _driver_connection(engine):
    """The one DB-API connection behind an in-memory SQLite engine (StaticPool)."""
    fairy = engine.raw_connection()
    return fairy, fairy.driver_connection


def _create_schema(engine) -> None:
    """The models' tables on a fresh in-memory SQLite: copied from a database built once."""
    if _SQLITE_EMPTY_SCHEMA:
        fairy, conn = _driver_connection(engine)
        try:
            _SQLITE_EMPTY_SCHEMA[0].backup(conn)
        finally:
            fairy.close()
        return
    Base.metadata.create_all(engine)
    fairy, conn = _driver_connection(engine)
    try:
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        conn.backup(copy)
        _SQLITE_EMPTY_SCHEMA.append(copy)
    finally:
        fairy.close()


def build_app(made: list, **overrides):
    """An app on a clean database: its own in-memory SQLite, or the shared PostgreSQL schema."""
    application = create_app(make_config(**overrides))
    application.config["RAISE_UNEXPECTED"] = False
    if not ON_POSTGRES:
        engine = application.extensions["db_engine"]
        if str(engine.url) in MEMORY_SQLITE:
            _create_schema(engine)
        else:
            Base.metadata.create_all(engine)
    made.append(application)
    return application


def _empty_postgres(engine) -> None:
    """What TRUNCATE <all tables> RESTART IDENTITY CASCADE did, cheaper: DELETE from the tables
    that have rows (children first) and restart the sequences that were used."""
    with engine.begin() as conn:
        tables = _nonempty_tables(conn)
        for name in reversed(tables):
            conn.execute(text(f"DELETE FROM {name}"))
        used = conn.execute(
            text(
                "SELECT format('%I', sequencename) FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        ).scalars()
        for sequence in used:
            conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


def teardown_apps(made: list) -> None:
    emptied: set[str] = set()
    for application in made:
        engine = application.extensions["db_engine"]
        application.extensions["db_session"].remove()
        url = engine.url.render_as_string(hide_password=False)
        if ON_POSTGRES and url not in emptied and engine.url.get_backend_name() == "postgresql":
            _empty_postgres(engine)
            emptied.add(url)
        engine.dispose()


def _app_shape(application) -> tuple:
    """What a test could add to an app that a reset cannot take away: routes and hooks."""

    def sizes(registry: dict) -> tuple:
        return tuple(sorted((repr(k), len(v)) for k, v in registry.items()))

    return (
        len(application.url_map._rules),
        len(application.view_functions),
        sizes(application.before_request_funcs),
        sizes(application.after_request_funcs),
        sizes(application.teardown_request_funcs),
        len(application.teardown_appcontext_funcs),
        # Error dispatch adds empty entries to these defaultdicts; only handlers count.
        sorted(
            (repr(blueprint), repr(code), repr(exc))
            for blueprint, by_code in application.error_handler_spec.items()
            for code, handlers in by_code.items()
            for exc in handlers
        ),
    )


def _copy_registrations(extensions: dict) -> dict:
    """A copy of app.extensions in which the registration lists (hooks, providers) are new lists,
    also inside dicts of lists (app.extensions["hooks"]), with aliasing kept: a hook slot that is
    the same list as a legacy extensions key stays one list in the copy."""
    made: dict[int, list] = {}

    def copied(value):
        if isinstance(value, list):
            return made.setdefault(id(value), list(value))
        if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
            return {k: copied(v) for k, v in value.items()}
        return value

    return {k: copied(v) for k, v in extensions.items()}


class _PooledApp:
    """A default app (`app_factory()` without overrides) kept between tests, because building
    one (blueprints, their OpenAPI docs, the URL map) is most of a small test's time.

    Between tests it is put back to how `build_app` left it: an empty database (see
    `_reset_database`), its config and `app.extensions` as they were (lazily made adapters,
    caches and test doubles dropped; lists copied), the rate limiter's state (flask-limiter's
    Limiter is one object that `init_app` re-points at the newest app) with its in-memory counters
    cleared, and Flask's "first request handled" flag down so a test may add routes again. An app
    a test added routes or hooks to, or whose reset fails, is dropped instead of reused.
    """

    def __init__(self, application):
        from app.ratelimit import limiter

        self.app = application
        self.config = copy.deepcopy(dict(application.config))
        self.extensions = _copy_registrations(application.extensions)
        self.limiter_state = dict(vars(limiter))
        self.shape = _app_shape(application)

    def reusable(self) -> bool:
        return _app_shape(self.app) == self.shape

    def reset(self) -> None:
        from app.ratelimit import limiter

        application = self.app
        application.config.clear()
        application.config.update(copy.deepcopy(self.config))
        application.extensions.clear()
        application.extensions.update(_copy_registrations(self.extensions))
        vars(limiter).clear()
        vars(limiter).update(self.limiter_state)
        limiter.reset()
        application._got_first_request = False


_APP_POOL: list[_PooledApp] = []
_APP_POOL_SIZE = 3


def _reset_database(application) -> None:
    """Empty the app's database for the next test: the empty schema copied over its in-memory
    SQLite, or the PostgreSQL tables emptied and the pool closed (new connections next time,
    as before)."""
    engine = application.extensions["db_engine"]
    application.extensions["db_session"].remove()
    if ON_POSTGRES:
        _empty_postgres(engine)
        engine.dispose()
    else:
        _create_schema(engine)


def _pooled_app(made: list, pooled: list):
    while _APP_POOL:
        entry = _APP_POOL.pop()
        try:
            entry.reset()
        except Exception:  # a broken app is not reused; build another
            continue
        made.append(entry.app)
        pooled.append(entry)
        return entry.app
    application = build_app([])
    entry = _PooledApp(application)
    made.append(application)
    pooled.append(entry)
    return application


@pytest.fixture
def app_factory(_pg_schema):
    """Build an app (with overrides) on a clean database; tear it down after the test.
    Without overrides the app may be one a previous test used, reset (`_PooledApp`)."""
    made: list = []
    pooled: list[_PooledApp] = []

    def factory(**overrides):
        if overrides:
            return build_app(made, **overrides)
        return _pooled_app(made, pooled)

    yield factory
    pooled_apps = {id(entry.app) for entry in pooled}
    teardown_apps([a for a in made if id(a) not in pooled_apps])
    for entry in pooled:
        try:
            keep = entry.reusable()
            _reset_database(entry.app)
        except Exception:
            keep = False
        if keep and len(_APP_POOL) < _APP_POOL_SIZE:
            _APP_POOL.append(entry)
        else:
            teardown_apps([entry.app])


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def residents():
    """The demo registry, by name (the showcase people are unique by name)."""
    return {r.name: r for r in generate()[:11]}


# What the demo seed depends on besides the code: the keys its rows are encrypted and indexed
# with, the password cost of its staff, and where it is stored. A copy is used only for an app
# configured the same way.
_SEED_CONFIG = (
    "PROFILE",
    "DATABASE_URL",
    "FIELD_ENCRYPTION_KEY",
    "BLIND_INDEX_KEY",
    "DUPLICATE_CHECK_KEY",
    "PASSWORD_HASH_TIME_COST",
    "PASSWORD_HASH_MEMORY_KIB",
    "PASSWORD_HASH_PARALLELISM",
    "BUREAU_ADAPTER",
    "BUREAU_REGION",
)
_SEED_COPIES: dict[tuple, object] = {}


class _SqliteSeed:
    """The seeded in-memory database, whole (schema and rows)."""

    def __init__(self, engine):
        fairy, conn = _driver_connection(engine)
        try:
            self.copy = sqlite3.connect(":memory:", check_same_thread=False)
            conn.backup(self.copy)
        finally:
            fairy.close()

    def restore(self, engine) -> None:
        fairy, conn = _driver_connection(engine)
        try:
            self.copy.backup(conn)
        finally:
            fairy.close()


class _PostgresSeed:
    """The seeded tables' rows (COPY format) and the sequences' positions."""

    def __init__(self, engine):
        with engine.connect() as conn:
            tables = _nonempty_tables(conn)
            cursor = conn.connection.driver_connection.cursor()
            self.rows = []
            for name in tables:
                with cursor.copy(f"COPY {name} TO STDOUT (FORMAT binary)") as copy:
                    self.rows.append((name, b"".join(bytes(chunk) for chunk in copy)))
            self.sequences = conn.execute(
                text(
                    "SELECT format('%I', sequencename), last_value FROM pg_sequences"
                    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            ).all()
            conn.rollback()

    def restore(self, engine) -> None:
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for name, data in self.rows:
                with cursor.copy(f"COPY {name} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
            for sequence, value in self.sequences:
                conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": value})


def _seed_key(application) -> tuple | None:
    engine = application.extensions["db_engine"]
    url = engine.url.render_as_string(hide_password=False)
    if url not in (*MEMORY_SQLITE, PG_URL):
        return None
    return tuple(repr(application.config.get(name)) for name in _SEED_CONFIG)


def _is_empty(engine) -> bool:
    with engine.connect() as conn:
        return not _nonempty_tables(conn)


def seed_app(application):
    """`seed_demo()` on `application`, or a copy of its result on an empty database (see the
    module's docstring). For tests where the demo data is a precondition, not the subject."""
    from app.demo.seed import seed_demo

    engine = application.extensions["db_engine"]
    key = _seed_key(application)
    fresh = key is not None and _is_empty(engine)
    if fresh and key in _SEED_COPIES:
        _SEED_COPIES[key].restore(engine)
        return application
    with application.app_context():
        seed_demo()
    application.extensions["db_session"].remove()
    if fresh:
        _SEED_COPIES[key] = (_PostgresSeed if ON_POSTGRES else _SqliteSeed)(engine)
    return application


@pytest.fixture
def seeded(app):
    """The app with the demo data (`seed_app`)."""
    return seed_app(app)


def seed_catalogues_on(application):
    """The demo product's 商保目录 and 特药目录 (what `flask demo seed` imports last), for tests
    whose claims are matched line by line. Not in `seed_app`: the catalogue tests import their
    own versions of the same product year."""
    from app.demo.catalogues import seed_catalogues

    with application.app_context():
        seed_catalogues()
    application.extensions["db_session"].remove()
    return application


@pytest.fixture
def catalogued(seeded):
    """The seeded app with the demo catalogues in force for 2026 (`seed_catalogues_on`)."""
    return seed_catalogues_on(seeded)


def login(client, code: str = "member-a") -> dict:
    resp = client.post("/auth/wechat/login", json={"code": code})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# Consents to the personal-information and guardian texts in force (app/config.py).
CONSENT = {"accepted": True, "text_version": Config.PI_CONSENT_TEXT_VERSION}
GUARDIAN_CONSENT = {"accepted": True, "text_version": Config.GUARDIAN_CONSENT_TEXT_VERSION}


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
