"""Keeping a member's document: sanitised, stored encrypted, recorded, read back. One path for
every capability that keeps files (claims' documents, special-drug proofs).

The blob is stored before its row is written (the bytes are sanitised outside any transaction),
so a row that does not commit must take its blob with it: `recorded(key)` wraps the unit of work
that writes the row and deletes the blob when it raises."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from app.documents.sanitise import CleanDocument, sanitise
from app.documents.throttle import heavy_document_work
from app.error_catalogue import E

log = logging.getLogger(__name__)


def store(data: bytes, declared_media_type: str | None, key: str, *, owner: str) -> CleanDocument:
    """Sanitise (type read from the bytes, images re-encoded without metadata, bombs refused)
    within the caps on concurrent document work for `owner` ("member:<id>", throttle.py), and
    store under `key`; storage down -> 503 storage_unavailable."""
    from app.integrations.registry import storage
    from app.integrations.storage.port import StorageUnavailable

    with heavy_document_work(owner):
        clean = sanitise(data, declared_media_type=declared_media_type)
    try:
        storage().put(key, clean.content, clean.media_type)
    except StorageUnavailable:
        raise E.storage_unavailable() from None
    return clean


@contextlib.contextmanager
def recorded(key: str) -> Iterator[None]:
    """Around the unit of work that writes the stored blob's row: if it raises, the row did not
    commit and the blob must not linger."""
    from app.integrations.registry import storage

    try:
        yield
    except Exception:
        storage().delete(key)
        raise


def read(key: str, what: str) -> bytes:
    """A stored document's bytes; a blob missing from storage is logged (`what` names the kind,
    never the owner) and answered as document_not_found."""
    from app.integrations.registry import storage
    from app.integrations.storage.port import ObjectNotFound, StorageUnavailable

    try:
        return storage().get(key)
    except ObjectNotFound:
        log.error("%s blob missing from storage", what)
        raise E.document_not_found() from None
    except StorageUnavailable:
        raise E.storage_unavailable() from None
