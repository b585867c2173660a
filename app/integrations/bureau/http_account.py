"""Personal-account debit over the real bureau's transport: `AccountPort` with 9601-9604.

There is no public standard for debiting a personal account (个人账户) to buy commercial cover,
so these four interfaces are *Huimin's own model*, in the platform's style, for the city gateway
to implement or to be mapped onto what the city offers (authorise -> debit -> query -> refund):

* ``9601`` authorise. input ``{"data": {"psn_no", "order_no", "amt"}}``; output
  ``{"authinfo": {"auth_id", "psn_no", "amt", "expy_time"}}`` (``expy_time`` is
  ``YYYY-MM-DD HH:MM:SS`` Shanghai time). A refusal (e.g. unknown person) is a non-zero infcode.
* ``9602`` debit. input ``{"data": {"req_id", "auth_id", "psn_no", "order_no", "amt"}}``;
  output ``{"txninfo": TXN}``. Idempotent on ``req_id``: a repeat returns the recorded TXN and
  never debits twice; the same ``req_id`` for a different request is a failed TXN with
  ``fail_code`` ``request_id_conflict``.
* ``9603`` query. input ``{"data": {"req_id"}}``; output ``{"txninfo": TXN}``, or
  ``{"txninfo": null}`` when the bureau never saw the request id (`DEBIT_NOT_FOUND`).
* ``9605`` balance. input ``{"data": {"psn_no"}}``; output ``{"acctinfo": {"psn_no", "balc"}}``
  with ``balc`` null when the person has no personal account (``{"acctinfo": null}`` for an
  unknown person, the same answer).
* ``9604`` refund. input ``{"data": {"req_id", "orig_req_id", "amt"}}`` where ``req_id`` is the
  refund's own idempotent id; output ``{"txninfo": TXN}``. Partial refunds add up; the total
  never exceeds the debit (``fail_code`` ``refund_exceeds_debit``).

``TXN`` is ``{"req_id", "txn_stas", "amt", "bureau_txn_id", "balc", "fail_code", "fail_msg"}``
with ``txn_stas`` ``"1"`` succeeded, ``"2"`` failed (a final business refusal such as
``insufficient_balance``, recorded under ``req_id``), ``"0"`` processing (pending: query later);
``balc`` is the balance after the transaction (may be null). Amounts (``amt``, ``balc``) are
yuan as decimal strings with exactly two decimals (``"1234.50"``): built from integer fen with
`Decimal`, and read back with `Decimal`; a reply amount with a fraction of a fen is malformed,
never rounded, and floats are never involved. Request ids are the caller's, passed through.

Outcome rules for 9602 / 9604: a timeout, transport error, bad signature, malformed or
inconsistent output (another ``req_id``, another amount), and even a signed non-zero infcode
(`BureauRejected`) all raise `BureauUnavailable`: the outcome is **unknown**, and the caller must
query 9603 by request id rather than assume nothing happened.
"""

from __future__ import annotations

from app.integrations.bureau.http_fields import (
    Malformed,
    amount_field,
    check_id,
    code_field,
    fen_to_yuan,
    str_field,
    time_field,
)
from app.integrations.bureau.http_transport import BureauTransport
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_PENDING,
    DEBIT_SUCCEEDED,
    AccountAuthorisation,
    AccountTransaction,
    BureauUnavailable,
)

INFNO_ACCOUNT_AUTHORISE = "9601"
INFNO_ACCOUNT_DEBIT = "9602"
INFNO_ACCOUNT_QUERY = "9603"
INFNO_ACCOUNT_REFUND = "9604"
INFNO_ACCOUNT_BALANCE = "9605"
# txn_stas on the wire -> port status.
TXN_STATUSES = {"1": DEBIT_SUCCEEDED, "2": DEBIT_FAILED, "0": DEBIT_PENDING}


class AccountDebit(BureauTransport):
    """The 9601-9604 part of `HttpBureau` (`AccountPort`)."""

    def authorise_debit(self, psn_no: str, amount_fen: int, order_no: str) -> AccountAuthorisation:
        """9601. A refusal is `BureauRejected` (a signed non-zero infcode)."""
        check_id(psn_no, "psn_no")
        check_id(order_no, "order_no")
        amt = fen_to_yuan(amount_fen)
        output = self.call(
            INFNO_ACCOUNT_AUTHORISE, {"data": {"psn_no": psn_no, "order_no": order_no, "amt": amt}}
        )
        try:
            info = output.get("authinfo")
            if not isinstance(info, dict):
                raise Malformed("authinfo missing or not an object")
            if code_field(info, "psn_no") != psn_no:
                raise Malformed("authinfo is for another person")
            if amount_field(info, "amt") != amount_fen:
                raise Malformed("authinfo is for another amount")
            expires_at = time_field(info, "expy_time")
            return AccountAuthorisation(
                authorisation_id=code_field(info, "auth_id"),
                psn_no=psn_no,
                amount_fen=amount_fen,
                expires_at_iso=expires_at.isoformat(),
            )
        except Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_ACCOUNT_AUTHORISE} output malformed: {exc}"
            ) from None

    def debit(
        self, request_id: str, authorisation_id: str, psn_no: str, amount_fen: int, order_no: str
    ) -> AccountTransaction:
        """9602. Idempotent on request_id. `BureauUnavailable` means the outcome is unknown:
        query it (9603) with the same request id."""
        check_id(request_id, "request_id")
        check_id(authorisation_id, "authorisation_id")
        check_id(psn_no, "psn_no")
        check_id(order_no, "order_no")
        amt = fen_to_yuan(amount_fen)
        output = self.call(
            INFNO_ACCOUNT_DEBIT,
            {
                "data": {
                    "req_id": request_id,
                    "auth_id": authorisation_id,
                    "psn_no": psn_no,
                    "order_no": order_no,
                    "amt": amt,
                }
            },
        )
        return self._to_txn(INFNO_ACCOUNT_DEBIT, output, request_id, amount_fen)

    def query(self, request_id: str) -> AccountTransaction:
        """9603. `DEBIT_NOT_FOUND` (amount 0) when the bureau never saw the request id."""
        check_id(request_id, "request_id")
        output = self.call(INFNO_ACCOUNT_QUERY, {"data": {"req_id": request_id}})
        if output.get("txninfo") is None:
            return AccountTransaction(request_id=request_id, status=DEBIT_NOT_FOUND, amount_fen=0)
        return self._to_txn(INFNO_ACCOUNT_QUERY, output, request_id, None)

    def balance(self, psn_no: str) -> int | None:
        """9605. None when the person has no personal account (or is unknown)."""
        check_id(psn_no, "psn_no")
        output = self.call(INFNO_ACCOUNT_BALANCE, {"data": {"psn_no": psn_no}})
        info = output.get("acctinfo")
        if info is None:
            return None
        try:
            if not isinstance(info, dict) or str_field(info, "psn_no") != psn_no:
                raise Malformed("acctinfo is not this person's")
            if info.get("balc") in (None, ""):
                return None
            return amount_field(info, "balc")
        except Malformed as exc:
            raise BureauUnavailable(f"bureau 9605 output malformed: {exc}") from None

    def refund(
        self, refund_request_id: str, original_request_id: str, amount_fen: int
    ) -> AccountTransaction:
        """9604. Idempotent on refund_request_id; the bureau caps the total at the debit."""
        check_id(refund_request_id, "refund_request_id")
        check_id(original_request_id, "original_request_id")
        amt = fen_to_yuan(amount_fen)
        output = self.call(
            INFNO_ACCOUNT_REFUND,
            {
                "data": {
                    "req_id": refund_request_id,
                    "orig_req_id": original_request_id,
                    "amt": amt,
                }
            },
        )
        return self._to_txn(INFNO_ACCOUNT_REFUND, output, refund_request_id, amount_fen)

    def _to_txn(
        self, infno: str, output: dict, request_id: str, expected_fen: int | None
    ) -> AccountTransaction:
        try:
            info = output.get("txninfo")
            if not isinstance(info, dict):
                raise Malformed("txninfo missing or not an object")
            if str_field(info, "req_id") != request_id:
                raise Malformed("txninfo is for another request id")
            stas = code_field(info, "txn_stas")
            status = TXN_STATUSES.get(stas)
            if status is None:
                raise Malformed(f"unknown txn_stas {stas!r}")
            amount = amount_field(info, "amt")
            # Money that moved (or may move) must be exactly what was asked for.
            if expected_fen is not None and status != DEBIT_FAILED and amount != expected_fen:
                raise Malformed("txninfo amount differs from the request")
            balance = info.get("balc")
            txn_id = info.get("bureau_txn_id")
            if txn_id is not None and not isinstance(txn_id, str):
                raise Malformed("bureau_txn_id is not a string")
            if status == DEBIT_SUCCEEDED and not txn_id:
                raise Malformed("succeeded without bureau_txn_id")
            fail_code = info.get("fail_code")
            fail_msg = info.get("fail_msg")
            if status == DEBIT_FAILED and (not isinstance(fail_code, str) or not fail_code.strip()):
                raise Malformed("failed without fail_code")
            return AccountTransaction(
                request_id=request_id,
                status=status,
                amount_fen=amount,
                bureau_txn_id=txn_id or None,
                balance_after_fen=None if balance in (None, "") else amount_field(info, "balc"),
                failure_code=fail_code.strip()
                if isinstance(fail_code, str) and fail_code.strip()
                else None,
                failure_message=self._redact(fail_msg)
                if isinstance(fail_msg, str) and fail_msg
                else None,
            )
        except Malformed as exc:
            raise BureauUnavailable(f"bureau {infno} output malformed: {exc}") from None
