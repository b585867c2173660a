"""Fixtures for the security harnesses."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.conftest import build_app, teardown_apps


def _use_cheap_password_hashing(patch: pytest.MonkeyPatch) -> None:
    import app.auth.services as auth_services

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    patch.setattr(auth_services, "_hasher", cheap)
    # Unknown usernames are verified against a dummy hash (equal timing); make it cheap too.
    patch.setattr(auth_services, "_DUMMY_HASH", cheap.hash("huimin-no-such-account"))


@pytest.fixture
def fast_password_hashing(monkeypatch):
    """Cheap Argon2 parameters for staff passwords hashed and verified during the test.

    These harnesses test access control, not password storage, and log staff in many times; at
    the production cost (64 MiB, 3 passes) each hash or login takes ~0.1 s. Request this fixture
    before `seeded`/`app` so demo staff are created with it too. The same Argon2 code path runs.
    """
    _use_cheap_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def module_app_factory(_pg_schema):
    """`app_factory` (tests/conftest.py) for apps shared by all tests of one module, with cheap
    password hashing for the module's duration.

    For schemathesis, whose one test item per operation would otherwise build and seed an app
    each. Same configuration and database handling as `app_factory`: tables created on the
    app's own in-memory SQLite, or, on PostgreSQL, truncated when the module is done.
    """
    made: list = []
    with pytest.MonkeyPatch.context() as patch:
        _use_cheap_password_hashing(patch)
        yield lambda **overrides: build_app(made, **overrides)
    teardown_apps(made)
