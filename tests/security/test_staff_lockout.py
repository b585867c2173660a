"""Failed staff sign-ins are limited per account (the username), not only per address: after
RATE_LIMIT_STAFF_LOGIN_FAILURES failures the account refuses every sign-in, from any address and
on either door (API and console), with 429 staff_login_locked and Retry-After, until the window
ends; the lock is audited once per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from tests import factories
from tests.factories import STAFF_PASSWORD
from tests.web.support import sign_in

LIMIT = "3 per 15 minutes"


def _login(client, username, password, address):
    return client.post(
        "/auth/staff/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _audit(app, action):
    from app.audit.models import AuditEvent
    from app.database import get_session

    with app.app_context():
        rows = get_session().execute(
            select(AuditEvent.object_type, AuditEvent.object_id, AuditEvent.detail).where(
                AuditEvent.action == action
            )
        )
        out = [tuple(r) for r in rows]
        get_session().rollback()
    return out


def test_failures_lock_the_account_from_every_address_until_the_window_ends(app_factory):
    app = app_factory(RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT)
    account_id = factories.staff_account(app, "lock-reviewer", "reviewer")
    factories.staff_account(app, "lock-other", "reviewer")
    client = app.test_client()
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True):
        # three wrong passwords, each from another address (the per-address limit never trips)
        for i in range(3):
            assert (
                _login(client, "lock-reviewer", "wrong-password", f"10.0.0.{i}").status_code == 401
            )
        # now even the right password is refused, from a fourth address
        locked = _login(client, "lock-reviewer", STAFF_PASSWORD, "10.0.0.9")
        assert locked.status_code == 429
        body = locked.get_json()
        assert body["code"] == "staff_login_locked"
        assert "登录失败次数过多" in body["detail"] and "分钟后再试" in body["detail"]
        assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
        # the console's sign-in is the same account: locked too
        page = sign_in(client, "lock-reviewer", STAFF_PASSWORD)
        assert page.status_code == 429
        assert "登录失败次数过多" in page.get_data(as_text=True)
        # another account is not affected
        assert _login(client, "lock-other", STAFF_PASSWORD, "10.0.0.9").status_code == 200
    # audited once for the window (not per refusal), naming the account, not the password
    assert _audit(app, "staff.login_locked") == [("staff_account", account_id, {"channel": "api"})]
    # after the window the right password works
    with time_machine.travel(start + timedelta(minutes=15, seconds=5), tick=True):
        ok = _login(client, "lock-reviewer", STAFF_PASSWORD, "10.0.0.9")
        assert ok.status_code == 200, ok.get_json()


def test_successful_sign_ins_are_not_counted(app_factory):
    app = app_factory(RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT)
    factories.staff_account(app, "lock-busy", "reviewer")
    client = app.test_client()
    for i in range(5):
        assert _login(client, "lock-busy", STAFF_PASSWORD, f"10.0.1.{i}").status_code == 200
    assert _login(client, "lock-busy", "wrong-password", "10.0.1.9").status_code == 401


def test_an_unknown_username_locks_the_same_way(app_factory):
    """Whether an account exists is not told by the lock: an unknown name is locked alike."""
    app = app_factory(RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT)
    client = app.test_client()
    answers = [_login(client, "nobody-here", "wrong-password", f"10.0.2.{i}") for i in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert answers[-1].get_json()["code"] == "staff_login_locked"
    assert _audit(app, "staff.login_locked") == [("staff_account", None, {"channel": "api"})]
