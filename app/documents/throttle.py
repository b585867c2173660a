"""Caps on concurrent heavy document work: decoding and re-encoding an upload.

One 48-megapixel photo decoded is 150 MB; twenty at once from one member took a worker to 4.4 GB
and held every thread. So, around each sanitise:

- per member, across all workers: at most DOCUMENT_WORK_PER_MEMBER uploads in work at once; one
  more is refused at once with 429 document_upload_busy. Counted in the rate limiter's storage
  (Redis in production, so every worker sees one count; memory in development), each count with
  an expiry longer than any request, so a worker killed mid-upload cannot hold a count forever.
  With that storage down the count falls back to this process (fail open, as the login limits
  do: docs/ratelimits.md);
- per worker process: at most DOCUMENT_WORK_SLOTS decodes at once (a semaphore); an upload waits
  up to DOCUMENT_WORK_WAIT_SECONDS for a slot, then gets 503 document_processing_busy.

Both answers carry Retry-After. With the decode itself bounded (DOCUMENT_DECODE_MAX_PIXELS,
app/documents/images.py) a worker's memory for documents is bounded by slots x one decode.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from flask import Flask, current_app
from limits.errors import StorageError

from app.error_catalogue import E
from app.ratelimit import limiter

log = logging.getLogger(__name__)

# Longer than any request may run (gunicorn's timeout is 30 s): a count whose holder died expires.
_COUNT_EXPIRY_SECONDS = 120


class _LocalCounts:
    """The per-member counts of this process, used while the shared storage is down."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.storage_down = False

    def add(self, key: str, amount: int) -> int:
        with self.lock:
            value = max(0, self.counts.get(key, 0) + amount)
            if value:
                self.counts[key] = value
            else:
                self.counts.pop(key, None)
            return value


_state_lock = threading.Lock()


def _state(app: Flask) -> tuple[threading.BoundedSemaphore, _LocalCounts]:
    """This app's (this worker's) slots and fallback counts, made on first use."""
    with _state_lock:
        made = app.extensions.get("document_work")
        if made is None:
            slots = threading.BoundedSemaphore(app.config["DOCUMENT_WORK_SLOTS"])
            made = app.extensions["document_work"] = (slots, _LocalCounts())
        return made


def _count(key: str, amount: int, local: _LocalCounts) -> int:
    """Add `amount` to the member's count in the shared storage (or this process's, while the
    storage is down); the count after."""
    try:
        value = limiter.storage.incr(key, _COUNT_EXPIRY_SECONDS, amount=amount)
    except StorageError as exc:
        if not local.storage_down:
            local.storage_down = True
            log.warning(
                "rate-limit storage unreachable: document uploads counted per process",
                extra={"error_type": type(exc.storage_error).__name__},
            )
        return local.add(key, amount)
    if local.storage_down:
        local.storage_down = False
        log.warning("rate-limit storage reachable again: document uploads counted in it")
    if value < 0:  # the count expired while held; never below zero
        limiter.storage.incr(key, _COUNT_EXPIRY_SECONDS, amount=-value)
        value = 0
    return value


@contextlib.contextmanager
def heavy_document_work(owner: str) -> Iterator[None]:
    """Hold a member slot and a process slot for the body (see the module's docstring).
    `owner` names whose work this is, e.g. "member:42"."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cfg = app.config
    slots, local = _state(app)
    retry = {"Retry-After": str(cfg["DOCUMENT_WORK_RETRY_SECONDS"])}
    key = f"{cfg['RATELIMIT_KEY_PREFIX']}:document-work:{owner}"
    if _count(key, 1, local) > cfg["DOCUMENT_WORK_PER_MEMBER"]:
        _count(key, -1, local)
        raise E.document_upload_busy(headers=retry)
    try:
        if not slots.acquire(timeout=cfg["DOCUMENT_WORK_WAIT_SECONDS"]):
            raise E.document_processing_busy(headers=retry)
        try:
            yield
        finally:
            slots.release()
    finally:
        _count(key, -1, local)
