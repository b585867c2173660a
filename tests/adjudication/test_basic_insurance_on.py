"""The engine's BasicInsurance from a person's insurance history (app.adjudication.model
basic_insurance_on over app/identity/periods.py): moved here from tests/identity with the
conversion, which identity no longer knows about."""

from __future__ import annotations

from datetime import date

import pytest

from app.adjudication import BasicInsurance
from app.adjudication.model import basic_insurance_on
from app.identity.periods import InsuranceObservation, build_history

RES = "390"
ACTIVE, SUSPENDED = "1", "2"


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


# Suspended since 3-01 (answer of 3-05), active again from 5-20 (answer of 6-10).
REINSTATED = [
    InsuranceObservation(RES, SUSPENDED, d(3, 5), d(3, 1), None),
    InsuranceObservation(RES, ACTIVE, d(6, 10), None, d(5, 20)),
]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # the whole run of suspended days is the interval: 3-01 (stated) .. 5-19 (inferred)
        (d(4, 1), BasicInsurance("suspended", d(3, 1), d(5, 19))),
        (d(5, 25), BasicInsurance("active")),
        (d(2, 1), None),  # unknown: the caller holds the claim or asks again
    ],
)
def test_basic_insurance_for_the_engine(day, expected):
    got = basic_insurance_on(build_history(REINSTATED), day)
    assert got == expected
    if got is not None:
        assert got.suspended_on(day) is (expected.status == "suspended")
