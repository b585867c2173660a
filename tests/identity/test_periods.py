"""Basic-insurance periods from bureau answers (app/identity/periods.py), table-driven.

Each case lists the 1101 answers seen (status, seen on, pause date, begin date) and the status
on a date of care with how it was arrived at; the comment says why, by hand. 2026 unless said."""

from __future__ import annotations

from datetime import date

import pytest

from app.identity.periods import (
    InsuranceObservation,
    InsurancePeriod,
    build_history,
    from_insuinfo,
)

RES, EMP = "390", "310"


def d(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


def seen(stas, on, *, paused=None, begin=None, insutype=RES) -> InsuranceObservation:
    return InsuranceObservation(insutype, stas, on, paused, begin)


ACTIVE, SUSPENDED, ENDED = "1", "2", "4"

# The brief's case: suspended since 3-01 (answer of 3-05), active again from 5-20 (answer of 6-10).
REINSTATED = [
    seen(SUSPENDED, d(3, 5), paused=d(3, 1)),
    seen(ACTIVE, d(6, 10), begin=d(5, 20)),
]

CASES = [
    # -- the brief's case --
    (REINSTATED, d(2, 1), "unknown", "no_answer"),  # before any answer reaches
    (REINSTATED, d(3, 1), "suspended", "stated"),  # the pause date itself
    (REINSTATED, d(4, 1), "suspended", "inferred"),  # suspended until the new begin date 5-20
    (REINSTATED, d(5, 19), "suspended", "inferred"),  # the day before the new begin
    (REINSTATED, d(5, 20), "active", "stated"),  # the new period's first day
    (REINSTATED, d(7, 1), "active", "carried_forward"),  # after the last answer
    # the new begin date is the answer's own day
    (
        [seen(SUSPENDED, d(3, 5), paused=d(3, 1)), seen(ACTIVE, d(6, 10), begin=d(6, 10))],
        d(4, 1),
        "suspended",
        "inferred",
    ),
    # reinstated, but the answer has no begin date: the day it ended is not known
    (
        [seen(SUSPENDED, d(3, 5), paused=d(3, 1)), seen(ACTIVE, d(6, 10))],
        d(4, 1),
        "unknown",
        "changed_in_between",
    ),
    # a begin date of 2020 after a suspension seen on 3-05 is the first-ever insured date, not
    # the reinstatement: not believed; 4-01 is unknown, 3-03 still suspended
    (
        [seen(SUSPENDED, d(3, 5), paused=d(3, 1)), seen(ACTIVE, d(6, 10), begin=d(1, 1, 2020))],
        d(4, 1),
        "unknown",
        "changed_in_between",
    ),
    (
        [seen(SUSPENDED, d(3, 5), paused=d(3, 1)), seen(ACTIVE, d(6, 10), begin=d(1, 1, 2020))],
        d(3, 3),
        "suspended",
        "stated",
    ),
    # active on 1-05 and 6-10, no begin dates: nothing says it changed
    ([seen(ACTIVE, d(1, 5)), seen(ACTIVE, d(6, 10))], d(3, 1), "active", "presumed"),
    # active since 2020 (seen 1-05), then a new period from 5-20 (seen 6-10): a break happened
    # somewhere between 1-06 and 5-19
    (
        [seen(ACTIVE, d(1, 5), begin=d(1, 1, 2020)), seen(ACTIVE, d(6, 10), begin=d(5, 20))],
        d(3, 1),
        "unknown",
        "changed_in_between",
    ),
    (
        [seen(ACTIVE, d(1, 5), begin=d(1, 1, 2020)), seen(ACTIVE, d(6, 10), begin=d(5, 20))],
        d(1, 1, 2025),
        "active",
        "stated",
    ),
    # one active answer carrying the past pause date: suspended 3-01 .. 5-19
    ([seen(ACTIVE, d(6, 10), paused=d(3, 1), begin=d(5, 20))], d(4, 1), "suspended", "stated"),
    ([seen(ACTIVE, d(6, 10), paused=d(3, 1), begin=d(5, 20))], d(2, 1), "unknown", "no_answer"),
    # active (seen 1-05), then suspended from 3-01 (seen 3-05): active until 2-28
    (
        [seen(ACTIVE, d(1, 5), begin=d(1, 1, 2020)), seen(SUSPENDED, d(3, 5), paused=d(3, 1))],
        d(2, 15),
        "active",
        "inferred",
    ),
    (
        [seen(ACTIVE, d(1, 5), begin=d(1, 1, 2020)), seen(SUSPENDED, d(3, 5), paused=d(3, 1))],
        d(12, 1),
        "suspended",
        "carried_forward",
    ),
    # a pause date (1-15) reaching back over a day seen active (2-01) is not believed: 1-20 stays
    # active as seen; 2-15 lies between an active and a suspended answer with no dated change
    (
        [seen(ACTIVE, d(2, 1), begin=d(1, 1, 2020)), seen(SUSPENDED, d(3, 5), paused=d(1, 15))],
        d(1, 20),
        "active",
        "stated",
    ),
    (
        [seen(ACTIVE, d(2, 1), begin=d(1, 1, 2020)), seen(SUSPENDED, d(3, 5), paused=d(1, 15))],
        d(2, 15),
        "unknown",
        "changed_in_between",
    ),
    # 终止参保 (4) counts as suspended: no benefit
    (
        [seen(ACTIVE, d(1, 5), begin=d(1, 1, 2020)), seen(ENDED, d(4, 10), paused=d(4, 1))],
        d(4, 5),
        "suspended",
        "stated",
    ),
    # two answers on one day that disagree: the later one given wins
    ([seen(ACTIVE, d(3, 5)), seen(SUSPENDED, d(3, 5))], d(3, 5), "suspended", "stated"),
    # answers in any order: sorted by the day seen
    (list(reversed(REINSTATED)), d(4, 1), "suspended", "inferred"),
    # no answers at all
    ([], d(4, 1), "unknown", "no_answer"),
]


@pytest.mark.parametrize(("observations", "day", "status", "basis"), CASES)
def test_status_on(observations, day, status, basis):
    answer = build_history(observations).status_on(day)
    assert (answer.status, answer.basis) == (status, basis)


def test_periods_of_the_brief_case():
    periods = build_history(REINSTATED).periods[RES]
    assert periods == (
        InsurancePeriod(RES, "unknown", None, d(2, 28), "no_answer"),
        InsurancePeriod(RES, "suspended", d(3, 1), d(3, 5), "stated"),
        InsurancePeriod(RES, "suspended", d(3, 6), d(5, 19), "inferred"),
        InsurancePeriod(RES, "active", d(5, 20), d(6, 10), "stated"),
        InsurancePeriod(RES, "active", d(6, 11), None, "carried_forward"),
    )


# Left the job: employee insurance suspended from 3-01 (seen 3-05); resident insurance from 3-10
# (seen 3-20).
TWO_TYPES = [
    seen(SUSPENDED, d(3, 5), paused=d(3, 1), insutype=EMP),
    seen(ACTIVE, d(3, 20), begin=d(3, 10), insutype=RES),
]


@pytest.mark.parametrize(
    ("day", "insutype", "status", "basis", "decided_by"),
    [
        (d(3, 12), None, "active", "stated", RES),  # either type active is enough
        (d(3, 12), EMP, "suspended", "carried_forward", EMP),  # asked for one type only
        (d(3, 7), None, "suspended", "carried_forward", EMP),  # resident not yet begun (unknown)
        (d(2, 1), None, "unknown", "no_answer", EMP),  # nothing reaches back that far
    ],
)
def test_status_on_over_types(day, insutype, status, basis, decided_by):
    answer = build_history(TWO_TYPES).status_on(day, insutype)
    assert (answer.status, answer.basis, answer.insutype) == (status, basis, decided_by)


@pytest.mark.parametrize(
    ("day", "status", "run"),
    [
        # the whole run of suspended days: 3-01 (stated) .. 5-19 (inferred)
        (d(3, 3), "suspended", (d(3, 1), d(5, 19))),
        (d(4, 1), "suspended", (d(3, 1), d(5, 19))),
        (d(5, 19), "suspended", (d(3, 1), d(5, 19))),
    ],
)
def test_suspended_run_spans_every_suspended_period(day, status, run):
    history = build_history(REINSTATED)
    answer = history.status_on(day)
    assert answer.status == status
    assert history.suspended_run(answer.period) == run


def test_from_insuinfo_row():
    row = {
        "insutype": "390",
        "psn_insu_stas": "1",
        "paus_insu_date": "2026-03-01 00:00:00",
        "psn_insu_date": "2026-05-20",
    }
    assert from_insuinfo(row, d(6, 10)) == seen(ACTIVE, d(6, 10), paused=d(3, 1), begin=d(5, 20))
    assert from_insuinfo(
        {"insutype": "310", "psn_insu_stas": "2", "paus_insu_date": ""}, d(3, 5)
    ) == (seen(SUSPENDED, d(3, 5), insutype=EMP))


@pytest.mark.parametrize(
    "kwargs",
    [{"psn_insu_stas": "3"}, {"insutype": ""}, {"observed_on": "2026-03-01"}],
)
def test_observation_refuses(kwargs):
    base = {"insutype": RES, "psn_insu_stas": "1", "observed_on": d(3, 1)}
    with pytest.raises(ValueError):
        InsuranceObservation(**{**base, **kwargs})
