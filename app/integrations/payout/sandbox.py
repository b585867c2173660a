"""Sandbox payout: plays the bank, deterministically, with its book in `sandbox_payouts`.
Refused by the production profile.

Outcomes by the payee's account number (last four digits), so a demo or a test can pick one:

    ...0000  failed   account_invalid       (permanent)
    ...1111  failed   payee_name_mismatch   (permanent)
    ...2222  failed   account_frozen        (permanent)
    ...3333  failed   bank_system_error     (transient: a new request id may succeed)
    others   succeeded, with an external id "SBP..."

Idempotency: the same request id with the same payee (name, account, bank) and amount returns
the recorded outcome and moves nothing again; with another payee or amount it raises
`PayoutConflict`. Two racing first requests are settled by the unique request id.

Test-only faults (constructor ``faults=`` or the live `faults` set):
``timeout_before_accept`` answers `pending` having recorded nothing (the request was lost:
`query` says `not_found`); ``timeout_after_accept`` records the transfer and its final outcome,
then answers `pending` (the reply was lost: `query` tells the outcome).

Like the sandbox bureau, the bank writes in its own session on its own connection, committed
before returning: a caller rolling back its unit of work does not undo a transfer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.database import get_engine
from app.integrations.payout.port import (
    PAYOUT_FAILED,
    PAYOUT_NOT_FOUND,
    PAYOUT_PENDING,
    PAYOUT_SUCCEEDED,
    Payee,
    PayoutConflict,
    PayoutResult,
    check_request_id,
    check_transfer,
)
from app.integrations.payout.sandbox_models import SandboxPayout
from app.security.crypto import cipher, index_of

ACCOUNT_CONTEXT = "sandbox_payouts.account"
FAULTS = frozenset({"timeout_before_accept", "timeout_after_accept"})
FAILURES_BY_SUFFIX = {
    "0000": "account_invalid",
    "1111": "payee_name_mismatch",
    "2222": "account_frozen",
    "3333": "bank_system_error",
}


class SandboxPayoutBank:
    def __init__(self, faults: Iterable[str] = ()) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown sandbox faults: {sorted(unknown)}")
        self.faults: set[str] = set(faults)

    def transfer(self, request_id: str, payee: Payee, amount_fen: int, memo: str) -> PayoutResult:
        check_transfer(request_id, payee, amount_fen, memo)
        if "timeout_before_accept" in self.faults:
            return PayoutResult(PAYOUT_PENDING)
        account_index = index_of("sandbox_payout_account", payee.bank_account)
        with Session(get_engine(), expire_on_commit=False) as s:
            try:
                with s.begin():
                    row = s.scalar(
                        select(SandboxPayout).where(SandboxPayout.request_id == request_id)
                    )
                    if row is None:
                        row = self._accept(s, request_id, payee, amount_fen, memo, account_index)
            except IntegrityError:
                # The same request id was accepted concurrently: answer with that record.
                with s.begin():
                    row = s.scalar(
                        select(SandboxPayout).where(SandboxPayout.request_id == request_id)
                    )
                if row is None:  # pragma: no cover - the integrity error was about something else
                    return PayoutResult(PAYOUT_PENDING)
            if (row.amount_fen, row.account_index, row.payee_name, row.bank_name) != (
                amount_fen,
                account_index,
                payee.name,
                payee.bank_name,
            ):
                raise PayoutConflict(request_id)
        if "timeout_after_accept" in self.faults:
            return PayoutResult(PAYOUT_PENDING)
        return _result(row)

    def query(self, request_id: str) -> PayoutResult:
        check_request_id(request_id)
        with Session(get_engine(), expire_on_commit=False) as s:
            row = s.scalar(select(SandboxPayout).where(SandboxPayout.request_id == request_id))
        return PayoutResult(PAYOUT_NOT_FOUND) if row is None else _result(row)

    @staticmethod
    def _accept(
        s: Session, request_id: str, payee: Payee, amount_fen: int, memo: str, account_index: str
    ) -> SandboxPayout:
        failure = FAILURES_BY_SUFFIX.get(payee.bank_account[-4:])
        row = SandboxPayout(
            request_id=request_id,
            amount_fen=amount_fen,
            payee_name=payee.name,
            account_enc=cipher().encrypt(payee.bank_account, ACCOUNT_CONTEXT),
            account_index=account_index,
            account_last4=payee.bank_account[-4:],
            bank_name=payee.bank_name,
            memo=memo,
            status=PAYOUT_FAILED if failure else PAYOUT_SUCCEEDED,
            external_id=None if failure else f"SBP{uuid.uuid4().hex[:24].upper()}",
            failure_code=failure,
        )
        s.add(row)
        s.flush()  # the unique request id is enforced here
        return row


def _result(row: SandboxPayout) -> PayoutResult:
    return PayoutResult(row.status, external_id=row.external_id, failure_code=row.failure_code)
