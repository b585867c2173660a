"""The database work of POST /me/identity, counted per request with SQLAlchemy events (as
tests/enrollment/test_statement_budget.py counts the enrollment): statements, commits, rollbacks
and pool checkouts. Counts, not time: the same on every machine.

A first verification is one read of the bureau's resident (the sandbox bureau's own connection,
in autocommit mode on PostgreSQL), then one unit of work: one read (the member, the person with
this ID number and the account it is bound to), the person, its insurance answer, the audit
row, the consent and the member's link: 7 statements, 1 commit, 2 checkouts; and before them the
member session's check (one read by primary key, app/auth/principal.py): 8. Before issue 13's
change it was 10 statements (a read each for the member, the person, the person's earlier
answers and its owner) and, on PostgreSQL, 16 round trips instead of 10 (11 with the check)."""

from __future__ import annotations

import pytest

from app.database import get_engine
from tests.conftest import login, verify
from tests.enrollment.test_statement_budget import Tally

FIRST_VERIFICATION = {"statements": 8, "commits": 1, "checkouts": 2}
# Verifying the same identity again: the bureau, the read, the person's answers of the day, the
# person's new snapshot (an UPDATE), the audit row and the consent; the answer and the link are
# unchanged, so not written: 6, and the session's check: 7.
AGAIN = {"statements": 7, "commits": 1, "checkouts": 2}


@pytest.fixture
def token(client, seeded):
    return login(client, "member-budget")["access_token"]


def test_a_first_verification_stays_within_its_budget(client, seeded, residents, token):
    with seeded.app_context():
        engine = get_engine()
    with Tally(engine) as tally:
        first = tally.request("first", lambda: verify(client, token, residents["张伟"]))
        assert first.status_code == 200, first.get_json()
        again = tally.request("again", lambda: verify(client, token, residents["张伟"]))
        assert again.status_code == 200, again.get_json()
    for (name, counts), budget in zip(tally.per_request, (FIRST_VERIFICATION, AGAIN), strict=True):
        assert counts["statements"] > 0, name  # the events were heard
        for what, ceiling in budget.items():
            assert counts[what] <= ceiling, (name, what, dict(counts))


def test_a_refused_verification_writes_nothing_and_reads_once(client, seeded, residents, token):
    """An identity already bound to another account: the one read decides, nothing is written
    (the other statement is the member session's check)."""
    other = login(client, "member-budget-other")["access_token"]
    assert verify(client, other, residents["张伟"]).status_code == 200
    with seeded.app_context():
        engine = get_engine()
    with Tally(engine) as tally:
        refused = tally.request("refused", lambda: verify(client, token, residents["张伟"]))
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "identity_already_bound"
    counts = tally.per_request[0][1]
    assert counts["statements"] == 3 and counts["commits"] == 0, dict(counts)
