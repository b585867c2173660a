"""Encryption at rest for claim documents, around any storage adapter.

Stored form: b"HMD1" + 12-byte random nonce + AES-256-GCM(ciphertext || 16-byte tag). The object's
key is bound in as associated data, so a blob copied or renamed to another key (one member's
invoice placed under another member's claim) does not decrypt there; a changed byte anywhere
fails the tag. The store (a disk, a cloud bucket and its operators) only ever sees ciphertext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.integrations.storage.port import StorageIntegrityError, StoragePort, validate_key

_MAGIC = b"HMD1"
_NONCE_BYTES = 12
_AAD_PREFIX = b"huimin/document/v1\x00"
# What the inner store is told about every object: the bytes are ciphertext, whatever the
# document was.
_CIPHERTEXT_MEDIA_TYPE = "application/octet-stream"


class EncryptedStorage:
    def __init__(self, inner: StoragePort, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("document encryption key must be exactly 32 bytes")
        self.inner = inner
        self._aead = AESGCM(key)

    def put(self, key: str, data: bytes, media_type: str) -> None:
        validate_key(key)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, data, _AAD_PREFIX + key.encode("ascii"))
        self.inner.put(key, _MAGIC + nonce + sealed, _CIPHERTEXT_MEDIA_TYPE)

    def get(self, key: str) -> bytes:
        validate_key(key)
        blob = self.inner.get(key)
        if len(blob) < len(_MAGIC) + _NONCE_BYTES + 16 or not blob.startswith(_MAGIC):
            raise StorageIntegrityError(f"object {key!r} is not an encrypted document")
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        sealed = blob[len(_MAGIC) + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, _AAD_PREFIX + key.encode("ascii"))
        except InvalidTag as exc:
            raise StorageIntegrityError(f"object {key!r} failed authentication") from exc

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)
