"""Two operators start a renewal run for the same product at the same moment (PostgreSQL: the
partial unique index uq_renewal_runs_one_active allows one queued or running run per product).

The overlap is made certain, not left to timing: the request that inserts its run first waits,
inside its open transaction, until PostgreSQL shows the other request's insert waiting on it
(pg_stat_activity, wait_event_type 'Lock'); then it goes on and commits. The other's insert then
fails on the index."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.database import get_session
from app.renewals import runs
from app.renewals.models import RenewalRun
from tests.jobs.test_concurrency import run_together
from tests.renewals.test_renewal import enrolled as enrolled
from tests.renewals.test_renewal import family as family
from tests.renewals.test_renewal import frozen as frozen
from tests.renewals.test_renewal import operator as operator
from tests.renewals.test_renewal import start

pytestmark = pytest.mark.postgres

WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def test_two_runs_started_at_once_start_one(app, client, enrolled, operator):
    engine = app.extensions["db_engine"]
    seen_waiting: list[bool] = []
    real_add_pending = runs._add_pending

    def add_pending_once_the_other_waits(session, run, target, source):
        deadline = time.monotonic() + 20
        waiting = 0
        with engine.connect() as watcher:
            while waiting == 0 and time.monotonic() < deadline:
                waiting = watcher.execute(WAITING_ON_A_LOCK).scalar_one()
                if waiting == 0:
                    time.sleep(0.02)
        seen_waiting.append(waiting > 0)
        return real_add_pending(session, run, target, source)

    with mock.patch.object(runs, "_add_pending", add_pending_once_the_other_waits):
        first, second = run_together(
            lambda: start(app.test_client(), operator), lambda: start(app.test_client(), operator)
        )
    # Only the request whose insert went through reached _add_pending, and it saw the other wait.
    assert seen_waiting == [True]
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409], (first.get_json(), second.get_json())
    started, refused = (first, second) if first.status_code == 201 else (second, first)
    assert refused.get_json()["code"] == "renewal_run_active"
    assert refused.get_json()["detail"] == "该产品已有正在进行的续保任务"
    assert started.get_json()["status"] == "completed" and started.get_json()["total"] == 3
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(RenewalRun)) == 1
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "renewal.run_started")
            )
            == 1
        )
