"""AES-GCM field encryption and a keyed blind index for sensitive values (PIPL).

Stored form of an encrypted field: b"v1" + 12-byte nonce + ciphertext-with-tag, base64 text.
The column name is bound in as associated data, so a ciphertext copied into another column does
not decrypt. Lookups never decrypt: they compare HMAC-SHA256(blind-index key, purpose | value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

_VERSION = b"v1"


class FieldCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("field encryption key must be at least 32 bytes")
        self._aead = AESGCM(key[:32])

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return base64.b64encode(_VERSION + nonce + sealed).decode("ascii")

    def decrypt(self, token: str, context: str) -> str:
        raw = base64.b64decode(token)
        if raw[:2] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, sealed = raw[2:14], raw[14:]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode("utf-8")


def blind_index(key: bytes, purpose: str, value: str) -> str:
    """Deterministic keyed digest for equality lookups; purpose separates domains."""
    mac = hmac.new(key, purpose.encode() + b"\x00" + value.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def cipher() -> FieldCipher:
    ext = current_app.extensions
    if "field_cipher" not in ext:
        ext["field_cipher"] = FieldCipher(current_app.config["FIELD_ENCRYPTION_KEY"])
    return ext["field_cipher"]


def index_of(purpose: str, value: str) -> str:
    return blind_index(current_app.config["BLIND_INDEX_KEY"], purpose, value)


def duplicate_digest(purpose: str, value: str) -> str:
    """The claims' duplicate checks' keyed digest (DUPLICATE_CHECK_KEY, app/claims/digests.py)."""
    return blind_index(current_app.config["DUPLICATE_CHECK_KEY"], purpose, value)
