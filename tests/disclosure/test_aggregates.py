"""Maintained aggregates (app/disclosure/aggregates.py): the atomic upserts on this database,
the funding-source rule, and the enrollment hooks' once-only and same-transaction behaviour."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

from app.database import get_session, transaction
from app.disclosure import aggregates as agg
from app.disclosure.models import DisclosureCounter, DisclosureEnrollment
from app.products.models import Product
from tests.conftest import ON_POSTGRES


def _product_id(app) -> int:
    from app.products.services import load_products

    with app.app_context():
        load_products()
        return get_session().scalar(select(Product.id).where(Product.code == "ganzhou-demo-2026"))


def _cells(app) -> dict:
    """Every cell's value: its slot rows added up (the largest, for a maximum), read straight
    from the table rather than through counters_for."""
    with app.app_context():
        rows = (
            get_session()
            .execute(
                select(
                    DisclosureCounter.month,
                    DisclosureCounter.metric,
                    DisclosureCounter.dimension,
                    DisclosureCounter.value,
                )
            )
            .all()
        )
        cells: dict = {}
        for m, metric, d, v in rows:
            if metric in agg.MAXIMUM_METRICS:
                cells[(m, metric, d)] = max(cells.get((m, metric, d), v), v)
            else:
                cells[(m, metric, d)] = cells.get((m, metric, d), 0) + v
        return cells


def test_bump_creates_adds_and_subtracts(app):
    pid = _product_id(app)
    with app.app_context():
        with transaction() as s:
            agg.bump(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 1, 5),
                metric=agg.ENROLLED_BY_INSURANCE_TYPE,
                dimension="employee",
            )
            agg.bump(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 1, 31),
                metric=agg.ENROLLED_BY_INSURANCE_TYPE,
                dimension="employee",
                amount=4,
            )
            agg.bump(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 2, 1),
                metric=agg.ENROLLED_BY_INSURANCE_TYPE,
                dimension="employee",
            )
        with transaction() as s:
            agg.bump(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 1, 9),
                metric=agg.ENROLLED_BY_INSURANCE_TYPE,
                dimension="employee",
                amount=-2,
            )
    assert _cells(app) == {
        ("2026-01", agg.ENROLLED_BY_INSURANCE_TYPE, "employee"): 3,  # 1+4-2
        ("2026-02", agg.ENROLLED_BY_INSURANCE_TYPE, "employee"): 1,
    }


def test_bump_max_keeps_the_largest(app):
    pid = _product_id(app)
    with app.app_context():
        with transaction() as s:
            for amount in (500, 9_000, 7_000):
                agg.bump_max(
                    s,
                    product_id=pid,
                    plan_year=2026,
                    on=date(2026, 3, 1),
                    metric=agg.LARGEST_CLAIM_PAID_FEN,
                    amount=amount,
                )
    assert _cells(app) == {("2026-03", agg.LARGEST_CLAIM_PAID_FEN, ""): 9_000}


def test_sums_and_maximums_are_not_mixed_up(app):
    pid = _product_id(app)
    with app.app_context():
        s = get_session()
        with pytest.raises(ValueError):
            agg.bump(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 3, 1),
                metric=agg.LARGEST_CLAIM_PAID_FEN,
                amount=1,
            )
        with pytest.raises(ValueError):
            agg.bump_max(
                s,
                product_id=pid,
                plan_year=2026,
                on=date(2026, 3, 1),
                metric=agg.CLAIMS_PAID_FEN,
                amount=1,
            )


def test_a_rolled_back_event_leaves_no_count(app):
    pid = _product_id(app)
    with app.app_context():
        with pytest.raises(RuntimeError):
            with transaction() as s:
                agg.record_claim_received(s, pid, 2026, date(2026, 3, 1))
                raise RuntimeError("the claim's own write failed")
    assert _cells(app) == {}


# (id, payer method, pay_fen, subsidies, contributions, main source)
FUNDING_CASES = [
    (
        "self-paid by account",
        "personal_account",
        8900,
        [],
        {"personal_account": 8900},
        "personal_account",
    ),
    ("self-paid by WeChat", "wechat", 8900, [], {"wechat": 8900}, "wechat"),
    # Relief fund pays it all: the order's method is "sponsor" and nothing is paid by the member.
    (
        "fully sponsored",
        "sponsor",
        0,
        [{"funder_kind": "relief_fund", "amount_fen": 8900}],
        {"relief_fund": 8900},
        "relief_fund",
    ),
    # Employer 33.33% = 2,966; the member 5,934 > 2,966: counted as personal_account.
    (
        "member pays most",
        "personal_account",
        5934,
        [{"funder_kind": "employer", "amount_fen": 2966}],
        {"personal_account": 5934, "employer": 2966},
        "personal_account",
    ),
    # Charity 6,000 > member 2,900: counted as charity.
    (
        "sponsor pays most",
        "wechat",
        2900,
        [{"funder_kind": "charity", "amount_fen": 6000}],
        {"wechat": 2900, "charity": 6000},
        "charity",
    ),
    # Two relief programmes 3,000 + 3,000 = 6,000 (one kind) > employer 2,900.
    (
        "same kind adds up",
        "sponsor",
        0,
        [
            {"funder_kind": "relief_fund", "amount_fen": 3000},
            {"funder_kind": "employer", "amount_fen": 2900},
            {"funder_kind": "relief_fund", "amount_fen": 3000},
        ],
        {"relief_fund": 6000, "employer": 2900},
        "relief_fund",
    ),
    # A tie 4,450 / 4,450: the member's own payment comes first in FUNDING_SOURCES.
    (
        "tie goes to the member",
        "wechat",
        4450,
        [{"funder_kind": "charity", "amount_fen": 4450}],
        {"wechat": 4450, "charity": 4450},
        "wechat",
    ),
    # A tie between sponsors: employer before charity (FUNDING_SOURCES order).
    (
        "tie between sponsors",
        "sponsor",
        0,
        [
            {"funder_kind": "charity", "amount_fen": 4450},
            {"funder_kind": "employer", "amount_fen": 4450},
        ],
        {"charity": 4450, "employer": 4450},
        "employer",
    ),
]


@pytest.mark.parametrize(
    "method, pay_fen, subsidies, contributions, main",
    [c[1:] for c in FUNDING_CASES],
    ids=[c[0] for c in FUNDING_CASES],
)
def test_funding_source(method, pay_fen, subsidies, contributions, main):
    assert agg.contributions_of(method, pay_fen, subsidies) == contributions
    assert agg.main_funding_source(contributions) == main


@pytest.mark.parametrize(
    "method, pay_fen, subsidies",
    [
        ("sponsor", 100, []),  # a paid share needs a method
        ("wechat", 0, [{"funder_kind": "government", "amount_fen": 1}]),  # unknown funder kind
        ("wechat", 0, []),  # nobody paid
    ],
)
def test_funding_source_refuses_what_cannot_be(method, pay_fen, subsidies):
    with pytest.raises(ValueError):
        agg.main_funding_source(agg.contributions_of(method, pay_fen, subsidies))


def test_bulk_enrollment_counts_each_policy_once(scenario):
    """A sponsor's roster job issues many policies at once and calls record_enrollments once
    per batch: three relief-fund policies (two residents, one with no verified type) and one
    with a 50/50 split (tie: the member's WeChat share wins) make one upsert per cell."""
    scenario.run()  # for real policies to point at (the facts table keys on policy ids)
    app = scenario.app
    before = _cells(app)
    with app.app_context():
        from app.policies.models import Policy

        with transaction() as s:  # as if these four had come from a roster job instead
            policy_ids = list(s.scalars(select(Policy.id).order_by(Policy.id)))[:4]
            pid = s.scalar(select(Product.id).where(Product.code == "ganzhou-demo-2026"))
            s.execute(
                DisclosureEnrollment.__table__.delete().where(
                    DisclosureEnrollment.policy_id.in_(policy_ids)
                )
            )
        relief = [{"funder_kind": "relief_fund", "amount_fen": 8900}]
        with transaction() as s:
            agg.record_enrollments(
                s,
                product_id=pid,
                plan_year=2026,
                paid_on=date(2026, 6, 1),
                issued=[
                    agg.IssuedPolicy(policy_ids[0], "resident", "sponsor", 0, relief),
                    agg.IssuedPolicy(policy_ids[1], "resident", "sponsor", 0, relief),
                    agg.IssuedPolicy(policy_ids[2], None, "sponsor", 0, relief),
                    agg.IssuedPolicy(
                        policy_ids[3],
                        "employee",
                        "wechat",
                        4450,
                        [{"funder_kind": "charity", "amount_fen": 4450}],
                    ),
                ],
            )
        facts = (
            get_session()
            .execute(
                select(DisclosureEnrollment.insurance_type, DisclosureEnrollment.funding_source)
                .where(DisclosureEnrollment.policy_id.in_(policy_ids))
                .order_by(DisclosureEnrollment.policy_id)
            )
            .all()
        )
    assert [tuple(f) for f in facts] == [
        ("resident", "relief_fund"),
        ("resident", "relief_fund"),
        ("unknown", "relief_fund"),
        ("employee", "wechat"),
    ]
    june = {k[1:]: v for k, v in _cells(app).items() if k[0] == "2026-06"}
    assert june == {
        (agg.ENROLLED_BY_INSURANCE_TYPE, "resident"): 2,
        (agg.ENROLLED_BY_INSURANCE_TYPE, "unknown"): 1,
        (agg.ENROLLED_BY_INSURANCE_TYPE, "employee"): 1,
        (agg.ENROLLED_BY_FUNDING_SOURCE, "relief_fund"): 3,
        (agg.ENROLLED_BY_FUNDING_SOURCE, "wechat"): 1,
        (agg.POLICIES_ISSUED, ""): 4,
        (agg.PREMIUMS_COLLECTED_FEN, "relief_fund"): 3 * 8900,  # 26,700
        (agg.PREMIUMS_COLLECTED_FEN, "wechat"): 4450,
        (agg.PREMIUMS_COLLECTED_FEN, "charity"): 4450,
    }
    assert {k: v for k, v in _cells(app).items() if k[0] != "2026-06"} == before


def test_void_is_counted_once_and_in_the_issue_month(scenario):
    """陈静 enrolled in January and surrendered in February (tests/disclosure/conftest.py): her
    January cells are down by one; recording the void again changes nothing."""
    scenario.run()
    app = scenario.app
    with app.app_context():
        fact = get_session().scalar(
            select(DisclosureEnrollment).where(DisclosureEnrollment.voided_at.is_not(None))
        )
        assert (fact.issued_on, fact.insurance_type, fact.funding_source) == (
            date(2026, 1, 28),
            "employee",
            "personal_account",
        )
        before = _cells(app)
        with transaction() as s:
            assert agg.record_policy_voided(s, fact.policy_id) is False
    assert _cells(app) == before
    # January: 孙丽 is the one employee left, nobody by personal account.
    assert before[("2026-01", agg.ENROLLED_BY_INSURANCE_TYPE, "employee")] == 1
    assert before[("2026-01", agg.ENROLLED_BY_FUNDING_SOURCE, "personal_account")] == 0
    assert before[("2026-01", agg.POLICIES_ISSUED, "")] == 3  # gross: still 3
    assert before[("2026-02", agg.REFUNDS, "employer")] == 1
    assert before[("2026-02", agg.PREMIUMS_REFUNDED_FEN, "employer")] == 2966
    assert before[("2026-02", agg.PREMIUMS_REFUNDED_FEN, "personal_account")] == 5934


def test_money_returned_for_a_closed_order_is_not_a_premium_refund(app):
    """A payment that arrived after its order closed is refunded in full, but it was never
    counted as premium (no policy), so it is not counted as refunded either."""
    from types import SimpleNamespace

    with app.app_context():
        agg.record_refund_settled(
            get_session(), SimpleNamespace(order_item_id=None), on=date(2026, 1, 1)
        )
    assert _cells(app) == {}


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
def test_concurrent_bumps_lose_nothing(app):
    """20 threads, each its own transaction, bump one cell 10 times and raise one maximum: the
    cell ends at 200 and the maximum at the largest amount (no lost update)."""
    pid = _product_id(app)
    barrier = threading.Barrier(20)
    errors = []

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(10):
                    with transaction() as s:
                        agg.record_claim_paid(s, pid, 2026, date(2026, 5, 1), 100 + n)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    cells = _cells(app)
    assert cells[("2026-05", agg.CLAIMS_PAID, "")] == 200
    # Sum of (100 + n) over n = 0..19, ten times each: (2,000 + 190) x 10 = 21,900.
    assert cells[("2026-05", agg.CLAIMS_PAID_FEN, "")] == 21_900
    assert cells[("2026-05", agg.LARGEST_CLAIM_PAID_FEN, "")] == 119


def test_folding_slots_keeps_every_figure(app):
    """Bumps spread over several slots read the same after fold_counters, and the cell is one
    row again."""
    pid = _product_id(app)
    with app.app_context():
        with transaction() as s:
            for slot, fen in enumerate((500, 700, 300)):
                agg.bump(
                    s,
                    product_id=pid,
                    plan_year=2026,
                    on=date(2026, 4, 2),
                    metric=agg.CLAIMS_PAID,
                    slot=slot + 1,
                )
                agg.bump_max(
                    s,
                    product_id=pid,
                    plan_year=2026,
                    on=date(2026, 4, 2),
                    metric=agg.LARGEST_CLAIM_PAID_FEN,
                    amount=fen,
                    slot=slot,
                )
    before = _cells(app)
    assert before[("2026-04", agg.CLAIMS_PAID, "")] == 3
    assert before[("2026-04", agg.LARGEST_CLAIM_PAID_FEN, "")] == 700
    with app.app_context():
        with transaction() as s:
            assert agg.fold_counters(s) == 5  # slots 1-3 of the count, 1-2 of the maximum
        with transaction() as s:
            assert agg.fold_counters(s) == 0
        rows = get_session().execute(select(DisclosureCounter.slot)).scalars().all()
        get_session().rollback()
    assert sorted(rows) == [0, 0]
    assert _cells(app) == before


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
def test_folding_while_events_commit_loses_nothing(app):
    """Folds running while 10 threads bump: every bump is counted once."""
    pid = _product_id(app)
    barrier = threading.Barrier(11)
    errors = []
    stop = threading.Event()

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(10):
                    with transaction() as s:
                        agg.record_claim_paid(s, pid, 2026, date(2026, 6, 1), 100 + n)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def folder() -> None:
        try:
            with app.app_context():
                barrier.wait()
                while not stop.is_set():
                    with transaction() as s:
                        agg.fold_counters(s)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    fold_thread = threading.Thread(target=folder)
    for thread in [*threads, fold_thread]:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    fold_thread.join()
    assert errors == []
    cells = _cells(app)
    assert cells[("2026-06", agg.CLAIMS_PAID, "")] == 100
    assert cells[("2026-06", agg.CLAIMS_PAID_FEN, "")] == (1_000 + 45) * 10
    assert cells[("2026-06", agg.LARGEST_CLAIM_PAID_FEN, "")] == 109
