"""Verification tokens for the policy certificate's QR link (pure code: no Flask, no database).

``sign_token`` / ``verify_token`` produce and check ``<payload>.<mac>``, both URL-safe base64
without padding. The payload is the ASCII text ``"<policy_no>:<version>"``. The MAC is
HMAC-SHA256 over a domain-separation prefix plus the payload *as transmitted* (its base64 text),
truncated to 16 bytes (22 characters). A token for a 15-character policy number is about 46
characters, so the QR code stays small. The token carries no expiry: a certificate stays
checkable as long as the policy exists. The caller compares the returned ``version`` with the
policy's current certificate version, so bumping the version retires old printouts. The token
also says nothing about status: the verify page shows the policy's *current* status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

TOKEN_MAX_LEN = 200
MAC_BYTES = 16
_MAC_CHARS = 22  # len(base64url(16 bytes)) without padding
_DOMAIN = b"huimin/policy-certificate-token/v1\x00"
_MIN_SECRET_BYTES = 16
_MAX_VERSION = 999_999

POLICY_NO_RE = re.compile(r"[A-Za-z0-9-]{1,32}")  # policies.policy_no is String(32)
_VERSION_RE = re.compile(r"[1-9][0-9]{0,5}")  # canonical decimal, 1..999999
_TOKEN_RE = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})")


class CertificateTokenInvalid(ValueError):
    """The token is not one we issued (forged, altered, truncated, malformed, over-long).

    ``reason`` is for logs only; show the user one generic message whatever it says."""

    def __init__(self, reason: str):
        super().__init__("certificate token invalid")
        self.reason = reason


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, (bytes, bytearray)) or len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the certificate secret must be at least {_MIN_SECRET_BYTES} bytes")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode_canonical(text: str) -> bytes:
    """Strict URL-safe base64 without padding; rejects non-canonical trailing bits."""
    if len(text) % 4 == 1:
        raise CertificateTokenInvalid("bad base64 length")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CertificateTokenInvalid("bad base64") from exc
    if _b64encode(raw) != text:
        raise CertificateTokenInvalid("non-canonical base64")
    return raw


def _mac(secret: bytes, payload_b64: str) -> str:
    digest = hmac.new(bytes(secret), _DOMAIN + payload_b64.encode("ascii"), hashlib.sha256)
    return _b64encode(digest.digest()[:MAC_BYTES])


def sign_token(secret: bytes, policy_no: str, version: int = 1) -> str:
    """The token for the certificate QR link of ``policy_no`` (certificate ``version``)."""
    _check_secret(secret)
    if not isinstance(policy_no, str) or not POLICY_NO_RE.fullmatch(policy_no):
        raise ValueError("policy_no must be 1-32 characters of A-Z, a-z, 0-9 and '-'")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or not 1 <= version <= _MAX_VERSION
    ):
        raise ValueError(f"version must be an int from 1 to {_MAX_VERSION}")
    payload_b64 = _b64encode(f"{policy_no}:{version}".encode("ascii"))
    return f"{payload_b64}.{_mac(secret, payload_b64)}"


def verify_token(secret: bytes, token: str) -> tuple[str, int]:
    """``(policy_no, version)`` from a token made by ``sign_token`` with the same secret.

    Raises ``CertificateTokenInvalid`` for anything else. The MAC is checked (in constant time)
    before the payload is decoded."""
    _check_secret(secret)
    if not isinstance(token, str):
        raise CertificateTokenInvalid("not a string")
    if len(token) > TOKEN_MAX_LEN:
        raise CertificateTokenInvalid("too long")
    if not token.isascii():
        raise CertificateTokenInvalid("non-ascii")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise CertificateTokenInvalid("malformed")
    payload_b64, mac_b64 = match.groups()
    if not hmac.compare_digest(_mac(secret, payload_b64).encode("ascii"), mac_b64.encode("ascii")):
        raise CertificateTokenInvalid("bad mac")
    # Authentic from here on; the checks below guard against a secret shared with a bug.
    try:
        payload = _b64decode_canonical(payload_b64).decode("ascii")
    except UnicodeDecodeError as exc:
        raise CertificateTokenInvalid("payload not ascii") from exc
    policy_no, sep, version_text = payload.partition(":")
    if not sep or not POLICY_NO_RE.fullmatch(policy_no) or not _VERSION_RE.fullmatch(version_text):
        raise CertificateTokenInvalid("bad payload")
    return policy_no, int(version_text)
