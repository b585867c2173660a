"""Unlocking a staff sign-in lock wherever the lock is counted (docs/ratelimits.md): in Redis,
shared by every worker, from another process with `flask staff unlock`; with Redis down, in the
worker's in-process fallback (the API and the console say only this worker was unlocked); and
the command refuses where it cannot reach the service's counts (no Redis, or Redis down)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import ON_POSTGRES, bearer, seed_app
from tests.factories import STAFF_PASSWORD
from tests.security.support import assert_problem
from tests.test_ratelimit_outage import dead_redis
from tests.web.support import signed_in

REDIS_URL = os.environ.get("REDIS_URL", "")
LIMIT = "3 per 15 minutes"
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")


def _login(client, username, password="wrong-password", address="10.8.0.1"):
    return client.post(
        "/auth/staff/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _lock(client, username: str) -> None:
    for i in range(3):
        assert _login(client, username, address=f"10.8.1.{i}").status_code == 401
    assert_problem(_login(client, username, STAFF_PASSWORD), 429, "staff_login_locked")


def _unlock_rows(app) -> list[tuple]:
    from app.audit.models import AuditEvent
    from app.database import get_session

    with app.app_context():
        rows = get_session().execute(
            select(AuditEvent.actor_type, AuditEvent.object_id, AuditEvent.detail)
            .where(AuditEvent.action == "staff.login_unlocked")
            .order_by(AuditEvent.id)
        )
        out = [tuple(r) for r in rows]
        get_session().rollback()
    return out


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["staff", "unlock", *args])


def test_the_command_refuses_without_a_shared_storage(app_factory):
    """memory:// (no REDIS_URL) lives in the service's process: a command cannot reach it."""
    app = app_factory(RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT)
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    factories.staff_account(app, "cli-mem", "reviewer")
    client = app.test_client()
    _lock(client, "cli-mem")
    result = _cli(app, "cli-mem")
    assert result.exit_code == 1
    assert "no REDIS_URL" in result.output and "/login-lock/release" in result.output
    assert_problem(_login(client, "cli-mem", STAFF_PASSWORD), 429, "staff_login_locked")
    assert _unlock_rows(app) == []


# --- Redis down: the worker's in-process fallback ------------------------------------------


@pytest.fixture
def outage_app(app_factory):
    return seed_app(app_factory(REDIS_URL=dead_redis(), RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT))


def test_with_redis_down_the_api_unlocks_this_workers_fallback(outage_app):
    app = outage_app
    account_id = factories.staff_account(app, "outage-reviewer", "reviewer")
    client = app.test_client()
    _lock(client, "outage-reviewer")  # counted in this process: Redis is down
    operator = bearer(factories.staff_token(app, "demo-operator"))
    path = f"/staff/accounts/{account_id}/login-lock"
    seen = client.get(path, headers=operator).get_json()
    assert (seen["locked"], seen["failures"], seen["storage"]) == (True, 3, "fallback")

    released = client.post(f"{path}/release", headers=operator)
    assert released.status_code == 200
    body = released.get_json()
    assert (body["locked"], body["failures"], body["storage"]) == (False, 0, "fallback")
    assert _login(client, "outage-reviewer", STAFF_PASSWORD).status_code == 200
    [(actor_type, object_id, detail)] = _unlock_rows(app)
    assert (actor_type, object_id) == ("staff", account_id)
    assert detail == {"channel": "api", "was_locked": True, "failures": 3, "storage": "fallback"}


def test_with_redis_down_the_console_says_only_this_worker_was_unlocked(outage_app):
    app = outage_app
    account_id = factories.staff_account(app, "outage-web", "reviewer")
    _lock(app.test_client(), "outage-web")
    client = app.test_client()
    token = signed_in(client, "demo-operator")
    page = client.get(f"/console/accounts/{account_id}").get_data(as_text=True)
    assert "已锁定" in page and "本服务进程内的计数" in page
    done = client.post(
        f"/console/accounts/{account_id}/login-lock/release", data={"csrf_token": token}
    )
    assert done.headers["Location"].endswith("?done=unlocked_fallback")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "只解除了本服务进程内的锁定" in page and "未锁定" in page


def test_with_redis_down_the_command_unlocks_nothing_and_says_so(outage_app):
    app = outage_app
    factories.staff_account(app, "outage-cli", "reviewer")
    client = app.test_client()
    _lock(client, "outage-cli")
    result = _cli(app, "outage-cli")
    assert result.exit_code == 1 and "rate_limit_unavailable" in result.output
    # its process's fallback is not the service's: the lock (here, in the same process) stays
    assert_problem(_login(client, "outage-cli", STAFF_PASSWORD), 429, "staff_login_locked")
    assert _unlock_rows(app) == []
    unknown = _cli(app, "no-such-staff")
    assert unknown.exit_code == 1 and "staff_account_not_found: 员工账号不存在" in unknown.output


# --- Redis up: shared by every worker and the command ------------------------------------


@pytest.fixture
def redis_apps(app_factory, tmp_path):
    """Two apps on one database and one Redis, as a worker and another process are: each with
    its own limiter set-up, so the second's in-process memory holds nothing the first counted."""
    settings = dict(REDIS_URL=REDIS_URL, RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT)
    if not ON_POSTGRES:  # each in-memory SQLite app would have its own database
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'shared.db'}"
    worker = app_factory(**settings)
    assert worker.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    suffix = uuid.uuid4().hex[:8]  # Redis outlives the test: names no other run uses
    ids = {
        "reviewer": factories.staff_account(worker, f"redis-reviewer-{suffix}", "reviewer"),
        "operator": factories.staff_account(worker, f"redis-operator-{suffix}", "operator"),
    }
    return worker, lambda: app_factory(**settings), suffix, ids


@needs_redis
def test_the_command_unlocks_in_redis_for_every_worker(redis_apps):
    worker, another, suffix, ids = redis_apps
    username = f"redis-reviewer-{suffix}"
    client = worker.test_client()
    _lock(client, username)

    # Another process sees the lock, so it is in Redis under the key the sign-in counted.
    command = another()
    operator = bearer(factories.staff_token(command, f"redis-operator-{suffix}"))
    path = f"/staff/accounts/{ids['reviewer']}/login-lock"
    seen = command.test_client().get(path, headers=operator).get_json()
    assert (seen["locked"], seen["failures"], seen["storage"]) == (True, 3, "shared")

    result = _cli(command, username)
    assert result.exit_code == 0, result.output
    assert f"{username}: unlocked (was locked until " in result.output
    assert "3 failed sign-ins" in result.output
    assert _login(client, username, STAFF_PASSWORD).status_code == 200
    assert _unlock_rows(worker) == [
        (
            "system",
            ids["reviewer"],
            {"channel": "cli", "was_locked": True, "failures": 3, "storage": "shared"},
        )
    ]
    again = _cli(command, username)
    assert again.exit_code == 0 and f"{username}: not locked; nothing to clear" in again.output
    assert len(_unlock_rows(worker)) == 1


@needs_redis
def test_the_api_unlock_reaches_redis(redis_apps):
    worker, another, suffix, ids = redis_apps
    username = f"redis-reviewer-{suffix}"
    client = worker.test_client()
    _lock(client, username)
    operator = bearer(factories.staff_token(worker, f"redis-operator-{suffix}"))
    path = f"/staff/accounts/{ids['reviewer']}/login-lock"
    assert client.post(f"{path}/release", headers=operator).get_json()["storage"] == "shared"
    # another process reads Redis alone: nothing is counted there any more
    seen = another().test_client().get(path, headers=operator).get_json()
    assert (seen["locked"], seen["failures"], seen["storage"]) == (False, 0, "shared")
    assert _login(client, username, STAFF_PASSWORD).status_code == 200


def test_when_the_lock_cannot_be_read_the_account_page_still_serves(app_factory, monkeypatch):
    """Redis down and no in-process fallback: reading the lock answers rate_limit_unavailable
    (accounts.login_lock); the account page (disable, roles, password reset) is still there,
    saying the lock state cannot be read now, instead of the whole page being a 503."""
    from app.auth import accounts
    from app.error_catalogue import E

    def unavailable(actor, account_id):
        raise E.rate_limit_unavailable()

    app = seed_app(app_factory())
    account_id = factories.staff_account(app, "outage-none", "reviewer")
    client = app.test_client()
    signed_in(client, "demo-operator")
    monkeypatch.setattr(accounts, "login_lock", unavailable)
    page = client.get(f"/console/accounts/{account_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "登录锁定状态暂时无法查询" in text and "停用账号" in text
    assert "本服务进程内的计数" not in text
