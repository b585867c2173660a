"""The real bureau's transport: one signed JSON envelope out, one verified reply back.

Every call is a JSON envelope (`infno`, `msgid`, `recer_sys_code`, `insuplc_admdvs`,
`mdtrtarea_admvs`, `inf_time`, `signtype`, `input`, `signature`) and every answer is a reply
(`infcode`, `err_msg`, `output`, `inf_refmsgid`, `signature`). `BureauTransport.call()` is the
generic call that every interface (1101, 9601-9605, 5203, 5204) reuses.

Wire choices, so both sides can be built from this docstring:

* URL: ``POST {base_url}/fsi/api/{infno}``. The national platform routes everything through a
  single ``.../fsi/api/rsfComIfsService/callService`` endpoint; the city gateway we integrate
  with routes per interface instead, which lets its gateway, access logs and rate limits tell
  interfaces apart without parsing bodies. The infno is *also* in the signed body, and that copy
  is the authoritative one (the server must refuse a path/body mismatch).
* Signature: over the canonical JSON of the envelope without its ``signature`` key (see
  http_envelope.py). Replies are signed the same way and are verified before anything in them
  is trusted.
* Times: ``inf_time`` and "today" are Asia/Shanghai, whatever the server's clock zone is.

Every failure that is not a business answer (timeouts, transport errors, non-2xx, non-JSON,
bad or missing reply signature, non-zero infcode, malformed output) becomes
`BureauUnavailable`. Its message never carries an ID number or the secret: the bureau's own
``err_msg`` is passed through `redact` because it may echo the ID number it was sent.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

import httpx

from app.integrations.bureau.http_envelope import (
    BureauRejected,
    HmacSha256Signer,
    Signer,
    canonical_json,
    redact,
    signed_part,
)
from app.integrations.bureau.http_fields import INF_TIME_FORMAT, SHANGHAI, reject_constant
from app.integrations.bureau.port import BureauUnavailable

# The adapter's log name from before the split, so log filters and alerts keep matching.
log = logging.getLogger("app.integrations.bureau.http_adapter")

_MSGID_TIME_FORMAT = "%Y%m%d%H%M%S"


class BureauTransport:
    """The signed HTTP exchange with the bureau. One instance per app: it owns a pooled
    `httpx.Client`. The interfaces (identity, account, settlements) build on it."""

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
        return f"{type(self).__name__}(base_url={self._base_url!r}, app_id={self._app_id!r}, region={self._region!r})"

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
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
            "inf_time": now.strftime(INF_TIME_FORMAT),
            "signtype": self._signer.signtype,
            "input": input_data,
        }
        envelope["signature"] = self._signer.sign(signed_part(envelope))
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
        if not isinstance(signature, str) or not self._signer.verify(signed_part(plain), signature):
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
            exact = json.loads(body, parse_float=Decimal, parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError):
            # `from None`: a JSONDecodeError carries the whole body in `.doc`.
            raise BureauUnavailable(f"bureau {infno} reply is not JSON") from None
        if not isinstance(plain, dict) or not isinstance(exact, dict):
            raise BureauUnavailable(f"bureau {infno} reply is not a JSON object")
        return plain, exact

    def _redact(self, text: str) -> str:
        return redact(text, self._secret)

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
