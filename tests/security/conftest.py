"""Fixtures for the security harnesses."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, teardown_apps


@pytest.fixture
def fast_password_hashing():
    """Cheap Argon2 parameters for staff passwords hashed and verified during the test.

    The testing profile itself now sets them (PASSWORD_HASH_* in app/config.py testing_config),
    so every test gets them; the fixture stays so the modules that name it say why they log
    staff in freely. tests/security/test_password_cost.py checks production keeps the strong cost.
    """


@pytest.fixture(scope="module")
def module_app_factory(_pg_schema):
    """`app_factory` (tests/conftest.py) for apps shared by all tests of one module.

    For schemathesis, whose one test item per operation would otherwise build and seed an app
    each. Same configuration and database handling as `app_factory`: tables created on the
    app's own in-memory SQLite, or, on PostgreSQL, truncated when the module is done.
    """
    made: list = []
    yield lambda **overrides: build_app(made, **overrides)
    teardown_apps(made)
