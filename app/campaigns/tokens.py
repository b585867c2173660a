"""Signed campaign-link tokens, as pure code (no Flask, no database).

A token is ``<payload>.<mac>``, both URL-safe base64 without padding, in the style of the policy
certificate tokens (app/policies/certificate.py) but with its own key (CAMPAIGN_SIGNING_KEY) and
its own domain-separation prefix, so neither kind of token is ever accepted as the other.

- payload: the campaign's random public code (never its database id, so links do not reveal how
  many campaigns exist or let anyone walk them);
- mac: HMAC-SHA256 over the prefix plus the payload *as transmitted*, truncated to 16 bytes,
  compared in constant time before anything in the payload is trusted.

The token carries no expiry or status: those live on the campaign row, so revoking a campaign or
reaching its expiry takes effect at once for every printed QR code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

TOKEN_MAX_LEN = 120
MAC_BYTES = 16
MIN_SECRET_BYTES = 16
_DOMAIN = b"huimin/campaign-link/v1\x00"
PUBLIC_CODE_RE = re.compile(r"[A-Za-z0-9_-]{16,32}")
_TOKEN_RE = re.compile(r"([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{22})")


class CampaignTokenInvalid(ValueError):
    """Not a token we issued (forged, altered, truncated, malformed). `reason` is for logs only."""

    def __init__(self, reason: str) -> None:
        super().__init__("campaign token invalid")
        self.reason = reason


def new_public_code() -> str:
    """A random, URL-safe public code for a new campaign (96 bits, 16 characters)."""
    return secrets.token_urlsafe(12)


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, (bytes, bytearray)) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the campaign secret must be at least {MIN_SECRET_BYTES} bytes")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, payload_b64: str) -> str:
    digest = hmac.new(bytes(secret), _DOMAIN + payload_b64.encode("ascii"), hashlib.sha256)
    return _b64encode(digest.digest()[:MAC_BYTES])


def sign(secret: bytes, public_code: str) -> str:
    _check_secret(secret)
    if not isinstance(public_code, str) or not PUBLIC_CODE_RE.fullmatch(public_code):
        raise ValueError("public_code must be 16-32 URL-safe characters")
    payload_b64 = _b64encode(public_code.encode("ascii"))
    return f"{payload_b64}.{_mac(secret, payload_b64)}"


def verify(secret: bytes, token: object) -> str:
    """The public code inside a token made by `sign` with the same secret, or
    CampaignTokenInvalid."""
    _check_secret(secret)
    if not isinstance(token, str):
        raise CampaignTokenInvalid("not a string")
    if len(token) > TOKEN_MAX_LEN or not token.isascii():
        raise CampaignTokenInvalid("too long or not ascii")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise CampaignTokenInvalid("malformed")
    payload_b64, mac_b64 = match.groups()
    if not hmac.compare_digest(_mac(secret, payload_b64).encode("ascii"), mac_b64.encode("ascii")):
        raise CampaignTokenInvalid("bad mac")
    # Authentic from here on; the checks below guard against a secret shared with a bug.
    try:
        raw = base64.b64decode(
            payload_b64 + "=" * (-len(payload_b64) % 4), altchars=b"-_", validate=True
        )
        public_code = raw.decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise CampaignTokenInvalid("bad payload") from exc
    if _b64encode(raw) != payload_b64 or not PUBLIC_CODE_RE.fullmatch(public_code):
        raise CampaignTokenInvalid("bad payload")
    return public_code
