"""Fewer malloc arenas in a threaded worker.

glibc gives each thread that allocates concurrently an arena of its own (up to 8 per core), and
memory freed in one arena is not reused by another. A gthread worker decoding photos on several
threads keeps every arena's high-water mark: with 20 concurrent maximum-size uploads that was
about 180 MiB of the worker's 620 MiB peak (bench/upload_memory.py). Two arenas keep the threads
from contending much and the peak near what is really in use. `MALLOC_ARENA_MAX` in the
environment does the same, but only when set before the process starts; gunicorn.conf.py calls
this in each worker after the fork instead, so the deployment needs nothing extra.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int) -> bool:
    """mallopt(M_ARENA_MAX, arenas); False where there is no glibc (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        log.info("mallopt unavailable: malloc arenas left as they are")
        return False
