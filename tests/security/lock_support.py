"""Helpers for the sign-in lock tests: fail a staff sign-in, lock a username, read audit rows and
account ids, and an app with the demo staff and a lock after 3 failures."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.demo.seed import DEMO_STAFF_PASSWORD as RIGHT  # the demo staff's password
from tests.security.support import assert_problem

LIMIT = "3 per 15 minutes"
__all__ = ["LIMIT", "RIGHT", "account_ids", "attempt", "audit_rows", "lock", "lock_app"]


def attempt(client, username, password="wrong-password", address="10.9.0.1"):
    return client.post(
        "/auth/staff/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def lock(client, username: str, times: int = 3) -> None:
    for i in range(times):
        assert attempt(client, username, address=f"10.9.1.{i}").status_code == 401
    locked = attempt(client, username, RIGHT, "10.9.2.1")
    assert_problem(locked, 429, "staff_login_locked")


def audit_rows(app, action: str) -> list[tuple]:
    from app.audit.models import AuditEvent
    from app.database import get_session

    with app.app_context():
        rows = get_session().execute(
            select(
                AuditEvent.actor_type,
                AuditEvent.actor_id,
                AuditEvent.object_type,
                AuditEvent.object_id,
                AuditEvent.detail,
            )
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        out = [tuple(r) for r in rows]
        get_session().rollback()
    return out


@pytest.fixture
def lock_app(app_factory):
    from tests.conftest import seed_app

    return seed_app(app_factory(RATE_LIMIT_STAFF_LOGIN_FAILURES=LIMIT))


def account_ids(app, *usernames: str) -> list[int]:
    from app.auth.models import StaffAccount
    from app.database import get_session

    with app.app_context():
        rows = get_session().execute(
            select(StaffAccount.username, StaffAccount.id).where(
                StaffAccount.username.in_(usernames)
            )
        )
        found = {username: account_id for username, account_id in rows}
        get_session().rollback()
    return [found[u] for u in usernames]
