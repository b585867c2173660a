"""The real payout adapter: a bank / insurer transfer API with HMAC-signed JSON.

There is no one public standard for the co-insurance group's payment platform, so this is
Huimin's interface shape, in the style of the bureau envelope, for the platform to implement or
to be mapped onto what the bank offers. Both sides can be built from this docstring.

Requests: ``POST {base_url}/v1/transfers`` (transfer) and ``POST {base_url}/v1/transfers/query``
(query), ``Content-Type: application/json``, a JSON object::

    {"mch_id", "nonce", "timestamp", "request_id",                              # always
     "amount_fen", "currency": "CNY", "payee_name", "payee_account",            # transfer only
     "payee_bank", "memo",
     "signature"}

``timestamp`` is Unix seconds, ``nonce`` 32 random hex characters, ``amount_fen`` an integer
number of fen (never yuan, never a float). ``signature`` is HMAC-SHA256 with the shared secret
over the canonical JSON of every other key (``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` as UTF-8), lower-case hex — the bureau's canonical
form. The platform refuses a bad signature, a stale timestamp or a reused nonce.

Replies (any HTTP 200) are signed the same way and verified before anything in them is
trusted; their ``timestamp`` must be within `max_skew_seconds` of ours::

    {"code", "message", "nonce", "timestamp", "data", "signature"}

``code``: ``OK``; ``REQUEST_ID_CONFLICT`` (the id was used for another payee or amount);
``NOT_FOUND`` (query: the id was never seen); ``INVALID_REQUEST`` (the platform refused the
request as malformed: nothing was accepted); ``SIGN_ERROR`` / ``SYSTEM_ERROR`` (not processed).
``data`` (with ``OK``): ``{"request_id", "status", "transfer_id", "amount_fen",
"fail_code"}``, ``status`` ``SUCCESS`` | ``PROCESSING`` | ``FAILED``; ``transfer_id`` is
required with SUCCESS, ``fail_code`` with FAILED. The platform is idempotent on
``request_id``: a repeat returns the recorded data and moves no money.

Outcomes: SUCCESS -> succeeded, FAILED -> failed (its fail_code), PROCESSING -> pending.
``REQUEST_ID_CONFLICT`` raises `PayoutConflict`; ``INVALID_REQUEST`` to a transfer is failed
``invalid_request``; ``NOT_FOUND`` to a query is not_found. Anything uncertain — a timeout, a
transport error, non-2xx, non-JSON, a missing or bad signature, a stale reply, a reply for
another request id or amount, SIGN_ERROR / SYSTEM_ERROR — is ``pending``: the transfer may or
may not have been accepted, and `query` (the reconciliation) settles it. Nothing here raises
for those, and nothing logs or raises with the account number, the payee's name or the secret.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from app.integrations.bureau.http_adapter import HmacSha256Signer, canonical_json
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

log = logging.getLogger(__name__)

STATUSES = {"SUCCESS": PAYOUT_SUCCEEDED, "PROCESSING": PAYOUT_PENDING, "FAILED": PAYOUT_FAILED}
_MAX_BODY_BYTES = 64 * 1024


class _Uncertain(Exception):
    """No trustworthy answer: the outcome is unknown (-> pending). `reason` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


class HttpPayout:
    """`PayoutPort` over HTTP. One instance per app: it owns a pooled `httpx.Client`."""

    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        secret: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_skew_seconds: int = 300,
    ) -> None:
        if not base_url or not merchant_id:
            raise ValueError("HttpPayout needs base_url and merchant_id")
        self._base_url = base_url.rstrip("/")
        self._merchant_id = merchant_id
        self._signer = HmacSha256Signer(secret)
        self._clock = clock
        self._max_skew = max_skew_seconds
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
            transport=transport,
            follow_redirects=False,  # a redirect would re-send the payee's account elsewhere
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"HttpPayout(base_url={self._base_url!r}, merchant_id={self._merchant_id!r})"

    def close(self) -> None:
        self._client.close()

    # -- the port ---------------------------------------------------------------------------

    def transfer(self, request_id: str, payee: Payee, amount_fen: int, memo: str) -> PayoutResult:
        check_transfer(request_id, payee, amount_fen, memo)
        fields = {
            "request_id": request_id,
            "amount_fen": amount_fen,
            "currency": "CNY",
            "payee_name": payee.name,
            "payee_account": payee.bank_account,
            "payee_bank": payee.bank_name,
            "memo": memo,
        }
        return self._exchange("transfer", "/v1/transfers", request_id, fields, amount_fen)

    def query(self, request_id: str) -> PayoutResult:
        check_request_id(request_id)
        return self._exchange(
            "query", "/v1/transfers/query", request_id, {"request_id": request_id}, None
        )

    # -- the exchange -----------------------------------------------------------------------

    def _exchange(
        self, action: str, path: str, request_id: str, fields: dict, amount_fen: int | None
    ) -> PayoutResult:
        started = time.monotonic()
        try:
            reply = self._post(path, fields)
            code = reply.get("code")
            if code == "REQUEST_ID_CONFLICT":
                self._log(action, request_id, started, "request_id_conflict")
                raise PayoutConflict(request_id)
            if code == "NOT_FOUND" and action == "query":
                result = PayoutResult(PAYOUT_NOT_FOUND)
            elif code == "INVALID_REQUEST" and action == "transfer":
                result = PayoutResult(PAYOUT_FAILED, failure_code="invalid_request")
            elif code == "OK":
                result = self._to_result(reply.get("data"), request_id, amount_fen)
            else:
                raise _Uncertain(f"code_{code}" if isinstance(code, str) else "bad_code")
        except _Uncertain as exc:
            self._log(action, request_id, started, f"pending:{exc.reason}")
            return PayoutResult(PAYOUT_PENDING)
        self._log(action, request_id, started, result.status)
        return result

    @staticmethod
    def _to_result(data: Any, request_id: str, amount_fen: int | None) -> PayoutResult:
        if not isinstance(data, dict):
            raise _Uncertain("data_missing")
        if data.get("request_id") != request_id:
            raise _Uncertain("other_request_id")
        reported = data.get("status")
        status = STATUSES.get(reported) if isinstance(reported, str) else None
        if status is None:
            raise _Uncertain("unknown_status")
        amount = data.get("amount_fen")
        if type(amount) is not int or amount <= 0:
            raise _Uncertain("bad_amount")
        # Money that moved (or may move) must be exactly what was asked for.
        if amount_fen is not None and status != PAYOUT_FAILED and amount != amount_fen:
            raise _Uncertain("other_amount")
        transfer_id, fail_code = data.get("transfer_id"), data.get("fail_code")
        if transfer_id is not None and (not isinstance(transfer_id, str) or len(transfer_id) > 64):
            raise _Uncertain("bad_transfer_id")
        if status == PAYOUT_SUCCEEDED and not transfer_id:
            raise _Uncertain("success_without_transfer_id")
        if status == PAYOUT_FAILED:
            if not isinstance(fail_code, str) or not fail_code.strip() or len(fail_code) > 64:
                raise _Uncertain("failed_without_fail_code")
            return PayoutResult(PAYOUT_FAILED, failure_code=fail_code.strip())
        return PayoutResult(status, external_id=transfer_id or None)

    def _post(self, path: str, fields: dict) -> dict:
        body: dict[str, Any] = {
            "mch_id": self._merchant_id,
            "nonce": secrets.token_hex(16),
            "timestamp": int(self._clock()),
            **fields,
        }
        body["signature"] = self._signer.sign(canonical_json(body))
        try:
            response = self._client.post(
                f"{self._base_url}{path}",
                content=canonical_json(body),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TimeoutException:
            raise _Uncertain("timeout") from None
        except httpx.HTTPError:
            # Never chain: the exception holds the request, whose body has the account number.
            raise _Uncertain("transport_error") from None
        if not 200 <= response.status_code < 300:
            raise _Uncertain(f"http_{response.status_code}")
        if len(response.content) > _MAX_BODY_BYTES:
            raise _Uncertain("reply_too_large")
        try:
            plain = json.loads(response.content)
            # Amounts must be integers: a fraction shows up as a Decimal and is refused.
            exact = json.loads(
                response.content, parse_float=Decimal, parse_constant=_reject_constant
            )
        except (ValueError, UnicodeDecodeError):
            raise _Uncertain("not_json") from None
        if not isinstance(plain, dict) or not isinstance(exact, dict):
            raise _Uncertain("not_an_object")
        signature = plain.get("signature")
        signed = canonical_json({k: v for k, v in plain.items() if k != "signature"})
        if not isinstance(signature, str) or not self._signer.verify(signed, signature):
            raise _Uncertain("bad_signature")
        stamp = exact.get("timestamp")
        if type(stamp) is not int or abs(stamp - self._clock()) > self._max_skew:
            raise _Uncertain("stale_reply")
        return exact

    @staticmethod
    def _log(action: str, request_id: str, started: float, outcome: str) -> None:
        # The request id and the outcome only: never the payee, the account or the amount's owner.
        log.info(
            "payout %s request_id=%s outcome=%s ms=%d",
            action,
            request_id,
            outcome,
            int((time.monotonic() - started) * 1000),
        )
