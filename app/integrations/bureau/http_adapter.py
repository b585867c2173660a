"""The real medical-insurance bureau adapter: signed JSON envelopes over HTTPS.

The city bureau speaks the national medical-insurance platform's dialect: every call is a JSON
envelope (`infno`, `msgid`, `recer_sys_code`, `insuplc_admdvs`, `mdtrtarea_admvs`, `inf_time`,
`signtype`, `input`, `signature`) and every answer is a reply (`infcode`, `err_msg`, `output`,
`inf_refmsgid`, `signature`). `HttpBureau.call()` is the generic transport that the other
interfaces (personal-account debit / query / refund, 5203 / 9605 settlement queries) reuse;
`HttpBureau.lookup_person()` is 1101 and implements `BureauPort`.

Wire choices, so both sides can be built from this docstring:

* URL: ``POST {base_url}/fsi/api/{infno}``. The national platform routes everything through a
  single ``.../fsi/api/rsfComIfsService/callService`` endpoint; the city gateway we integrate
  with routes per interface instead, which lets its gateway, access logs and rate limits tell
  interfaces apart without parsing bodies. The infno is *also* in the signed body, and that copy
  is the authoritative one (the server must refuse a path/body mismatch).
* Signature: the signer runs over the canonical JSON of the envelope without its ``signature``
  key: ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded
  as UTF-8. Replies are signed the same way and are verified before anything in them is trusted.
  The default signer is HMAC-SHA256 with the shared secret (lower-case hex); the national
  platform uses SM2/SM3, which can be plugged in through the `Signer` protocol.
* Times: ``inf_time`` and "today" are Asia/Shanghai, whatever the server's clock zone is.

Personal-account debit, 9601-9604 (Huimin's modelled interface)
-------------------------------------------------------------------
There is no public standard for debiting a personal account (个人账户) to buy commercial cover,
so these four interfaces are *Huimin's own model*, in the platform's style, for the city gateway
to implement or to be mapped onto what the city offers. `HttpBureau` implements `AccountPort`
with them (authorise -> debit -> query -> refund):

* ``9601`` authorise. input ``{"data": {"psn_no", "order_no", "amt"}}``; output
  ``{"authinfo": {"auth_id", "psn_no", "amt", "expy_time"}}`` (``expy_time`` is
  ``YYYY-MM-DD HH:MM:SS`` Shanghai time). A refusal (e.g. unknown person) is a non-zero infcode.
* ``9602`` debit. input ``{"data": {"req_id", "auth_id", "psn_no", "order_no", "amt"}}``;
  output ``{"txninfo": TXN}``. Idempotent on ``req_id``: a repeat returns the recorded TXN and
  never debits twice; the same ``req_id`` for a different request is a failed TXN with
  ``fail_code`` ``request_id_conflict``.
* ``9603`` query. input ``{"data": {"req_id"}}``; output ``{"txninfo": TXN}``, or
  ``{"txninfo": null}`` when the bureau never saw the request id (`DEBIT_NOT_FOUND`).
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

Settlement records: 5203 (national) and 9605 (Huimin's modelled list)
------------------------------------------------------------------------
`HttpBureau.settlement_record` is the national platform's ``5203`` 结算信息查询: input
``{"data": {"psn_no", "setl_id"}}`` (its optional ``mdtrt_id`` is not sent); output
``{"setlinfo": SETL, "setldetail": [...]}``, or ``{"setlinfo": null}`` when the bureau has no
such settlement for that person (-> None). ``setldetail`` (per-fund breakdown) is not read.

The platform has no interface that lists a person's settlements over a period (5201 lists
visits, without amounts), so `HttpBureau.settlement_records` uses Huimin's modelled ``9605``,
in the same family as 9601-9604: input ``{"data": {"psn_no", "begndate", "enddate"}}``
(``YYYY-MM-DD``, Asia/Shanghai, inclusive, matched against the settlement date); output
``{"setlinfo": [SETL, ...]}`` (``[]`` or null when there are none). Rows settled outside the
range are dropped; two rows with one ``setl_id`` are malformed.

``SETL`` is the ``setlinfo`` object of 2207/5203, of which these keys are read:
``setl_id``, ``mdtrt_id``, ``psn_no``, ``psn_name``, ``fixmedins_code``, ``fixmedins_name``,
``med_type``, ``begndate``, ``enddate`` (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``),
``setl_time`` (``YYYY-MM-DD HH:MM:SS`` Shanghai), ``dise_codg``, ``dise_name`` (may be empty),
``refd_setl_flag`` (``"0"`` normal, ``"1"`` reversed), and the amounts ``medfee_sumamt``,
``fulamt_ownpay_amt``, ``overlmt_selfpay``, ``preselfpay_amt``, ``inscp_scp_amt``,
``hifp_pay``, ``hifmi_pay``, ``hifob_pay``, ``maf_pay``, ``psn_part_amt``, ``acct_pay``,
``psn_cash_pay`` (required) and ``cvlserv_pay``, ``hifes_pay``, ``oth_pay``,
``hosp_part_amt`` (optional, 0 when absent; summed into `SettlementRecord.oth_pay_fen`).
Amounts are yuan, as decimal strings or JSON numbers, converted to fen exactly: a fraction of a
fen, a negative amount or a non-number is malformed (never rounded). A reversed settlement is
reported once, with its original non-negative amounts and ``refd_setl_flag`` ``"1"``. A row for
another ``psn_no`` than the one asked about is malformed: another person's data is never
handed on. ``certno`` (which 5203 includes) is never read or kept. Whether the amounts add up
is not the adapter's business: `settlements.settlement_inconsistencies` flags that for review.

Outcome rules for 9602 / 9604: a timeout, transport error, bad signature, malformed or
inconsistent output (another ``req_id``, another amount), and even a signed non-zero infcode
(`BureauRejected`) all raise `BureauUnavailable`: the outcome is **unknown**, and the caller must
query 9603 by request id rather than assume nothing happened.

Every failure that is not a business answer (timeouts, transport errors, non-2xx, non-JSON,
bad or missing reply signature, non-zero infcode, malformed output) becomes
`BureauUnavailable`. Its message never carries an ID number or the secret: the bureau's own
``err_msg`` is passed through `_redact` because it may echo the ID number it was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_PENDING,
    DEBIT_SUCCEEDED,
    AccountAuthorisation,
    AccountTransaction,
    BureauPerson,
    BureauUnavailable,
    InsuranceRecord,
)
from app.integrations.bureau.settlements import SettlementRecord

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
INFNO_PERSON_LOOKUP = "1101"
# Huimin's modelled personal-account debit interface (see the module docstring).
INFNO_ACCOUNT_AUTHORISE = "9601"
INFNO_ACCOUNT_DEBIT = "9602"
INFNO_ACCOUNT_QUERY = "9603"
INFNO_ACCOUNT_REFUND = "9604"
INFNO_SETTLEMENT_DETAIL = "5203"  # national: 结算信息查询
INFNO_SETTLEMENT_LIST = "9605"  # Huimin's modelled settlement list (see the module docstring)
# setlinfo amounts read into SettlementRecord.<key>_fen, and the other payers summed into oth_pay.
_SETTLEMENT_AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
)
_OTHER_PAYERS = ("cvlserv_pay", "hifes_pay", "oth_pay", "hosp_part_amt")
# txn_stas on the wire -> port status.
TXN_STATUSES = {"1": DEBIT_SUCCEEDED, "2": DEBIT_FAILED, "0": DEBIT_PENDING}

# 1101 certificate type codes: 02 = 居民身份证 as the medical certificate (mdtrt_cert_type),
# 01 = 居民身份证 as the personal certificate (psn_cert_type).
MDTRT_CERT_TYPE_ID_CARD = "02"
PSN_CERT_TYPE_ID_CARD = "01"

_FEN = Decimal("0.01")
_INF_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_MSGID_TIME_FORMAT = "%Y%m%d%H%M%S"
# 18-digit resident IDs (last char may be X) and legacy 15-digit ones, not inside longer digit runs.
_ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MAX_ERR_MSG_CHARS = 200


# --------------------------------------------------------------------------------------------
# Signing


class Signer(Protocol):
    """Signs outgoing envelopes and verifies the bureau's replies.

    HMAC uses one shared secret for both directions; an SM2/SM3 signer would sign with our
    private key and verify with the bureau's public key, which is why both live here."""

    signtype: str  # goes into the envelope's `signtype` field

    def sign(self, payload: bytes) -> str: ...

    def verify(self, payload: bytes, signature: str) -> bool: ...


class HmacSha256Signer:
    """HMAC-SHA256 over the canonical bytes, lower-case hex."""

    signtype = "HMAC-SHA256"

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if not key:
            # An empty key would make every signature forgeable by anyone.
            raise ValueError("HMAC secret must not be empty")
        self._key = key

    def __repr__(self) -> str:  # never show the key in debug output or tracebacks
        return "HmacSha256Signer(<secret>)"

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def verify(self, payload: bytes, signature: str) -> bool:
        if not isinstance(signature, str) or not signature:
            return False
        # Compare bytes, not str: hmac.compare_digest raises on non-ASCII str, and a probe with
        # a non-ASCII "signature" must be a plain False. Hex case is not significant.
        expected = self.sign(payload).encode("ascii")
        return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8"))


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    """The exact bytes that get signed: sorted keys, no whitespace, UTF-8 (not \\u escapes)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _signed_part(obj: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in obj.items() if k != "signature"})


# --------------------------------------------------------------------------------------------
# Redaction


def mask_id_number(value: str) -> str:
    """First 4 + ******** + last 4, the form allowed in messages and logs."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}********{value[-4:]}"


# --------------------------------------------------------------------------------------------
# Errors


class BureauRejected(BureauUnavailable):
    """The bureau answered, signed, with a non-zero infcode. Still a `BureauUnavailable` for
    1101 callers; later interfaces (debit, refund) can tell a business refusal from a transport
    failure by catching this subclass. `err_msg` is already redacted."""

    def __init__(self, infno: str, infcode: Any, err_msg: str) -> None:
        self.infno = infno
        self.infcode = infcode
        self.err_msg = err_msg
        super().__init__(f"bureau {infno} refused: infcode={infcode!r} err_msg={err_msg!r}")


# --------------------------------------------------------------------------------------------
# The adapter


class HttpBureau:
    """`BureauPort` over HTTP. One instance per app: it owns a pooled `httpx.Client`."""

    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret: str,
        region: str,
        timeout: float,
        signer: Signer | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not base_url or not app_id or not region:
            raise ValueError("HttpBureau needs base_url, app_id and region")
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._region = region
        # Kept only so error messages can be scrubbed of it; never sent or logged.
        self._secret = secret
        self._signer: Signer = signer if signer is not None else HmacSha256Signer(secret)
        self._clock = clock or (lambda: datetime.now(SHANGHAI))
        # Random start: two workers that start in the same second do not begin at the same
        # sequence number, so their msgids only collide by (unlikely) chance.
        self._seq = itertools.count(secrets.randbelow(10_000))
        self._seq_lock = threading.Lock()
        # Explicit timeouts for every phase: a hung bureau must not hang a request worker.
        # httpx's read timeout is per socket read, not a total deadline.
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
            transport=transport,
            follow_redirects=False,  # a redirect would re-send a signed body somewhere else
            headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"HttpBureau(base_url={self._base_url!r}, app_id={self._app_id!r}, region={self._region!r})"

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpBureau:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- generic call -----------------------------------------------------------------------

    def call(self, infno: str, input_data: dict) -> dict:
        """Send one signed envelope and return the verified reply's `output` (``{}`` if null).

        Numbers with a fraction in `output` arrive as `Decimal` (never float), so amounts can be
        converted to fen exactly. Raises `BureauUnavailable` (or its subclass `BureauRejected`
        for a signed non-zero infcode)."""
        now = self._now()
        msgid = self._next_msgid(now)
        envelope: dict[str, Any] = {
            "infno": infno,
            "msgid": msgid,
            "recer_sys_code": self._app_id,
            "insuplc_admdvs": self._region,
            "mdtrtarea_admvs": self._region,
            "inf_time": now.strftime(_INF_TIME_FORMAT),
            "signtype": self._signer.signtype,
            "input": input_data,
        }
        envelope["signature"] = self._signer.sign(_signed_part(envelope))
        url = f"{self._base_url}/fsi/api/{infno}"

        started = time.monotonic()
        try:
            response = self._client.post(
                url,
                content=canonical_json(envelope),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TimeoutException as exc:
            self._log(infno, msgid, started, "timeout")
            raise BureauUnavailable(f"bureau {infno} timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            self._log(infno, msgid, started, "transport_error")
            # Only the exception class: httpx messages can include the URL, and the chained
            # exception would carry the request (whose body holds the ID number).
            raise BureauUnavailable(
                f"bureau {infno} transport error ({type(exc).__name__})"
            ) from None

        if not 200 <= response.status_code < 300:
            self._log(infno, msgid, started, f"http_{response.status_code}")
            raise BureauUnavailable(f"bureau {infno} answered HTTP {response.status_code}")

        plain, data = self._parse_reply(infno, response.content)
        signature = plain.get("signature")
        # Verify over the reply as parsed with default floats: re-serialising that reproduces
        # the canonical bytes the bureau signed. Values are read from the Decimal parse (`data`).
        if not isinstance(signature, str) or not self._signer.verify(
            _signed_part(plain), signature
        ):
            self._log(infno, msgid, started, "bad_signature")
            raise BureauUnavailable(f"bureau {infno} reply signature missing or invalid")

        infcode = data.get("infcode")
        if infcode not in (0, "0") or isinstance(infcode, bool):
            self._log(infno, msgid, started, f"infcode_{infcode!r}", data.get("inf_refmsgid"))
            err_msg = data.get("err_msg")
            raise BureauRejected(
                infno, infcode, self._redact(err_msg if isinstance(err_msg, str) else "")
            )

        output = data.get("output")
        if output is None:
            output = {}
        if not isinstance(output, dict):
            self._log(infno, msgid, started, "malformed_output", data.get("inf_refmsgid"))
            raise BureauUnavailable(f"bureau {infno} reply output is not an object")
        self._log(infno, msgid, started, "ok", data.get("inf_refmsgid"))
        return output

    # -- 1101 -------------------------------------------------------------------------------

    def lookup_person(self, certno: str, name: str) -> BureauPerson | None:
        """1101 person lookup. None when the bureau has no such ID number, or has it under a
        different name: both answers must look identical to the caller (no name oracle)."""
        output = self.call(
            INFNO_PERSON_LOOKUP,
            {
                "data": {
                    "mdtrt_cert_type": MDTRT_CERT_TYPE_ID_CARD,
                    "mdtrt_cert_no": certno,
                    "psn_cert_type": PSN_CERT_TYPE_ID_CARD,
                    "certno": certno,
                    "psn_name": name,
                }
            },
        )
        try:
            return self._to_person(output, certno, name)
        except _Malformed as exc:
            raise BureauUnavailable(f"bureau 1101 output malformed: {exc}") from None

    def _to_person(self, output: dict, certno: str, name: str) -> BureauPerson | None:
        base = output.get("baseinfo")
        if base is None:
            return None
        if not isinstance(base, dict):
            raise _Malformed("baseinfo is not an object")

        got_certno = _str_field(base, "certno")
        got_name = _str_field(base, "psn_name")
        # A bureau that matches on the ID number alone returns the record even for a wrong name;
        # compare both here so a wrong name and an unknown number are the same None.
        if got_certno.strip().upper() != certno.strip().upper() or got_name.strip() != name.strip():
            return None

        today = self._now().date()
        insurance = [self._to_insurance(row) for row in _list_field(output, "insuinfo")]
        identity_types: list[str] = []
        for row in _list_field(output, "idetinfo"):
            if not isinstance(row, dict):
                raise _Malformed("idetinfo row is not an object")
            code = _code_field(row, "psn_idet_type")
            begins = _date_field(row, "begntime", nullable=True)
            ends = _date_field(row, "endtime", nullable=True)
            # Only identities in force today count for subsidies: an expired 低保 status (or one
            # that has not started yet) must not earn a discount.
            if (begins is None or begins <= today) and (ends is None or ends >= today):
                if code not in identity_types:
                    identity_types.append(code)

        gender = _code_field(base, "gend")
        return BureauPerson(
            psn_no=_code_field(base, "psn_no"),
            # Ours, not theirs: equal after normalisation, and the caller's form is canonical.
            certno=certno,
            name=got_name,
            gender=gender,
            birth_date=_date_field(base, "brdy", nullable=False),
            insurance=insurance,
            identity_types=identity_types,
        )

    @staticmethod
    def _to_insurance(row: Any) -> InsuranceRecord:
        if not isinstance(row, dict):
            raise _Malformed("insuinfo row is not an object")
        return InsuranceRecord(
            insutype=_code_field(row, "insutype"),
            status=_code_field(row, "psn_insu_stas"),
            region_code=_code_field(row, "insuplc_admdvs"),
            paused_on=_date_field(row, "paus_insu_date", nullable=True),
            balance_fen=_yuan_to_fen(row.get("balc")),
        )

    # -- 9601-9604 personal-account debit (AccountPort) --------------------------------------

    def authorise_debit(self, psn_no: str, amount_fen: int, order_no: str) -> AccountAuthorisation:
        """9601. A refusal is `BureauRejected` (a signed non-zero infcode)."""
        _check_id(psn_no, "psn_no")
        _check_id(order_no, "order_no")
        amt = fen_to_yuan(amount_fen)
        output = self.call(
            INFNO_ACCOUNT_AUTHORISE, {"data": {"psn_no": psn_no, "order_no": order_no, "amt": amt}}
        )
        try:
            info = output.get("authinfo")
            if not isinstance(info, dict):
                raise _Malformed("authinfo missing or not an object")
            if _code_field(info, "psn_no") != psn_no:
                raise _Malformed("authinfo is for another person")
            if _amount_field(info, "amt") != amount_fen:
                raise _Malformed("authinfo is for another amount")
            expires = _str_field(info, "expy_time").strip()
            try:
                expires_at = datetime.strptime(expires, _INF_TIME_FORMAT).replace(tzinfo=SHANGHAI)
            except ValueError:
                raise _Malformed("expy_time is not a valid time") from None
            return AccountAuthorisation(
                authorisation_id=_code_field(info, "auth_id"),
                psn_no=psn_no,
                amount_fen=amount_fen,
                expires_at_iso=expires_at.isoformat(),
            )
        except _Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_ACCOUNT_AUTHORISE} output malformed: {exc}"
            ) from None

    def debit(
        self, request_id: str, authorisation_id: str, psn_no: str, amount_fen: int, order_no: str
    ) -> AccountTransaction:
        """9602. Idempotent on request_id. `BureauUnavailable` means the outcome is unknown:
        query it (9603) with the same request id."""
        _check_id(request_id, "request_id")
        _check_id(authorisation_id, "authorisation_id")
        _check_id(psn_no, "psn_no")
        _check_id(order_no, "order_no")
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
        _check_id(request_id, "request_id")
        output = self.call(INFNO_ACCOUNT_QUERY, {"data": {"req_id": request_id}})
        if output.get("txninfo") is None:
            return AccountTransaction(request_id=request_id, status=DEBIT_NOT_FOUND, amount_fen=0)
        return self._to_txn(INFNO_ACCOUNT_QUERY, output, request_id, None)

    def refund(
        self, refund_request_id: str, original_request_id: str, amount_fen: int
    ) -> AccountTransaction:
        """9604. Idempotent on refund_request_id; the bureau caps the total at the debit."""
        _check_id(refund_request_id, "refund_request_id")
        _check_id(original_request_id, "original_request_id")
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
                raise _Malformed("txninfo missing or not an object")
            if _str_field(info, "req_id") != request_id:
                raise _Malformed("txninfo is for another request id")
            stas = _code_field(info, "txn_stas")
            status = TXN_STATUSES.get(stas)
            if status is None:
                raise _Malformed(f"unknown txn_stas {stas!r}")
            amount = _amount_field(info, "amt")
            # Money that moved (or may move) must be exactly what was asked for.
            if expected_fen is not None and status != DEBIT_FAILED and amount != expected_fen:
                raise _Malformed("txninfo amount differs from the request")
            balance = info.get("balc")
            txn_id = info.get("bureau_txn_id")
            if txn_id is not None and not isinstance(txn_id, str):
                raise _Malformed("bureau_txn_id is not a string")
            if status == DEBIT_SUCCEEDED and not txn_id:
                raise _Malformed("succeeded without bureau_txn_id")
            fail_code = info.get("fail_code")
            fail_msg = info.get("fail_msg")
            if status == DEBIT_FAILED and (not isinstance(fail_code, str) or not fail_code.strip()):
                raise _Malformed("failed without fail_code")
            return AccountTransaction(
                request_id=request_id,
                status=status,
                amount_fen=amount,
                bureau_txn_id=txn_id or None,
                balance_after_fen=None if balance in (None, "") else _amount_field(info, "balc"),
                failure_code=fail_code.strip()
                if isinstance(fail_code, str) and fail_code.strip()
                else None,
                failure_message=self._redact(fail_msg)
                if isinstance(fail_msg, str) and fail_msg
                else None,
            )
        except _Malformed as exc:
            raise BureauUnavailable(f"bureau {infno} output malformed: {exc}") from None

    # -- 5203 / 9605 settlement records -------------------------------------------------------

    def settlement_records(self, psn_no: str, begin: date, end: date) -> list[SettlementRecord]:
        """9605 (Huimin's modelled list). Oldest first; reversed settlements included."""
        _check_id(psn_no, "psn_no")
        _check_range(begin, end)
        output = self.call(
            INFNO_SETTLEMENT_LIST,
            {
                "data": {
                    "psn_no": psn_no,
                    "begndate": begin.isoformat(),
                    "enddate": end.isoformat(),
                }
            },
        )
        try:
            rows = _list_field(output, "setlinfo")
            records = [self._to_settlement(row, psn_no) for row in rows]
            if len({r.setl_id for r in records}) != len(records):
                raise _Malformed("setlinfo repeats a setl_id")
        except _Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_SETTLEMENT_LIST} output malformed: {exc}"
            ) from None
        in_range = [r for r in records if begin <= r.settled_on <= end]
        return sorted(in_range, key=lambda r: (r.setl_time, r.setl_id))

    def settlement_record(self, psn_no: str, setl_id: str) -> SettlementRecord | None:
        """5203 结算信息查询. None when the bureau has no such settlement for this person."""
        _check_id(psn_no, "psn_no")
        _check_id(setl_id, "setl_id")
        output = self.call(
            INFNO_SETTLEMENT_DETAIL, {"data": {"psn_no": psn_no, "setl_id": setl_id}}
        )
        try:
            row = output.get("setlinfo")
            if row is None:
                return None
            record = self._to_settlement(row, psn_no)
            if record.setl_id != setl_id:
                raise _Malformed("setlinfo is for another settlement")
            return record
        except _Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_SETTLEMENT_DETAIL} output malformed: {exc}"
            ) from None

    @staticmethod
    def _to_settlement(row: Any, psn_no: str) -> SettlementRecord:
        if not isinstance(row, dict):
            raise _Malformed("setlinfo row is not an object")
        if _code_field(row, "psn_no") != psn_no:
            raise _Malformed("setlinfo row is for another person")
        setl_time_text = _str_field(row, "setl_time").strip()
        try:
            setl_time = datetime.strptime(setl_time_text, _INF_TIME_FORMAT).replace(tzinfo=SHANGHAI)
        except ValueError:
            raise _Malformed("setl_time is not a valid time") from None
        flag = _code_field(row, "refd_setl_flag")
        if flag not in ("0", "1"):
            raise _Malformed("refd_setl_flag is neither 0 nor 1")
        amounts = {f"{key}_fen": _amount_field(row, key) for key in _SETTLEMENT_AMOUNTS}
        amounts["oth_pay_fen"] = sum(
            0 if row.get(key) in (None, "") else _amount_field(row, key) for key in _OTHER_PAYERS
        )
        try:
            return SettlementRecord(
                setl_id=_code_field(row, "setl_id"),
                mdtrt_id=_code_field(row, "mdtrt_id"),
                psn_no=psn_no,
                psn_name=_str_field(row, "psn_name").strip(),
                fixmedins_code=_code_field(row, "fixmedins_code"),
                fixmedins_name=_str_field(row, "fixmedins_name").strip(),
                med_type=_code_field(row, "med_type"),
                begndate=_date_field(row, "begndate", nullable=False),
                enddate=_date_field(row, "enddate", nullable=False),
                setl_time=setl_time,
                dise_codg=_optional_text(row, "dise_codg"),
                dise_name=_optional_text(row, "dise_name"),
                refd_setl_flag=flag,
                **amounts,
            )
        except ValueError as exc:  # pragma: no cover - every field was checked above
            raise _Malformed(str(exc)) from None

    # -- helpers ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        # A naive clock is taken to be Shanghai already; an aware one is converted.
        return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)

    def _next_msgid(self, now: datetime) -> str:
        with self._seq_lock:
            seq = next(self._seq) % 10_000
        return f"{self._app_id}{now.strftime(_MSGID_TIME_FORMAT)}{seq:04d}"

    @staticmethod
    def _parse_reply(infno: str, body: bytes) -> tuple[dict, dict]:
        """The reply twice: as plain JSON (for the signature) and with Decimal fractions."""
        try:
            plain = json.loads(body)
            # Decimal for fractions so balances and amounts are exact; NaN/Infinity are refused.
            exact = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError):
            # `from None`: a JSONDecodeError carries the whole body in `.doc`.
            raise BureauUnavailable(f"bureau {infno} reply is not JSON") from None
        if not isinstance(plain, dict) or not isinstance(exact, dict):
            raise BureauUnavailable(f"bureau {infno} reply is not a JSON object")
        return plain, exact

    def _redact(self, text: str) -> str:
        text = _ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)
        if self._secret:
            text = text.replace(self._secret, "<secret>")
        return text[:_MAX_ERR_MSG_CHARS]

    @staticmethod
    def _log(infno: str, msgid: str, started: float, outcome: str, refmsgid: Any = None) -> None:
        # Identifiers of the exchange only: never the input (it holds the ID number and name).
        log.info(
            "bureau call infno=%s msgid=%s inf_refmsgid=%s outcome=%s ms=%d",
            infno,
            msgid,
            refmsgid if isinstance(refmsgid, str) else None,
            outcome,
            int((time.monotonic() - started) * 1000),
        )


# --------------------------------------------------------------------------------------------
# Field readers for the bureau's output. Each raises _Malformed, which lookup_person turns into
# BureauUnavailable: a half-understood answer must not be taken as a person.


class _Malformed(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _str_field(row: dict, key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(f"{key} missing or not a string")
    return value


def _code_field(row: dict, key: str) -> str:
    """Code fields are strings on the wire; tolerate an integer (some gateways send 310)."""
    value = row.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(f"{key} missing or not a code")
    return value.strip()


def _date_field(row: dict, key: str, *, nullable: bool) -> date | None:
    value = row.get(key)
    if value is None or (nullable and value == ""):
        if nullable:
            return None
        raise _Malformed(f"{key} missing")
    if not isinstance(value, str):
        raise _Malformed(f"{key} is not a date string")
    value = value.strip()
    try:
        # "YYYY-MM-DD", and the platform's "YYYY-MM-DD HH:MM:SS" form for begntime/endtime.
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.strptime(value, _INF_TIME_FORMAT).date()
    except ValueError:
        raise _Malformed(f"{key} is not a valid date") from None


def _list_field(output: dict, key: str) -> list:
    value = output.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{key} is not a list")
    return value


def _yuan_to_fen(value: Any) -> int | None:
    """Yuan (decimal string or number) to integer fen, exactly: Decimal, ROUND_HALF_UP, no float.

    JSON numbers arrive here already as Decimal (see `_parse_reply`); a float can only come from
    a caller bypassing that, and goes through its shortest repr rather than its binary value."""
    if value is None or value == "":
        return None  # residents have no personal account
    if isinstance(value, bool):
        raise _Malformed("balc is not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise _Malformed("balc is not an amount") from None
    if not amount.is_finite():
        raise _Malformed("balc is not a finite amount")
    return int((amount.quantize(_FEN, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def fen_to_yuan(amount_fen: int) -> str:
    """Integer fen to the wire's yuan string with exactly two decimals: 1 -> "0.01",
    123450 -> "1234.50". Only positive integers (no bool, no float)."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValueError("amount_fen must be a positive integer number of fen")
    return str(Decimal(amount_fen).scaleb(-2).quantize(_FEN))


def _amount_field(row: dict, key: str) -> int:
    """A transaction amount in yuan to integer fen, exactly: a fraction of a fen is malformed
    (never rounded), and so is a negative or non-finite amount. Accepts the decimal string the
    interface specifies and a JSON number (already a Decimal from `_parse_reply`)."""
    value = row.get(key)
    if isinstance(value, bool) or value is None:
        raise _Malformed(f"{key} missing or not an amount")
    if isinstance(value, float):  # only when a caller bypassed the Decimal parse
        value = repr(value)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise _Malformed(f"{key} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise _Malformed(f"{key} is not a non-negative finite amount")
    fen = amount.scaleb(2)
    if fen != fen.to_integral_value():
        raise _Malformed(f"{key} has a fraction of a fen")
    return int(fen)


def _check_id(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


def _check_range(begin: date, end: date) -> None:
    for value in (begin, end):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError("begin and end must be datetime.date values (Asia/Shanghai)")
    if begin > end:
        raise ValueError("begin is after end")


def _optional_text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{key} is not a string")
    return value.strip()
