"""The storage port: where claim documents' bytes live (local disk, or any S3-compatible store).

Keys are always made by us (`new_key`, `claim_document_key`), never from a client's file name, and
every adapter checks them again (`validate_key`) so that a bug upstream cannot become a path
traversal. Metadata (owner, type, media type, hash) lives in the database; the store holds bytes
only, encrypted by `EncryptedStorage` before they leave the process.
"""

from __future__ import annotations

import re
import uuid
from typing import Protocol, runtime_checkable

MAX_KEY_LENGTH = 512
# Segments of 1..128 lower-case letters, digits, '_', '-', '.', starting with a letter or digit
# (so no '.', '..', hidden or temporary names), joined by single '/'. Keys that pass are safe as
# relative file paths (a file name may not exceed 255 bytes) and as S3 object keys.
_SEGMENT = r"[a-z0-9][a-z0-9_.\-]{0,127}"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


class StorageError(Exception):
    """The store failed; the message names the operation and the key, never the content."""


class InvalidStorageKey(StorageError, ValueError):
    """A key outside the allowed shape (traversal, absolute path, upper case, ...)."""


class ObjectNotFound(StorageError, KeyError):
    """No object under this key."""


class StorageUnavailable(StorageError):
    """The store did not answer usefully (network, timeout, 5xx): worth retrying later."""


class StorageIntegrityError(StorageError):
    """An object exists but is not what we wrote (tampered, truncated, or moved from another key)."""


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not (0 < len(key) <= MAX_KEY_LENGTH):
        raise InvalidStorageKey("storage key must be 1..512 characters")
    if ".." in key or not _KEY.fullmatch(key):
        raise InvalidStorageKey(
            f"storage key {key!r} is not of the form a/b_c-d.e (segments of 1..128)"
        )
    return key


def new_key(prefix: str) -> str:
    """`<prefix>/<uuid4 hex>`: unguessable, unique, and nothing of the client's choosing."""
    return validate_key(f"{prefix}/{uuid.uuid4().hex}")


def claim_document_key(claim_id: int) -> str:
    """`claims/<claim_id>/<uuid4 hex>` for one uploaded document of one claim."""
    if isinstance(claim_id, bool) or not isinstance(claim_id, int) or claim_id <= 0:
        raise InvalidStorageKey("claim id must be a positive integer")
    return new_key(f"claims/{claim_id}")


@runtime_checkable
class StoragePort(Protocol):
    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Store `data` under `key`, replacing what was there; all or nothing."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; ObjectNotFound when there are none."""

    def delete(self, key: str) -> None:
        """Remove `key`; no error when it is already gone."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
