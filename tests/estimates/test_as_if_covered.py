"""The as-if-covered run (app/claims/as_if_covered.py) on 张伟's 2026 settlement records:
accumulators carried record by record, a reversed record left out, a later record of the same
care episode paying only the difference."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from datetime import date

import time_machine
from sqlalchemy import select

from app.adjudication.model import PolicyCover
from app.claims import as_if_covered
from app.database import get_session
from app.members.models import Member
from app.products.services import current_product
from tests import factories
from tests.enrollment.conftest import NOW

COVER = PolicyCover(date(2026, 1, 1), date(2026, 12, 31))


def run(app, person, fetched):
    """The as-if-covered run of `fetched` against the demo product on sale, for 2026."""
    product = current_product(date(2026, 11, 23))
    assert product is not None
    return as_if_covered.run_year(get_session(), person, product, COVER, fetched)


@contextmanager
def records_of(app, code, resident):
    """(person, their 2026 settlement records as fetched) for a member verified as `resident`
    under the login `code`; inside an app context, rolled back after."""
    from app.integrations.registry import bureau

    with time_machine.travel(NOW, tick=True):
        member_id = factories.verified_member(app, code, resident)["member_id"]
        with app.app_context():
            person = get_session().scalar(select(Member).where(Member.id == member_id)).person
            yield (
                person,
                as_if_covered.fetch(bureau(), person.psn_no, date(2026, 1, 1), date(2026, 11, 23)),
            )
            get_session().rollback()


def test_records_build_up_the_year_and_episodes_pay_once(catalogued, residents):
    app = catalogued
    with records_of(app, "as-if", residents["张伟"]) as (person, fetched):
        by_id = {f.record.setl_id: f for f in fetched}
        assert len(fetched) == 3 and sum(f.record.cancelled for f in fetched) == 1
        outcomes = run(app, person, fetched)
        assert [o.skipped is not None for o in outcomes] == [False, True, False]
        first, _, stroke = outcomes
        assert first.payable_fen == 0 and stroke.payable_fen > 0
        # alone, the stroke admission would meet the whole deductible itself: the February
        # stay had used part of it
        assert not first.result.deltas.is_empty
        alone = run(app, person, [by_id[stroke.record.setl_id]])
        assert alone[0].payable_fen < stroke.payable_fen
        with_first = run(app, person, [by_id[first.record.setl_id], by_id[stroke.record.setl_id]])
        assert [o.payable_fen for o in with_first] == [0, stroke.payable_fen]
        # the same admission settled again under another settlement id: only the difference
        kept = by_id[stroke.record.setl_id]
        again = replace(kept.record, setl_id="SBS99999999999999")  # sorts after it
        twice = run(app, person, [kept, as_if_covered.Fetched(again, kept.fee_lines)])
        assert twice[0].payable_fen > 0
        assert twice[1].payable_fen == 0
        assert twice[1].episode_lines[0]["code"] == "episode_supplement"
