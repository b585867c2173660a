"""Document storage: the port (port.py), a local-disk and an S3-compatible adapter, and the
encryption wrapper every configured store goes through (`build_storage`).

Configuration (app/config.py): STORAGE_BACKEND=local|s3; STORAGE_LOCAL_DIR; STORAGE_S3_*;
DOCUMENT_ENCRYPTION_KEY. The app gets its store from `app.integrations.registry.storage()`.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Mapping
from typing import Any

from app.integrations.storage.encrypted import EncryptedStorage
from app.integrations.storage.local import LocalDiskStorage
from app.integrations.storage.port import (
    InvalidStorageKey,
    ObjectNotFound,
    StorageError,
    StorageIntegrityError,
    StoragePort,
    StorageUnavailable,
    claim_document_key,
    new_key,
    validate_key,
)

__all__ = [
    "StoragePort",
    "LocalDiskStorage",
    "EncryptedStorage",
    "build_storage",
    "StorageError",
    "InvalidStorageKey",
    "ObjectNotFound",
    "StorageUnavailable",
    "StorageIntegrityError",
    "validate_key",
    "new_key",
    "claim_document_key",
]


def build_storage(config: Mapping[str, Any]) -> EncryptedStorage:
    """The configured store, always wrapped in EncryptedStorage."""
    backend = config["STORAGE_BACKEND"]
    inner: StoragePort
    if backend == "s3":
        from app.integrations.storage.s3 import S3Storage  # boto3 loads only when used

        inner = S3Storage(
            bucket=config["STORAGE_S3_BUCKET"],
            access_key_id=config["STORAGE_S3_ACCESS_KEY_ID"],
            secret_access_key=config["STORAGE_S3_SECRET_ACCESS_KEY"],
            endpoint_url=config["STORAGE_S3_ENDPOINT_URL"] or None,
            region=config["STORAGE_S3_REGION"] or None,
            addressing_style=config["STORAGE_S3_ADDRESSING_STYLE"],
            timeout_seconds=float(config["STORAGE_S3_TIMEOUT_SECONDS"]),
            max_attempts=int(config["STORAGE_S3_MAX_ATTEMPTS"]),
        )
    elif backend == "local":
        root = config["STORAGE_LOCAL_DIR"]
        if root:
            inner = LocalDiskStorage(root)
        else:
            if config["PROFILE"] == "production":  # also refused by validate_production
                raise StorageError("production needs STORAGE_LOCAL_DIR for local storage")
            # Tests: a private directory per app, removed when the store is dropped or at exit.
            root = tempfile.mkdtemp(prefix="huimin-documents-")
            inner = LocalDiskStorage(root)
            weakref.finalize(inner, shutil.rmtree, root, ignore_errors=True)
    else:
        raise StorageError(f"unknown STORAGE_BACKEND {backend!r}")
    return EncryptedStorage(inner, config["DOCUMENT_ENCRYPTION_KEY"])
