"""The sandbox bureau's personal-account debit (AccountPort): authorise -> debit -> query -> refund
against the seeded residents' balances, with idempotent request ids, the conditional-UPDATE
balance guard (raced on PostgreSQL), and the test-only lost-reply faults."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.database import get_session, transaction
from app.demo.residents import _showcase
from app.integrations.bureau.http_adapter import BureauRejected
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_SUCCEEDED,
    STATUS_ENDED,
    STATUS_SUSPENDED,
    AccountAuthorisation,
    AccountTransaction,
    BureauUnavailable,
)
from app.integrations.bureau.sandbox import SandboxBureau
from app.integrations.bureau.sandbox_models import (
    SandboxAccountAuthorisation,
    SandboxAccountTxn,
    SandboxResident,
)

SHOWCASE = {r.name: r for r in _showcase()}
ZHANG_WEI = SHOWCASE["张伟"].psn_no  # employee, 356,000 fen
SUN_LI = SHOWCASE["孙丽"].psn_no  # employee, 0 fen
LI_NA = SHOWCASE["李娜"].psn_no  # resident insurance: no personal account
CHEN_JING = SHOWCASE["陈静"].psn_no  # employee, 125,050 fen
START = 356_000

_ids = itertools.count(1)


def rid(prefix: str = "REQ") -> str:
    return f"{prefix}{next(_ids):08d}"


def balance(psn_no: str) -> int | None:
    # A column select always reads the database (no identity-map staleness).
    return get_session().scalar(
        select(SandboxResident.balc_fen).where(SandboxResident.psn_no == psn_no)
    )


def set_resident(psn_no: str, **values) -> None:
    with transaction() as s:
        s.execute(update(SandboxResident).where(SandboxResident.psn_no == psn_no).values(**values))


def txn_count() -> int:
    return get_session().scalar(select(func.count()).select_from(SandboxAccountTxn))


def pay(bureau, psn_no: str, amount: int, request_id: str | None = None, order_no: str = "ORD-1"):
    auth = bureau.authorise_debit(psn_no, amount, order_no)
    return bureau.debit(request_id or rid(), auth.authorisation_id, psn_no, amount, order_no)


@pytest.fixture
def bureau() -> SandboxBureau:
    return SandboxBureau()


# --------------------------------------------------------------------------------------------
# Authorise + debit


def test_authorise_then_debit_decreases_the_balance_exactly(seeded, bureau):
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 12_345, "ORD-2026-0001")
        assert isinstance(auth, AccountAuthorisation)
        assert auth.psn_no == ZHANG_WEI and auth.amount_fen == 12_345
        expires = datetime.fromisoformat(auth.expires_at_iso)
        assert expires.tzinfo is not None and expires > datetime.now(UTC)

        txn = bureau.debit("REQ-A-1", auth.authorisation_id, ZHANG_WEI, 12_345, "ORD-2026-0001")

        assert isinstance(txn, AccountTransaction)
        assert txn.status == DEBIT_SUCCEEDED
        assert txn.request_id == "REQ-A-1"
        assert txn.amount_fen == 12_345
        assert txn.bureau_txn_id
        assert txn.failure_code is None
        assert txn.balance_after_fen == START - 12_345
        assert balance(ZHANG_WEI) == START - 12_345


def test_repeat_request_id_returns_the_same_txn_and_debits_once(seeded, bureau):
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 10_000, "ORD-R")
        first = bureau.debit("REQ-REPEAT", auth.authorisation_id, ZHANG_WEI, 10_000, "ORD-R")
        again = bureau.debit("REQ-REPEAT", auth.authorisation_id, ZHANG_WEI, 10_000, "ORD-R")
        third = bureau.debit("REQ-REPEAT", auth.authorisation_id, ZHANG_WEI, 10_000, "ORD-R")

        assert first.status == DEBIT_SUCCEEDED
        assert again == first and third == first  # same bureau_txn_id, same balance_after
        assert balance(ZHANG_WEI) == START - 10_000
        assert txn_count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": 10_001},
        {"psn_no": CHEN_JING},
        {"order_no": "ORD-OTHER"},
        {"authorisation_id": "SBA-X"},
    ],
    ids=["amount", "psn_no", "order_no", "authorisation"],
)
def test_repeat_request_id_with_different_parameters_is_a_conflict(seeded, bureau, change):
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 10_000, "ORD-C")
        first = bureau.debit("REQ-CONFLICT", auth.authorisation_id, ZHANG_WEI, 10_000, "ORD-C")
        args = dict(
            authorisation_id=auth.authorisation_id,
            psn_no=ZHANG_WEI,
            amount_fen=10_000,
            order_no="ORD-C",
        )
        args.update(change)

        conflict = bureau.debit("REQ-CONFLICT", **args)

        assert conflict.status == DEBIT_FAILED
        assert conflict.failure_code == "request_id_conflict"
        assert conflict.bureau_txn_id is None
        assert balance(ZHANG_WEI) == START - 10_000
        assert balance(CHEN_JING) == 125_050
        # The record under the id is still the original one.
        assert bureau.query("REQ-CONFLICT") == first


def test_insufficient_balance_fails_and_leaves_the_balance(seeded, bureau):
    with seeded.app_context():
        empty = pay(bureau, SUN_LI, 1, "REQ-SUN")
        too_much = pay(bureau, ZHANG_WEI, START + 1, "REQ-TOO-MUCH")

        for txn in (empty, too_much):
            assert txn.status == DEBIT_FAILED
            assert txn.failure_code == "insufficient_balance"
            assert txn.failure_message
            assert txn.bureau_txn_id is None
        assert balance(SUN_LI) == 0
        assert balance(ZHANG_WEI) == START
        # Recorded: a repeat gives the same answer, and the query knows it.
        assert bureau.query("REQ-SUN") == empty


def test_exact_balance_can_be_spent_to_zero(seeded, bureau):
    with seeded.app_context():
        txn = pay(bureau, ZHANG_WEI, START)
        assert txn.status == DEBIT_SUCCEEDED and txn.balance_after_fen == 0
        assert pay(bureau, ZHANG_WEI, 1).failure_code == "insufficient_balance"
        assert balance(ZHANG_WEI) == 0


def test_failed_debit_leaves_the_authorisation_usable(seeded, bureau):
    with seeded.app_context():
        set_resident(ZHANG_WEI, balc_fen=500)
        auth = bureau.authorise_debit(ZHANG_WEI, 800, "ORD-TOPUP")
        assert (
            bureau.debit("REQ-T1", auth.authorisation_id, ZHANG_WEI, 800, "ORD-TOPUP").failure_code
            == "insufficient_balance"
        )
        set_resident(ZHANG_WEI, balc_fen=1_000)
        # Same request id: the recorded failure (idempotent). New request id: a new attempt.
        assert (
            bureau.debit("REQ-T1", auth.authorisation_id, ZHANG_WEI, 800, "ORD-TOPUP").status
            == DEBIT_FAILED
        )
        assert (
            bureau.debit("REQ-T2", auth.authorisation_id, ZHANG_WEI, 800, "ORD-TOPUP").status
            == DEBIT_SUCCEEDED
        )
        assert balance(ZHANG_WEI) == 200


def test_resident_without_personal_account_is_refused(seeded, bureau):
    with seeded.app_context():
        txn = pay(bureau, LI_NA, 100)
        assert txn.status == DEBIT_FAILED
        assert txn.failure_code == "no_personal_account"
        assert balance(LI_NA) is None


@pytest.mark.parametrize(
    ("stas", "code"), [(STATUS_SUSPENDED, "insurance_suspended"), (STATUS_ENDED, "insurance_ended")]
)
def test_suspended_or_ended_insurance_is_refused(seeded, bureau, stas, code):
    with seeded.app_context():
        set_resident(ZHANG_WEI, psn_insu_stas=stas)
        txn = pay(bureau, ZHANG_WEI, 100)
        assert txn.status == DEBIT_FAILED and txn.failure_code == code
        assert balance(ZHANG_WEI) == START


def test_unknown_person_cannot_be_authorised(seeded, bureau):
    with seeded.app_context():
        with pytest.raises(BureauRejected):
            bureau.authorise_debit("36079999999999999999", 100, "ORD-X")
        assert (
            get_session().scalar(select(func.count()).select_from(SandboxAccountAuthorisation)) == 0
        )


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100"])
def test_amounts_must_be_positive_integer_fen(seeded, bureau, amount):
    with seeded.app_context():
        with pytest.raises(ValueError):
            bureau.authorise_debit(ZHANG_WEI, amount, "ORD-X")
        with pytest.raises(ValueError):
            bureau.debit("REQ-V", "SBA-X", ZHANG_WEI, amount, "ORD-X")
        with pytest.raises(ValueError):
            bureau.refund("REF-V", "REQ-V", amount)
        assert txn_count() == 0


# --------------------------------------------------------------------------------------------
# Authorisation checks


def test_unknown_authorisation_is_refused(seeded, bureau):
    with seeded.app_context():
        txn = bureau.debit(rid(), "SBA-NOT-ISSUED", ZHANG_WEI, 100, "ORD-1")
        assert txn.status == DEBIT_FAILED and txn.failure_code == "authorisation_not_found"
        assert balance(ZHANG_WEI) == START


@pytest.mark.parametrize(
    "change",
    [{"psn_no": CHEN_JING}, {"amount_fen": 999}, {"order_no": "ORD-2"}],
    ids=["other-person", "other-amount", "other-order"],
)
def test_authorisation_must_match_person_amount_and_order(seeded, bureau, change):
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 1_000, "ORD-1")
        args = dict(psn_no=ZHANG_WEI, amount_fen=1_000, order_no="ORD-1")
        args.update(change)
        txn = bureau.debit(rid(), auth.authorisation_id, **args)
        assert txn.status == DEBIT_FAILED and txn.failure_code == "authorisation_mismatch"
        assert balance(ZHANG_WEI) == START and balance(CHEN_JING) == 125_050


def test_expired_authorisation_is_refused(seeded):
    now = [datetime(2026, 11, 4, 2, 0, tzinfo=UTC)]
    bureau = SandboxBureau(clock=lambda: now[0], authorisation_ttl=timedelta(minutes=10))
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 1_000, "ORD-1")
        assert auth.expires_at_iso == "2026-11-04T02:10:00+00:00"
        now[0] += timedelta(minutes=10)  # expiry is exclusive
        txn = bureau.debit(rid(), auth.authorisation_id, ZHANG_WEI, 1_000, "ORD-1")
        assert txn.status == DEBIT_FAILED and txn.failure_code == "authorisation_expired"
        assert balance(ZHANG_WEI) == START


def test_used_authorisation_is_refused(seeded, bureau):
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 1_000, "ORD-1")
        ok = bureau.debit("REQ-U1", auth.authorisation_id, ZHANG_WEI, 1_000, "ORD-1")
        second = bureau.debit("REQ-U2", auth.authorisation_id, ZHANG_WEI, 1_000, "ORD-1")
        assert ok.status == DEBIT_SUCCEEDED
        assert second.status == DEBIT_FAILED and second.failure_code == "authorisation_used"
        assert balance(ZHANG_WEI) == START - 1_000


# --------------------------------------------------------------------------------------------
# Query


def test_query_returns_the_recorded_txn_or_not_found(seeded, bureau):
    with seeded.app_context():
        ok = pay(bureau, ZHANG_WEI, 2_000, "REQ-Q1")
        failed = pay(bureau, SUN_LI, 2_000, "REQ-Q2")

        assert bureau.query("REQ-Q1") == ok
        assert bureau.query("REQ-Q2") == failed
        missing = bureau.query("REQ-NEVER-SENT")
        assert missing.status == DEBIT_NOT_FOUND
        assert missing.request_id == "REQ-NEVER-SENT" and missing.amount_fen == 0
        assert missing.bureau_txn_id is None


# --------------------------------------------------------------------------------------------
# Refund


def test_partial_then_full_refund_and_over_refund_refused(seeded, bureau):
    with seeded.app_context():
        debit = pay(bureau, ZHANG_WEI, 10_000, "REQ-D")
        assert balance(ZHANG_WEI) == START - 10_000

        part = bureau.refund("REF-1", "REQ-D", 3_000)
        assert part.status == DEBIT_SUCCEEDED and part.amount_fen == 3_000
        assert part.bureau_txn_id and part.bureau_txn_id != debit.bureau_txn_id
        assert part.balance_after_fen == START - 7_000
        assert balance(ZHANG_WEI) == START - 7_000

        over = bureau.refund("REF-2", "REQ-D", 7_001)
        assert over.status == DEBIT_FAILED and over.failure_code == "refund_exceeds_debit"
        assert balance(ZHANG_WEI) == START - 7_000

        rest = bureau.refund("REF-3", "REQ-D", 7_000)
        assert rest.status == DEBIT_SUCCEEDED and rest.balance_after_fen == START
        assert bureau.refund("REF-4", "REQ-D", 1).failure_code == "refund_exceeds_debit"
        assert balance(ZHANG_WEI) == START
        assert bureau.query("REF-1") == part and bureau.query("REF-2") == over


def test_full_refund_in_one_go(seeded, bureau):
    with seeded.app_context():
        pay(bureau, ZHANG_WEI, 9_900, "REQ-F")
        txn = bureau.refund("REF-F", "REQ-F", 9_900)
        assert txn.status == DEBIT_SUCCEEDED
        assert balance(ZHANG_WEI) == START


def test_refund_is_idempotent_on_its_request_id(seeded, bureau):
    with seeded.app_context():
        pay(bureau, ZHANG_WEI, 5_000, "REQ-I")
        first = bureau.refund("REF-I", "REQ-I", 2_000)
        again = bureau.refund("REF-I", "REQ-I", 2_000)
        assert again == first
        assert balance(ZHANG_WEI) == START - 3_000
        conflict = bureau.refund("REF-I", "REQ-I", 2_500)
        assert conflict.status == DEBIT_FAILED and conflict.failure_code == "request_id_conflict"
        # A refund id may not reuse a debit's id either.
        assert bureau.refund("REQ-I", "REQ-I", 1).failure_code == "request_id_conflict"
        assert balance(ZHANG_WEI) == START - 3_000


def test_refund_needs_a_succeeded_debit(seeded, bureau):
    with seeded.app_context():
        pay(bureau, SUN_LI, 100, "REQ-FAILED")
        assert bureau.refund(rid("REF"), "REQ-NOPE", 100).failure_code == "original_not_found"
        assert bureau.refund(rid("REF"), "REQ-FAILED", 100).failure_code == "original_not_succeeded"
        pay(bureau, ZHANG_WEI, 100, "REQ-OK")
        bureau.refund("REF-OK", "REQ-OK", 100)
        # A refund is not a debit: it cannot itself be refunded.
        assert bureau.refund(rid("REF"), "REF-OK", 100).failure_code == "original_not_found"
        assert balance(SUN_LI) == 0 and balance(ZHANG_WEI) == START


# --------------------------------------------------------------------------------------------
# The bureau commits on its own: the caller's rollback does not undo it


def test_caller_rollback_does_not_undo_the_bureau_debit(seeded, bureau):
    with seeded.app_context():
        session = get_session()
        session.rollback()
        txn = pay(bureau, ZHANG_WEI, 4_000, "REQ-RB")
        session.rollback()  # the caller's unit of work fails after the debit
        get_session().close()
        assert txn.status == DEBIT_SUCCEEDED
        assert balance(ZHANG_WEI) == START - 4_000
        assert bureau.query("REQ-RB") == txn


@pytest.mark.postgres
def test_bureau_commit_is_separate_from_the_callers_unit_of_work(seeded, bureau):
    """Only PostgreSQL shows this (the in-memory SQLite shares one connection): the bureau's
    commit neither commits the caller's pending work nor is undone by the caller's rollback."""
    with seeded.app_context():
        session = get_session()
        session.execute(
            update(SandboxResident).where(SandboxResident.psn_no == CHEN_JING).values(balc_fen=1)
        )  # the caller's own uncommitted write
        txn = pay(bureau, ZHANG_WEI, 4_000, "REQ-SEP")
        session.rollback()

        assert txn.status == DEBIT_SUCCEEDED
        assert balance(ZHANG_WEI) == START - 4_000
        assert balance(CHEN_JING) == 125_050
        get_session().close()


# --------------------------------------------------------------------------------------------
# Faults: the lost reply and the request that never arrived


def test_timeout_after_debit_is_a_lost_reply_that_query_recovers(seeded):
    bureau = SandboxBureau(faults={"timeout_after_debit"})
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 6_000, "ORD-LOST")
        with pytest.raises(BureauUnavailable):
            bureau.debit("REQ-LOST", auth.authorisation_id, ZHANG_WEI, 6_000, "ORD-LOST")

        # The debit happened and was committed; query finds it.
        assert balance(ZHANG_WEI) == START - 6_000
        found = bureau.query("REQ-LOST")
        assert found.status == DEBIT_SUCCEEDED and found.amount_fen == 6_000
        # A retry with the same request id, once the line is back, never debits twice.
        bureau.faults.clear()
        retried = bureau.debit("REQ-LOST", auth.authorisation_id, ZHANG_WEI, 6_000, "ORD-LOST")
        assert retried == found
        assert balance(ZHANG_WEI) == START - 6_000


def test_timeout_before_debit_does_nothing(seeded):
    bureau = SandboxBureau(faults={"timeout_before_debit"})
    with seeded.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 6_000, "ORD-NONE")
        with pytest.raises(BureauUnavailable):
            bureau.debit("REQ-NONE", auth.authorisation_id, ZHANG_WEI, 6_000, "ORD-NONE")

        assert balance(ZHANG_WEI) == START
        assert bureau.query("REQ-NONE").status == DEBIT_NOT_FOUND
        bureau.faults.clear()
        txn = bureau.debit("REQ-NONE", auth.authorisation_id, ZHANG_WEI, 6_000, "ORD-NONE")
        assert txn.status == DEBIT_SUCCEEDED and balance(ZHANG_WEI) == START - 6_000


def test_refund_faults(seeded):
    bureau = SandboxBureau()
    with seeded.app_context():
        pay(bureau, ZHANG_WEI, 3_000, "REQ-RF")
        bureau.faults.add("timeout_before_refund")
        with pytest.raises(BureauUnavailable):
            bureau.refund("REF-RF", "REQ-RF", 3_000)
        assert bureau.query("REF-RF").status == DEBIT_NOT_FOUND
        bureau.faults = {"timeout_after_refund"}
        with pytest.raises(BureauUnavailable):
            bureau.refund("REF-RF", "REQ-RF", 3_000)
        assert bureau.query("REF-RF").status == DEBIT_SUCCEEDED
        assert balance(ZHANG_WEI) == START


def test_unknown_fault_names_are_rejected():
    with pytest.raises(ValueError):
        SandboxBureau(faults={"timeout_after_dbit"})


# --------------------------------------------------------------------------------------------
# The race (PostgreSQL only: SQLite serialises writers and ignores row locks)

RACE_DEBITS = 200
RACE_WORKERS = 25  # the engine pools at most 30 connections
RACE_AMOUNT = 1_000
RACE_BALANCE = 50_000


@pytest.mark.postgres
def test_concurrent_debits_never_overspend(seeded):
    app = seeded
    bureau = SandboxBureau()
    with app.app_context():
        set_resident(ZHANG_WEI, balc_fen=RACE_BALANCE)
        auths = [
            bureau.authorise_debit(ZHANG_WEI, RACE_AMOUNT, f"ORD-RACE-{i:03d}")
            for i in range(RACE_DEBITS)
        ]
        get_session().close()

    start = threading.Barrier(RACE_WORKERS)

    def one(i: int) -> AccountTransaction:
        if i < RACE_WORKERS:
            start.wait(timeout=30)  # the first wave starts together
        with app.app_context():
            return bureau.debit(
                f"REQ-RACE-{i:03d}",
                auths[i].authorisation_id,
                ZHANG_WEI,
                RACE_AMOUNT,
                f"ORD-RACE-{i:03d}",
            )

    with ThreadPoolExecutor(max_workers=RACE_WORKERS) as pool:
        results = list(pool.map(one, range(RACE_DEBITS)))

    ok = [t for t in results if t.status == DEBIT_SUCCEEDED]
    failed = [t for t in results if t.status == DEBIT_FAILED]
    assert len(ok) == RACE_BALANCE // RACE_AMOUNT == 50
    assert len(failed) == 150
    assert {t.failure_code for t in failed} == {"insufficient_balance"}
    # Every success saw a distinct balance after it: the debits were applied one at a time.
    assert sorted(t.balance_after_fen for t in ok) == list(range(0, RACE_BALANCE, RACE_AMOUNT))
    assert all(t.balance_after_fen >= 0 for t in ok)

    with app.app_context():
        final = balance(ZHANG_WEI)
        assert final == 0
        session = get_session()
        recorded_ok = session.scalar(
            select(func.sum(SandboxAccountTxn.amount_fen)).where(
                SandboxAccountTxn.kind == "debit", SandboxAccountTxn.status == DEBIT_SUCCEEDED
            )
        )
        assert recorded_ok == RACE_BALANCE - final == sum(t.amount_fen for t in ok)
        assert session.scalar(select(func.count()).select_from(SandboxAccountTxn)) == RACE_DEBITS
        assert session.scalar(select(func.min(SandboxAccountTxn.balance_after_fen))) == 0
        used = session.scalar(
            select(func.count())
            .select_from(SandboxAccountAuthorisation)
            .where(SandboxAccountAuthorisation.used.is_(True))
        )
        assert used == 50
        session.close()  # nothing left idle in a transaction before the fixture truncates


@pytest.mark.postgres
def test_concurrent_repeats_of_one_request_id_debit_once(seeded):
    app = seeded
    bureau = SandboxBureau()
    with app.app_context():
        auth = bureau.authorise_debit(ZHANG_WEI, 7_000, "ORD-DUP")
        get_session().close()
    start = threading.Barrier(20)

    def one(_: int) -> AccountTransaction:
        start.wait(timeout=30)
        with app.app_context():
            return bureau.debit("REQ-DUP", auth.authorisation_id, ZHANG_WEI, 7_000, "ORD-DUP")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))

    assert {t.status for t in results} == {DEBIT_SUCCEEDED}
    assert len({t.bureau_txn_id for t in results}) == 1
    with app.app_context():
        assert balance(ZHANG_WEI) == START - 7_000
        assert txn_count() == 1
        get_session().close()


@pytest.mark.postgres
def test_concurrent_refunds_never_exceed_the_debit(seeded):
    app = seeded
    bureau = SandboxBureau()
    with app.app_context():
        pay(bureau, ZHANG_WEI, 10_000, "REQ-RR")
        get_session().close()
    start = threading.Barrier(20)

    def one(i: int) -> AccountTransaction:
        start.wait(timeout=30)
        with app.app_context():
            return bureau.refund(f"REF-RR-{i:02d}", "REQ-RR", 1_000)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))

    assert sum(t.status == DEBIT_SUCCEEDED for t in results) == 10
    assert {t.failure_code for t in results if t.status == DEBIT_FAILED} == {"refund_exceeds_debit"}
    with app.app_context():
        assert balance(ZHANG_WEI) == START
        get_session().close()
