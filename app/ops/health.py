"""Readiness checks: can this process reach what it needs to serve requests?

`/healthz` asks nothing (the process answers, so it is alive); `/readyz` runs the checks here: the
database with `SELECT 1` through the application's own engine (so a broken pool shows), and Redis
with PING when `REDIS_URL` is configured. Each check runs in a daemon thread with a deadline, so
a database that accepts the connection and then says nothing cannot hold the probe (or a
gunicorn worker thread) longer than `READINESS_TIMEOUT_SECONDS`; at most a few probes run at once,
so a hung dependency cannot pile up threads either.

Results name the dependency and a fixed word (ok, failed, timeout, not_configured, degraded);
exception messages, which carry hosts and ports, are never returned and logged only by type.

Only the database decides readiness. Redis holds the shared rate-limit counters, and every route
has a deliberate answer for its outage (app/ratelimit.py, docs/ratelimits.md), so a Redis outage
makes the process "degraded", still ready: taking every worker out of the load balancer because
the shared Redis is down would turn a partial outage into a whole one. `rate_limits` says whether
this process's limits are running without their shared storage right now.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import text

from app.ratelimit import storage_degraded

log = logging.getLogger(__name__)

OK, FAILED, TIMEOUT, NOT_CONFIGURED = "ok", "failed", "timeout", "not_configured"
DEGRADED = "degraded"
# A failure of these makes the process not ready; of the others, degraded.
REQUIRED = ("database",)
# Probes in flight at once, per process; past that a probe answers "timeout" at once.
_MAX_PROBES_IN_FLIGHT = 4
_in_flight = threading.BoundedSemaphore(_MAX_PROBES_IN_FLIGHT)


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return not any(name in REQUIRED for name in self.failed)

    @property
    def degraded(self) -> bool:
        return bool(self.failed)

    @property
    def failed(self) -> list[str]:
        return [name for name, result in self.checks.items() if result not in (OK, NOT_CONFIGURED)]


def run_with_deadline(name: str, probe: Callable[[], None], seconds: float) -> str:
    """Run `probe` in a daemon thread; ok if it returns within `seconds`."""
    if not _in_flight.acquire(blocking=False):
        log.warning(
            "readiness probe skipped: earlier probes still hang", extra={"dependency": name}
        )
        return TIMEOUT
    outcome: dict[str, str] = {}

    def run() -> None:
        try:
            probe()
            outcome["result"] = OK
        except Exception as exc:  # any failure means "not ready"; the type is enough to log
            outcome["result"] = FAILED
            outcome["error_type"] = type(exc).__name__
        finally:
            _in_flight.release()

    thread = threading.Thread(target=run, name=f"readyz-{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    result = outcome.get("result", TIMEOUT)
    if result != OK:
        log.warning(
            "readiness check failed",
            extra={"dependency": name, "result": result, "error_type": outcome.get("error_type")},
        )
    return result


def _database_probe(app: Flask) -> Callable[[], None]:
    engine = app.extensions["db_engine"]

    def probe() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    return probe


def _redis_client(app: Flask):
    """One client per app with short socket timeouts (the rate limiter keeps its own)."""
    client = app.extensions.get("readiness_redis")
    if client is None:
        import redis

        # A little longer than the probe's deadline, so a hung Redis is reported by the deadline
        # ("timeout") and the probe's thread still ends soon after.
        timeout = app.config["READINESS_TIMEOUT_SECONDS"] + 1.0
        client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            health_check_interval=0,
        )
        app.extensions["readiness_redis"] = client
    return client


def check_readiness() -> Readiness:
    # The app itself, not the context-bound proxy: the probes run in worker threads.
    # Flask annotates current_app as Flask, hiding the LocalProxy method.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    seconds = float(app.config["READINESS_TIMEOUT_SECONDS"])
    checks = {"database": run_with_deadline("database", _database_probe(app), seconds)}
    if app.config["REDIS_URL"]:
        client = _redis_client(app)

        def ping() -> None:
            if client.ping() is not True:
                raise RuntimeError("unexpected PING answer")

        checks["redis"] = run_with_deadline("redis", ping, seconds)
    else:
        checks["redis"] = NOT_CONFIGURED
    checks["rate_limits"] = DEGRADED if storage_degraded() else OK
    return Readiness(checks)
