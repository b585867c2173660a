"""The payout port: transfer a claim's money to the payee's bank account, idempotently.

`transfer(request_id, payee, amount_fen, memo)` asks the bank (or the insurer's payment
platform) to move `amount_fen` to the payee. The request id is the caller's and makes the
transfer idempotent: the same id with the same payee and amount is the same transfer (one
effect, the same answer); the same id with another payee or amount raises `PayoutConflict`.

Statuses of a `PayoutResult`:

* ``succeeded``  the money has moved; `external_id` is the bank's transfer id;
* ``failed``     final: no money moved; `failure_code` says why. Codes about the payee are
                 permanent (``account_invalid``, ``payee_name_mismatch``, ``account_frozen``,
                 ``account_closed``); others (e.g. ``bank_system_error``) may work with a new
                 request id later;
* ``pending``    not final or not known: the bank is processing, or the request timed out
                 (it may or may not have been accepted). Ask `query(request_id)` later;
* ``not_found``  (query only) the bank never saw this request id: a transfer that was lost
                 before acceptance. Sending it again with the same request id is safe.

Bank account numbers are sensitive: `Payee` shows only the last four digits in its repr, and
no adapter puts an account number in a log line or an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

PAYOUT_SUCCEEDED = "succeeded"
PAYOUT_PENDING = "pending"
PAYOUT_FAILED = "failed"
PAYOUT_NOT_FOUND = "not_found"
PAYOUT_STATUSES = (PAYOUT_SUCCEEDED, PAYOUT_PENDING, PAYOUT_FAILED, PAYOUT_NOT_FOUND)

PERMANENT_FAILURES = frozenset(
    {"account_invalid", "payee_name_mismatch", "account_frozen", "account_closed"}
)

# What a member or reviewer reads for a refusal; unknown codes read as a generic refusal.
FAILURE_LABELS_ZH = {
    "account_invalid": "收款账户无效",
    "payee_name_mismatch": "收款人姓名与账户不符",
    "account_frozen": "收款账户已冻结",
    "account_closed": "收款账户已销户",
    "invalid_request": "转账请求不符合银行要求",
    "bank_system_error": "银行系统故障，多次重试未成功",
}


def failure_label(code: str | None) -> str:
    """The Chinese reason for a failed transfer (never the raw code alone)."""
    return FAILURE_LABELS_ZH.get(code or "", "银行拒绝了这笔转账")


_ACCOUNT = re.compile(r"^\d{8,32}$")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_MEMO_CHARS = 64


def mask_account(bank_account: str) -> str:
    """Only the last four digits: "************1234"."""
    return "*" * max(len(bank_account) - 4, 0) + bank_account[-4:]


@dataclass(frozen=True)
class Payee:
    name: str
    bank_account: str = field(repr=False)
    bank_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 64:
            raise ValueError("payee name must be a non-empty string of at most 64 characters")
        if not isinstance(self.bank_account, str) or not _ACCOUNT.match(self.bank_account):
            raise ValueError("bank account must be 8 to 32 digits")
        if (
            not isinstance(self.bank_name, str)
            or not self.bank_name.strip()
            or len(self.bank_name) > 64
        ):
            raise ValueError("bank name must be a non-empty string of at most 64 characters")

    @property
    def masked_account(self) -> str:
        return mask_account(self.bank_account)

    def __repr__(self) -> str:
        return f"Payee(name={self.name!r}, bank_account={self.masked_account!r}, bank_name={self.bank_name!r})"


@dataclass(frozen=True)
class PayoutResult:
    status: str  # one of PAYOUT_STATUSES
    external_id: str | None = None  # the bank's transfer id (succeeded, sometimes pending)
    failure_code: str | None = None  # failed only

    def __post_init__(self) -> None:
        if self.status not in PAYOUT_STATUSES:
            raise ValueError(f"status must be one of {PAYOUT_STATUSES}")
        if self.status == PAYOUT_FAILED and not self.failure_code:
            raise ValueError("a failed payout needs a failure_code")


class PayoutConflict(Exception):
    """The request id was already used for a transfer with another payee or amount. The
    message names the request id only."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"payout request id {request_id} was already used for another transfer")
        self.request_id = request_id


class PayoutPort(Protocol):
    def transfer(self, request_id: str, payee: Payee, amount_fen: int, memo: str) -> PayoutResult:
        """Idempotent on request_id. Never raises for a timeout: that is `pending`."""
        ...

    def query(self, request_id: str) -> PayoutResult: ...


def check_transfer(request_id: str, payee: Payee, amount_fen: int, memo: str) -> None:
    """The caller's mistakes, refused before anything is sent (ValueError)."""
    check_request_id(request_id)
    if not isinstance(payee, Payee):
        raise ValueError("payee must be a Payee")
    if type(amount_fen) is not int or amount_fen <= 0:
        raise ValueError("amount_fen must be a positive integer number of fen")
    if not isinstance(memo, str) or len(memo) > MAX_MEMO_CHARS:
        raise ValueError(f"memo must be a string of at most {MAX_MEMO_CHARS} characters")


def check_request_id(request_id: str) -> None:
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        raise ValueError("request_id must be 1 to 64 letters, digits, '_' or '-'")
