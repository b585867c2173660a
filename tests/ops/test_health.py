"""/healthz and /readyz: liveness never touches the database; readiness fails, as problem details
naming the dependency and nothing else, when the database is down or hangs, and answers
"degraded" (still 200) when only a configured Redis is."""

from __future__ import annotations

import os
import time

import pytest

from app import create_app
from tests.conftest import make_config
from tests.ops.conftest import closed_port

PROBLEM_JSON = "application/problem+json"
DB_PASSWORD = "db-pass-0f9e8d7c"
REDIS_PASSWORD = "redis-pass-6b5a4c3d"
REDIS_URL = os.environ.get("REDIS_URL", "")


def app_with(**overrides):
    """An app whose dependencies are wherever the test says (no schema needed: readiness only
    asks `SELECT 1`)."""
    application = create_app(make_config(**overrides))
    application.config["RAISE_UNEXPECTED"] = False
    return application


def pg_url(port: int) -> str:
    return f"postgresql+psycopg://huimin:{DB_PASSWORD}@127.0.0.1:{port}/huimin"


def assert_not_ready(resp, checks: dict[str, str], port: int) -> dict:
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM_JSON
    body = resp.get_json()
    assert body["code"] == "not_ready" and body["status"] == 503
    assert body["type"].endswith("/not_ready")
    assert body["checks"] == checks
    text = resp.get_data(as_text=True)
    for secret in (
        DB_PASSWORD,
        REDIS_PASSWORD,
        str(port),
        "127.0.0.1",
        "postgresql",
        "redis://",
        "Traceback",
        "Error",
    ):
        assert secret not in text, f"{secret!r} in the readiness answer: {text}"
    return body


def test_healthz_answers_without_touching_the_database():
    port = closed_port()
    application = app_with(DATABASE_URL=pg_url(port))
    resp = application.test_client().get("/healthz")

    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}
    # The pool never opened a connection: the database was not asked.
    assert application.extensions["db_engine"].pool.checkedin() == 0


def test_readyz_is_ready_with_the_test_database(app):
    resp = app.test_client().get("/readyz")

    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "not_configured", "rate_limits": "ok"},
    }


def test_readyz_fails_when_the_database_is_down():
    port = closed_port()
    resp = app_with(DATABASE_URL=pg_url(port)).test_client().get("/readyz")

    body = assert_not_ready(
        resp, {"database": "failed", "redis": "not_configured", "rate_limits": "ok"}, port
    )
    assert body["detail"] == "服务暂未就绪：数据库不可用"


def test_readyz_fails_fast_when_the_database_hangs(silent_port):
    application = app_with(DATABASE_URL=pg_url(silent_port), READINESS_TIMEOUT_SECONDS=0.5)
    started = time.monotonic()
    resp = application.test_client().get("/readyz")
    elapsed = time.monotonic() - started

    assert_not_ready(
        resp, {"database": "timeout", "redis": "not_configured", "rate_limits": "ok"}, silent_port
    )
    assert elapsed < 3, f"the probe waited {elapsed:.1f}s for a hung database"


def assert_degraded(resp, checks: dict[str, str], port: int) -> None:
    """Still ready (the database answers), but serving without Redis: said, and nothing more."""
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {"status": "degraded", "checks": checks}
    text = resp.get_data(as_text=True)
    for secret in (REDIS_PASSWORD, str(port), "127.0.0.1", "redis://", "Error"):
        assert secret not in text, f"{secret!r} in the readiness answer: {text}"


def test_readyz_is_degraded_not_failed_when_configured_redis_is_unreachable(app_factory):
    """Every route has a deliberate answer without Redis (docs/ratelimits.md), so the process
    stays in the load balancer and says it is degraded."""
    port = closed_port()
    application = app_factory(REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/13")
    resp = application.test_client().get("/readyz")

    assert_degraded(resp, {"database": "ok", "redis": "failed", "rate_limits": "ok"}, port)


def test_readyz_is_degraded_when_redis_hangs(app_factory, silent_port):
    application = app_factory(
        REDIS_URL=f"redis://127.0.0.1:{silent_port}/13", READINESS_TIMEOUT_SECONDS=0.5
    )
    resp = application.test_client().get("/readyz")

    assert_degraded(resp, {"database": "ok", "redis": "timeout", "rate_limits": "ok"}, silent_port)


def test_readyz_names_both_when_both_are_down():
    db_port, redis_port = closed_port(), closed_port()
    application = app_with(
        DATABASE_URL=pg_url(db_port), REDIS_URL=f"redis://127.0.0.1:{redis_port}/13"
    )
    resp = application.test_client().get("/readyz")

    body = assert_not_ready(
        resp, {"database": "failed", "redis": "failed", "rate_limits": "ok"}, db_port
    )
    assert body["detail"] == "服务暂未就绪：数据库、Redis不可用"


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a running Redis)")
def test_readyz_is_ready_with_a_running_redis(app_factory):
    resp = app_factory(REDIS_URL=REDIS_URL).test_client().get("/readyz")

    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["checks"] == {"database": "ok", "redis": "ok", "rate_limits": "ok"}


def test_readiness_recovers_when_the_database_comes_back(app):
    """Not ready while the engine points at a closed port; ready again once it is back (the probe
    keeps no state between calls)."""
    from app.database import make_engine

    good = app.extensions["db_engine"]
    client = app.test_client()
    try:
        app.extensions["db_engine"] = make_engine(pg_url(closed_port()))
        assert client.get("/readyz").status_code == 503
    finally:
        app.extensions["db_engine"].dispose()
        app.extensions["db_engine"] = good
    assert client.get("/readyz").status_code == 200


def test_probes_and_the_problem_are_in_the_spec(app):
    spec = app.extensions["huimin_api"].spec.to_dict()
    readyz = spec["paths"]["/readyz"]["get"]
    assert "security" not in readyz and "security" not in spec["paths"]["/healthz"]["get"]
    assert set(readyz["responses"]["503"]["content"]) == {PROBLEM_JSON}
    assert spec["paths"]["/metrics"]["get"]["security"] == [{"metricsAuth": []}]
