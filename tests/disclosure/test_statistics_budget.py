"""The database work of GET /public/statistics, counted per request with SQLAlchemy events (as
tests/enrollment/test_statement_budget.py counts the enrollment): one statement for the
products and all their counter cells, no commit, one pool checkout, and on PostgreSQL no
pre-ping (database.autocommit_read). Counts, not time: the same on every machine."""

from __future__ import annotations

import pytest

from app.database import get_engine
from tests.conftest import ON_POSTGRES
from tests.disclosure.test_statistics_http import unsuppressed  # noqa: F401  (fixture)
from tests.enrollment.test_statement_budget import Tally
from tests.test_autocommit_read import Pings

# Measured on this code: 1 statement, 0 commits, 1 checkout per request, 200 or 304 (before
# issue 13's change: 2 statements, then a third for ?product=, and on PostgreSQL 5 round trips).
BUDGET = {"statements": 1, "commits": 0, "checkouts": 1}


@pytest.mark.parametrize("query", ["", "?product=ganzhou-demo-2026", "?plan_year=2026"])
def test_a_statistics_request_is_one_statement(unsuppressed, monkeypatch, query):
    client = unsuppressed.test_client()
    url = f"/public/statistics{query}"
    first = client.get(url)  # the body of this version is built (and kept) here
    assert first.status_code == 200
    with unsuppressed.app_context():
        engine = get_engine()
    pings = Pings(engine, monkeypatch)
    with Tally(engine) as tally:
        again = tally.request("200", lambda: client.get(url))
        cached = tally.request(
            "304", lambda: client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        )
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert cached.status_code == 304
    for name, counts in tally.per_request:
        for what, ceiling in BUDGET.items():
            assert counts[what] <= ceiling, (name, what, dict(counts))
        assert counts["statements"] == 1, (name, dict(counts))
    if ON_POSTGRES:
        assert pings.count == 0


def test_an_unknown_product_costs_a_second_statement_and_is_404(unsuppressed):
    with unsuppressed.app_context():
        engine = get_engine()
    with Tally(engine) as tally:
        missing = tally.request(
            "404", lambda: unsuppressed.test_client().get("/public/statistics?product=no-such")
        )
    assert missing.status_code == 404
    assert tally.per_request[0][1]["statements"] == 2
