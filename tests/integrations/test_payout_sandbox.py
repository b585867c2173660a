"""The sandbox bank behind the payout port: idempotency by request id, deterministic failures,
the timeout faults, sensitive account numbers, and the registry."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from app.database import get_session
from app.integrations.payout.http_adapter import HttpPayout
from app.integrations.payout.port import Payee, PayoutConflict, PayoutResult, mask_account
from app.integrations.payout.sandbox import SandboxPayoutBank
from app.integrations.payout.sandbox_models import SandboxPayout
from app.integrations.registry import payout

ACCOUNT = "6222021234567890123"
PAYEE = Payee(name="张伟", bank_account=ACCOUNT, bank_name="中国工商银行赣州分行")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def count_rows() -> int:
    n = get_session().scalar(select(func.count()).select_from(SandboxPayout))
    get_session().rollback()
    return n


def test_transfer_succeeds_once_and_repeats_are_the_same_transfer(ctx):
    bank = SandboxPayoutBank()
    first = bank.transfer("CLM2026000001P1", PAYEE, 1_750_000, "惠民保理赔 CLM2026000001")

    assert first.status == "succeeded" and first.external_id.startswith("SBP")
    assert first.failure_code is None
    assert bank.transfer("CLM2026000001P1", PAYEE, 1_750_000, "惠民保理赔 CLM2026000001") == first
    assert bank.query("CLM2026000001P1") == first
    assert count_rows() == 1


@pytest.mark.parametrize(
    "other",
    [
        dict(amount_fen=1_750_001),
        dict(
            payee=Payee(
                name="张伟", bank_account="6222021234567890999", bank_name="中国工商银行赣州分行"
            )
        ),
        dict(payee=Payee(name="李娜", bank_account=ACCOUNT, bank_name="中国工商银行赣州分行")),
        dict(payee=Payee(name="张伟", bank_account=ACCOUNT, bank_name="中国建设银行")),
    ],
    ids=["other-amount", "other-account", "other-name", "other-bank"],
)
def test_same_request_id_for_another_transfer_is_a_conflict(ctx, other):
    bank = SandboxPayoutBank()
    bank.transfer("R1", PAYEE, 1_750_000, "memo")
    args = dict(request_id="R1", payee=PAYEE, amount_fen=1_750_000, memo="memo") | other

    with pytest.raises(PayoutConflict) as info:
        bank.transfer(**args)
    assert "R1" in str(info.value)
    assert ACCOUNT not in str(info.value) and ACCOUNT[-8:] not in repr(info.value)
    assert count_rows() == 1


@pytest.mark.parametrize(
    ("suffix", "code"),
    [
        ("0000", "account_invalid"),
        ("1111", "payee_name_mismatch"),
        ("2222", "account_frozen"),
        ("3333", "bank_system_error"),
    ],
)
def test_deterministic_failures_by_account_suffix(ctx, suffix, code):
    payee = Payee(name="张伟", bank_account="622202123456789" + suffix, bank_name="工商银行")
    bank = SandboxPayoutBank()

    result = bank.transfer("R-" + suffix, payee, 100, "memo")
    assert result == PayoutResult("failed", None, code)
    assert bank.query("R-" + suffix) == result  # recorded: a repeat is the same answer


def test_timeout_before_acceptance_is_pending_and_unknown_to_the_bank(ctx):
    bank = SandboxPayoutBank(faults={"timeout_before_accept"})

    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    assert bank.query("R1") == PayoutResult("not_found")
    assert count_rows() == 0
    bank.faults.clear()
    assert bank.transfer("R1", PAYEE, 5_000, "memo").status == "succeeded"  # safe to resend


def test_timeout_after_acceptance_is_pending_until_queried(ctx):
    bank = SandboxPayoutBank(faults={"timeout_after_accept"})

    assert bank.transfer("R1", PAYEE, 5_000, "memo") == PayoutResult("pending")
    settled = bank.query("R1")
    assert settled.status == "succeeded" and settled.external_id
    bank.faults.clear()
    assert bank.transfer("R1", PAYEE, 5_000, "memo") == settled  # no second transfer
    assert count_rows() == 1


def test_account_number_is_stored_encrypted(ctx):
    SandboxPayoutBank().transfer("R1", PAYEE, 5_000, "memo")
    dump = repr(get_session().execute(text("SELECT * FROM sandbox_payouts")).all())

    assert ACCOUNT not in dump and ACCOUNT[:-4] not in dump
    row = get_session().scalar(select(SandboxPayout))
    assert row.account_last4 == "0123"


def test_payee_repr_and_mask_show_only_the_last_four_digits():
    assert mask_account(ACCOUNT) == "*" * 15 + "0123"
    assert ACCOUNT not in repr(PAYEE) and "0123" in repr(PAYEE)
    assert ACCOUNT not in str(PAYEE)


@pytest.mark.parametrize(
    "args",
    [
        dict(request_id="", amount_fen=1),
        dict(request_id="R 1", amount_fen=1),
        dict(request_id="R1", amount_fen=0),
        dict(request_id="R1", amount_fen=1.5),
        dict(request_id="R1", amount_fen=1, memo="x" * 65),
    ],
    ids=["no-request-id", "space-in-request-id", "zero", "float", "memo-too-long"],
)
def test_caller_mistakes_are_value_errors(ctx, args):
    call = dict(payee=PAYEE, memo="memo") | args
    with pytest.raises(ValueError) as info:
        SandboxPayoutBank().transfer(**call)
    assert ACCOUNT not in str(info.value)
    assert count_rows() == 0


@pytest.mark.parametrize(
    "account", ["12345", "6222 0212 3456 7890", "6222021234567890123456789012345678"]
)
def test_payee_refuses_what_is_not_an_account_number_without_echoing_it(account):
    with pytest.raises(ValueError) as info:
        Payee(name="张伟", bank_account=account, bank_name="工商银行")
    assert account not in str(info.value)


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError):
        SandboxPayoutBank(faults={"slow"})


def test_registry_builds_the_configured_payout_once(app_factory):
    with app_factory().app_context():
        first = payout()
        assert isinstance(first, SandboxPayoutBank) and payout() is first
    real_app = app_factory(
        PAYOUT_BACKEND="real",
        PAYOUT_BASE_URL="https://payout.example",
        PAYOUT_MERCHANT_ID="HUIMIN01",
        PAYOUT_SECRET="p" * 32,
    )
    with real_app.app_context():
        real = payout()
        assert isinstance(real, HttpPayout) and payout() is real
        assert "p" * 32 not in repr(real)
        real.close()


# --- PostgreSQL: the bank's own transaction, and racing first requests ----------------------------


@pytest.mark.postgres
def test_a_transfer_survives_the_callers_rollback(ctx):
    session = get_session()
    session.execute(text("SELECT 1"))  # the caller holds an open transaction
    result = SandboxPayoutBank().transfer("R1", PAYEE, 5_000, "memo")
    session.rollback()
    assert result.status == "succeeded"
    assert SandboxPayoutBank().query("R1") == result
    assert count_rows() == 1


@pytest.mark.postgres
def test_concurrent_first_requests_make_one_transfer(ctx):
    app = ctx
    results: list[PayoutResult] = []
    barrier = threading.Barrier(8)

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(SandboxPayoutBank().transfer("RACE1", PAYEE, 5_000, "memo"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1 and results[0].status == "succeeded"
    assert count_rows() == 1
