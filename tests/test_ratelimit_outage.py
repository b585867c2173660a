"""Rate-limit storage (Redis) down: each kind of limit answers as docs/ratelimits.md says, never a
500; the outage is logged once, not per request; /readyz says the process is degraded.

Login, refresh and staff login fail open onto an in-process copy of their limits (still enforced
per worker); identity verification refuses with 503 rate_limit_unavailable and Retry-After."""

from __future__ import annotations

import logging
import os

import pytest

from tests.conftest import CONSENT, bearer, seed_app
from tests.ops.conftest import closed_port

REDIS_URL = os.environ.get("REDIS_URL", "")


def dead_redis() -> str:
    return f"redis://127.0.0.1:{closed_port()}/13"


@pytest.fixture
def outage_app(app_factory):
    return seed_app(app_factory(REDIS_URL=dead_redis(), RATE_LIMIT_LOGIN="3 per minute"))


def _login(client, code: str, address: str = "127.0.0.1"):
    return client.post(
        "/auth/wechat/login", json={"code": code}, environ_base={"REMOTE_ADDR": address}
    )


def test_login_fails_open_onto_the_same_limit_in_process(outage_app, caplog):
    caplog.set_level(logging.INFO)
    client = outage_app.test_client()
    answers = [_login(client, f"outage-{i}").status_code for i in range(5)]
    assert answers == [200, 200, 200, 429, 429]  # the limit still holds, in this process
    assert _login(client, "outage-other", "198.51.100.7").status_code == 200  # per address
    tokens = _login(client, "outage-refresh", "198.51.100.8").get_json()
    refreshed = client.post(
        "/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        environ_base={"REMOTE_ADDR": "198.51.100.8"},
    )
    assert refreshed.status_code == 200, refreshed.get_json()
    staff = [
        client.post(
            "/auth/staff/login", json={"username": "nobody", "password": "wrong-password"}
        ).status_code
        for _ in range(4)
    ]
    assert staff == [401, 401, 401, 429]  # each route its own budget, still enforced

    outage_logs = [r for r in caplog.records if "storage unreachable" in r.getMessage()]
    assert len(outage_logs) == 1, [r.getMessage() for r in outage_logs]
    assert not [r for r in caplog.records if r.getMessage() == "unhandled error"]

    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"]["rate_limits"] == "degraded"


def test_identity_verification_refuses_with_503_and_retry_after(outage_app, residents, caplog):
    caplog.set_level(logging.INFO)
    client = outage_app.test_client()
    token = _login(client, "outage-verify").get_json()["access_token"]
    zhang = residents["张伟"]
    body = {"name": zhang.name, "id_number": zhang.certno, "consent": CONSENT}
    answers = [client.post("/me/identity", headers=bearer(token), json=body) for _ in range(4)]
    for resp in answers:
        assert resp.status_code == 503, resp.get_json()
        assert resp.get_json()["code"] == "rate_limit_unavailable"
        assert 1 <= int(resp.headers["Retry-After"]) <= 5
    # Nothing was verified, and the outage was logged once for four refusals.
    assert client.get("/me", headers=bearer(token)).get_json()["identity_verified"] is False
    outage_logs = [r for r in caplog.records if r.name == "app.ratelimit"]
    assert [r.levelno for r in outage_logs] == [logging.ERROR]
    assert client.get("/readyz").get_json()["checks"]["rate_limits"] == "degraded"


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a running Redis)")
def test_with_redis_up_nothing_is_degraded(app_factory, residents):
    import uuid

    application = seed_app(app_factory(REDIS_URL=REDIS_URL, RATE_LIMIT_LOGIN="3 per minute"))
    application.config["RATELIMIT_KEY_PREFIX"] = f"huimin-test-{uuid.uuid4().hex[:8]}"
    client = application.test_client()
    address = f"198.51.100.{uuid.uuid4().int % 200 + 1}"
    answers = [_login(client, f"up-{i}", address).status_code for i in range(4)]
    assert answers == [200, 200, 200, 429]
    token = _login(client, "up-verify", "203.0.113.9").get_json()["access_token"]
    zhang = residents["张伟"]
    resp = client.post(
        "/me/identity",
        headers=bearer(token),
        json={"name": zhang.name, "id_number": zhang.certno, "consent": CONSENT},
    )
    assert resp.status_code == 200, resp.get_json()
    ready = client.get("/readyz").get_json()
    assert ready == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "rate_limits": "ok"},
    }


def test_a_request_meeting_the_outage_after_another_is_answered_not_500(outage_app, caplog):
    """Two sign-ins meet the dead storage together. The first turns flask-limiter over to its
    in-process copy; the second's storage error arrives after that, when flask-limiter no longer
    falls back but raises, unless RATELIMIT_SWALLOW_ERRORS (the fault suite's one 500 per
    outage). The order is made certain: the second's call to Redis fails only once the first has
    switched over and been answered."""
    import threading
    import time
    from unittest import mock

    from app.ratelimit import limiter

    caplog.set_level(logging.INFO)
    storage = limiter.storage
    real_incr = storage.incr
    both_in = threading.Barrier(2, timeout=10)
    calls: list[int] = []
    order = threading.Lock()

    def incr(*args, **kwargs):
        with order:
            calls.append(len(calls))
            mine = calls[-1]
        both_in.wait()
        if mine == 1:
            # The second fails only once the first has switched to the fallback and has been
            # answered (one request at a time in the database: SQLite in tests).
            deadline = time.monotonic() + 20
            while not (limiter._storage_dead and answers) and time.monotonic() < deadline:
                time.sleep(0.01)
        return real_incr(*args, **kwargs)  # Redis is down: raises StorageError

    answers: list[int] = []

    def sign_in(n: int) -> None:
        answers.append(_login(outage_app.test_client(), f"outage-pair-{n}").status_code)

    with mock.patch.object(storage, "incr", incr):
        threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(calls) == 2 and limiter._storage_dead  # both asked Redis; the fallback is on
    assert answers == [200, 200]
    assert not [r for r in caplog.records if r.getMessage() == "unhandled error"]
