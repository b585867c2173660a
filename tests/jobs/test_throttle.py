"""The bureau rate limit (app/jobs/throttle.py): calls are spaced 1/rate apart, in process and,
with Redis, across processes."""

from __future__ import annotations

import uuid

import pytest

from app.jobs.throttle import RedisThrottle, Throttle
from tests.jobs.test_celery_worker import BROKER, redis_reachable


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


# (case, rate per second, clock advance before each call, expected sleeps)
CASES = [
    # 4 calls at once at 2/s: slots at 0, 0.5, 1.0, 1.5 s -> waits 0, 0.5, 0.5, 0.5 after the
    # previous call's own sleep moved the clock on.
    ("burst at 2 per second", 2, [0, 0, 0, 0], [0.5, 0.5, 0.5]),
    # Calls already 1 s apart at 2/s never wait.
    ("slow caller", 2, [0, 1, 1, 1], []),
    # At 4/s, a call 0.1 s after the previous one waits the remaining 0.15 s (0.25 - 0.1).
    ("close calls at 4 per second", 4, [0, 0.1, 0.1], [0.15, 0.15]),
    # 0 means no limit.
    ("no limit", 0, [0, 0, 0], []),
]


@pytest.mark.parametrize("case,rate,advances,sleeps", CASES, ids=[c[0] for c in CASES])
def test_calls_are_spaced(case, rate, advances, sleeps):
    clock = FakeClock()
    throttle = Throttle(rate, clock=clock, sleep=clock.sleep)
    for advance in advances:
        clock.now += advance
        throttle.acquire()
    assert clock.slept == sleeps


@pytest.mark.skipif(not redis_reachable(), reason=f"needs Redis at {BROKER}")
def test_two_processes_share_one_schedule_through_redis():
    """Two throttles on one Redis key (two workers): 6 reservations at 10/s without sleeping
    in between are spread over 0.5 s, 0.1 s apart, whichever throttle took them."""
    import redis

    client = redis.Redis.from_url(BROKER)
    key = f"huimin-test:bureau-slot:{uuid.uuid4().hex}"
    first, second = RedisThrottle(10, client, key), RedisThrottle(10, client, key)
    try:
        waits = [(first if n % 2 else second).reserve() for n in range(6)]
    finally:
        client.delete(key)
    # Each wait is the previous one + 0.1 s, minus the little time Redis calls take.
    assert waits[0] < 0.05
    for before, after in zip(waits, waits[1:]):
        assert 0.07 <= after - before <= 0.1 + 1e-6, waits
    assert 0.42 <= waits[-1] <= 0.5
