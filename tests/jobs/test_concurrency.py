"""Races on PostgreSQL (row locks and unique indexes do nothing on SQLite):

- overlapping rosters uploaded at the same moment list each person once;
- a batch job and the rostered people enrolling themselves at the same moment, on a budget that
  cannot cover everyone: the budget is never overspent and nobody is insured twice.
"""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from sqlalchemy import func, select

from app.database import get_session
from app.members.models import Person
from app.sponsors.roster_models import RosterEntry
from tests.conftest import login, verify
from tests.enrollment.conftest import key, order_body
from tests.jobs.support import (
    PREMIUM_FEN,
    counts,
    eligible,
    employer_programme,
    ledgers_consistent,
    roster_csv,
    start_job,
    upload,
)

pytestmark = pytest.mark.postgres


def run_together(*calls):
    """Start every call at the same moment (a barrier), each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(n, call):
        try:
            barrier.wait(timeout=30)
            results[n] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def test_overlapping_uploads_at_once_list_each_person_once(sponsors, client):
    app = sponsors.app
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN)
    people = eligible(20)
    files = [roster_csv(people[start : start + 12]) for start in (0, 4, 8, 0)]  # overlapping
    persons_before = _count(app, Person)

    def uploader(data):
        return lambda: upload(app.test_client(), admin, programme["id"], data)

    responses = run_together(*[uploader(data) for data in files])
    assert [r.status_code for r in responses] == [201] * 4
    bodies = [r.get_json() for r in responses]
    assert sum(b["added"] for b in bodies) == 20
    assert all(b["added"] + b["already_listed"] == 12 for b in bodies)
    assert _count(app, RosterEntry) == 20
    assert _count(app, Person) == persons_before + 20


def test_job_and_members_enrolling_themselves_at_once_never_overspend(sponsors, client):
    """Budget for 9 premiums; 12 people on the roster, 4 of whom enroll themselves through the
    member flow (the roster makes the employer pay there too) while the job runs."""
    from app.jobs import services as job_services

    app = sponsors.app
    app.config["JOB_BATCH_SIZE"] = 3
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 9)
    people = eligible(12)
    upload(client, admin, programme["id"], roster_csv(people))
    members = []
    adults = [person for person in people if person.brdy.year < 2000][:4]  # may log in alone
    for n, person in enumerate(adults):
        token = login(client, f"race-{n}")["access_token"]
        assert verify(client, token, person).status_code == 200
        members.append(token)
    with mock.patch("app.jobs.celery_app.enqueue"):
        job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["total"]) == ("queued", 12)

    def run_job():
        with app.app_context():
            return job_services.run_job(job["id"])

    def enroll(token):
        def call():
            own = app.test_client()
            return own.post(
                "/orders",
                headers={"Authorization": f"Bearer {token}", **key()},
                json=order_body(own, [], include_self=True, method=None),
            )

        return call

    results = run_together(run_job, *[enroll(token) for token in members])
    # 12 people on the roster, budget for 9: the job cannot enroll them all (3 or more of its
    # rows fail, for the budget or because the member enrolled first), and says so.
    assert results[0] == "completed_with_errors"
    orders = results[1:]
    assert all(r.status_code in (201, 409) for r in orders), [r.get_json() for r in orders]

    total, reserved, people_funded = sponsors.figures(programme["id"])
    assert reserved <= total == PREMIUM_FEN * 9
    found = counts(app)
    # Nobody twice; everyone insured was paid for by the programme, within its budget.
    assert found["policies"] == found["people_insured"] == people_funded == reserved // PREMIUM_FEN
    assert people_funded == 9  # the budget is used up exactly: 12 people wanted it
    ledgers_consistent(app, programme["id"])


def _count(app, model) -> int:
    with app.app_context():
        value = get_session().scalar(select(func.count()).select_from(model))
        get_session().rollback()
        return value
