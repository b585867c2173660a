"""The 1101 answers kept as history and what a claim reads from them: the basic insurance on the
date of care comes from the history, and from the person's snapshot where the history says
nothing for that day (before the first answer, after the latest) or there is no date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select

from app.claims.adjudication_run import insured_of
from app.database import transaction
from app.identity.models import InsuranceAnswer, Person
from tests import factories


def d(m: int, day: int) -> date:
    return date(2026, m, day)


# (psn_insu_stas, paus_insu_date, begin_date, observed_on)
SUSPENDED_THEN_BACK = [("2", d(3, 1), None, d(3, 5)), ("1", d(3, 1), d(5, 20), d(6, 10))]


@pytest.mark.parametrize(
    "answers, snapshot, care, expected",
    [
        (SUSPENDED_THEN_BACK, "active", d(4, 1), ("suspended", d(3, 1), d(5, 19))),
        (SUSPENDED_THEN_BACK, "active", d(5, 25), ("active", None, None)),
        # after the latest answer, and before the first: the snapshot decides
        (SUSPENDED_THEN_BACK, "suspended", d(7, 1), ("suspended", d(2, 1), None)),
        (SUSPENDED_THEN_BACK, "active", d(2, 1), ("active", None, None)),
        ([], "suspended", d(4, 1), ("suspended", d(2, 1), None)),
        (SUSPENDED_THEN_BACK, "active", None, ("active", None, None)),
        # suspended, the pause date reaching back: suspended from then on
        (
            [("1", None, None, d(1, 10)), ("2", d(2, 1), None, d(3, 1))],
            "active",
            d(2, 15),
            ("suspended", d(2, 1), None),
        ),
    ],
)
def test_basic_insurance_on_the_date_of_care(seeded, residents, answers, snapshot, care, expected):
    app = seeded
    person_id = factories.person(app, residents["李娜"])
    with app.app_context(), transaction() as s:
        s.execute(delete(InsuranceAnswer).where(InsuranceAnswer.person_id == person_id))
        for stas, paused, begun, seen in answers:
            s.add(
                InsuranceAnswer(
                    person_id=person_id,
                    insutype="390",
                    psn_insu_stas=stas,
                    paus_insu_date=paused,
                    begin_date=begun,
                    observed_on=seen,
                )
            )
        person = s.get(Person, person_id)
        person.insurance_status = snapshot
        person.suspended_since = d(2, 1) if snapshot == "suspended" else None
        s.flush()
        basic = insured_of(s, person, "healthy", 2026, care).basic_insurance
        assert (basic.status, basic.suspended_from, basic.suspended_until) == expected


def test_each_verification_keeps_the_answer_once_a_day(seeded, residents):
    app = seeded
    person_id = factories.person(app, residents["黄秀英"])
    factories.person(app, residents["黄秀英"])  # the same answer again the same day
    with app.app_context(), transaction() as s:
        rows = list(
            s.scalars(select(InsuranceAnswer).where(InsuranceAnswer.person_id == person_id))
        )
        assert [(r.insutype, r.psn_insu_stas, r.paus_insu_date, r.begin_date) for r in rows] == [
            ("310", "1", d(3, 1), d(5, 20))
        ]
