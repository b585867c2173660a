"""Keeping within the bureau's rate: at most `rate` calls per second, across every worker.

Each call reserves the next free time slot, one `1/rate` apart (a GCRA-style schedule), and
sleeps until its slot. With Redis (REDIS_URL) the schedule lives in one Redis key, advanced by a
Lua script that reads Redis's own clock, so every process shares one budget whatever its own
clock says; without Redis it lives in the process. `rate` 0 means no limit (the embedded sandbox).

Written by hand because the rate limiter the app already uses (`limits`, via flask-limiter)
answers "allowed or not" per window; a job needs "wait until allowed" with calls spaced evenly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import current_app

# KEYS[1] holds the next free slot (seconds since the epoch, as text). ARGV[1] = 1/rate.
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < t then slot = t end
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX',
           math.ceil((slot + interval - t) * 1000) + 1000)
return string.format('%.6f', slot - t)
"""


class Throttle:
    """In-process schedule. `clock` and `sleep` are injectable so tests need not wait."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; how long to wait for it (seconds)."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(self._next, now)
            self._next = slot + self.interval
            return slot - now

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)


class RedisThrottle(Throttle):
    """The same schedule, kept in Redis and shared by every worker process."""

    def __init__(self, rate: float, redis_client, key: str, **kwargs) -> None:
        super().__init__(rate, **kwargs)
        self._redis = redis_client
        self._key = key
        self._script = redis_client.register_script(_RESERVE)

    def reserve(self) -> float:
        if not self.interval:
            return 0.0
        return max(0.0, float(self._script(keys=[self._key], args=[repr(self.interval)])))


def bureau_throttle() -> Throttle:
    """The configured limit on bureau calls (BUREAU_CALLS_PER_SECOND), shared through REDIS_URL
    when set. One per app: the in-process schedule is shared by the app's threads."""
    ext = current_app.extensions
    if "bureau_throttle" not in ext:
        cfg = current_app.config
        rate = float(cfg["BUREAU_CALLS_PER_SECOND"])
        if rate > 0 and cfg["REDIS_URL"]:
            import redis

            client = redis.Redis.from_url(cfg["REDIS_URL"], socket_timeout=5)
            prefix = cfg["RATELIMIT_KEY_PREFIX"]
            ext["bureau_throttle"] = RedisThrottle(rate, client, f"{prefix}:bureau-1101-slot")
        else:
            ext["bureau_throttle"] = Throttle(rate)
    return ext["bureau_throttle"]
