"""Signing and redaction for the real bureau's JSON envelopes, and its signed refusal.

The signer runs over the canonical JSON of an envelope or reply without its ``signature`` key:
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8.
The default signer is HMAC-SHA256 with the shared secret (lower-case hex); the national platform
uses SM2/SM3, which can be plugged in through the `Signer` protocol. Anything the bureau says
that reaches a message or a log line goes through `redact` first, because the bureau may echo
the ID number it was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from app.integrations.bureau.port import BureauUnavailable

# 18-digit resident IDs (last char may be X) and legacy 15-digit ones, not inside longer digit runs.
_ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MAX_ERR_MSG_CHARS = 200


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


def signed_part(obj: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an envelope or reply without its ``signature``."""
    return canonical_json({k: v for k, v in obj.items() if k != "signature"})


def mask_id_number(value: str) -> str:
    """First 4 + ******** + last 4, the form allowed in messages and logs."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}********{value[-4:]}"


def redact(text: str, secret: str) -> str:
    """Bureau text fit for a message: ID numbers masked, the secret removed, length capped."""
    text = _ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    if secret:
        text = text.replace(secret, "<secret>")
    return text[:_MAX_ERR_MSG_CHARS]


class BureauRejected(BureauUnavailable):
    """The bureau answered, signed, with a non-zero infcode. Still a `BureauUnavailable` for
    1101 callers; later interfaces (debit, refund) can tell a business refusal from a transport
    failure by catching this subclass. `err_msg` is already redacted."""

    def __init__(self, infno: str, infcode: Any, err_msg: str) -> None:
        self.infno = infno
        self.infcode = infcode
        self.err_msg = err_msg
        super().__init__(f"bureau {infno} refused: infcode={infcode!r} err_msg={err_msg!r}")
