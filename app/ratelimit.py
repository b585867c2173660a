"""Rate limits (flask-limiter): in memory by default, shared in Redis when REDIS_URL is set.

Route-level limits use the decorator; limits keyed on something inside the request body (the
identity being verified) are checked from the service with `hit()`.

Whom a limit counts: the signed-in member or staff account when the request has already been
authenticated, else the client's address, which behind the reverse proxy is the real one
(app/proxy.py), not the proxy's.

When the storage (Redis) is down, each kind of limit does what docs/ratelimits.md says, never a
500, and the outage is logged once when it starts and once when it ends, not per request:

- route limits (login, refresh, staff login) fail open onto an in-process copy of the same
  limits (flask-limiter's in-memory fallback; it probes Redis again with backoff and goes back
  when it answers): people can still sign in, and each worker still caps guessing;
- limits checked by services (`hit_all`: identity verification, which guards the bureau's quota
  and the enumeration of ID numbers) refuse with 503 rate_limit_unavailable and Retry-After: a
  per-process count would multiply the city-wide and per-person budgets by the worker count.
  Redis is asked again after RATE_LIMIT_OUTAGE_RETRY_SECONDS, not on every request.

`/readyz` reports the outage (status "degraded", app/ops/health.py).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from limits import parse
from limits.errors import StorageError
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from app.error_catalogue import E
from app.errors import RateLimited

log = logging.getLogger(__name__)


def client_key() -> str:
    """The account when the request is already authenticated, else the client's address."""
    principal = g.get("principal")
    if principal is not None:
        return f"{principal.kind}:{principal.id}"
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_key, headers_enabled=True)


class _Outage:
    """Whether the service-level limits found the storage down, and until when to believe it.
    One per app (so per worker process); the lock makes "log once" hold across its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retry_at: float | None = None

    def down(self, retry_seconds: float) -> bool:
        """Record a failure; True when this starts an outage (the caller logs it)."""
        with self._lock:
            started = self.retry_at is None
            self.retry_at = time.monotonic() + retry_seconds
            return started

    def up(self) -> bool:
        with self._lock:
            ended = self.retry_at is not None
            self.retry_at = None
            return ended

    def seconds_left(self) -> float:
        """> 0 while requests should be refused without asking the storage again."""
        with self._lock:
            return 0.0 if self.retry_at is None else self.retry_at - time.monotonic()

    @property
    def active(self) -> bool:
        return self.retry_at is not None


def _outage() -> _Outage:
    return current_app.extensions.setdefault("ratelimit_outage", _Outage())


def storage_degraded() -> bool:
    """True while either kind of limit is running without its shared storage."""
    # flask-limiter keeps its fallback state in a private attribute; read, never written.
    return _outage().active or bool(getattr(limiter, "_storage_dead", False))


def init_app(app: Flask) -> None:
    redis_url = app.config["REDIS_URL"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # The storage error that turns flask-limiter over to its in-process fallback is itself
    # swallowed (logged, the request let through), so the request that meets the outage first
    # is not a 500 either (found by the fault suite: one refresh per outage answered 500).
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if redis_url:
        timeout = app.config["RATE_LIMIT_STORAGE_TIMEOUT_SECONDS"]
        # Short timeouts: a hung Redis costs a request this long, once per outage and probe.
        # wrap_exceptions: the storage raises limits' StorageError, whatever the driver's.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "wrap_exceptions": True,
            },
        )

    @app.after_request
    def _retry_after_only_when_refused(response):
        # flask-limiter adds Retry-After to every response of a limited route; a client that
        # obeys it would wait after a success. Keep it only where it means something.
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)
    # flask-limiter keeps "storage dead, use the fallback" on the one Limiter object, across
    # init_app: an app built later in the same process (tests, the CLI) starts with its own
    # storage presumed alive, as a fresh worker does.
    limiter._storage_dead = False


def hit(limit: str, scope: str, key: str) -> None:
    """Count one attempt against `limit` for (scope, key); raise RateLimited when over."""
    hit_all([(limit, scope, key)])


def _unavailable(retry_seconds: float):
    return E.rate_limit_unavailable(headers={"Retry-After": str(max(1, round(retry_seconds)))})


def hit_all(limits: list[tuple[str, str, str]]) -> None:
    """Test every (limit, scope, key) first and count the attempt against all of them only if
    every one allows it; otherwise raise RateLimited with the longest Retry-After. With the
    storage down: 503 rate_limit_unavailable (see the module's docstring)."""
    if not limiter.enabled:
        return
    retry_seconds = float(current_app.config["RATE_LIMIT_OUTAGE_RETRY_SECONDS"])
    outage = _outage()
    if (left := outage.seconds_left()) > 0:
        raise _unavailable(left)
    # The shared storage itself, never flask-limiter's in-memory fallback.
    strategy = _strategy()
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    items = [(parse(limit), f"{prefix}:{scope}", key) for limit, scope, key in limits]
    try:
        refused = [
            (item, scope, key) for item, scope, key in items if not strategy.test(item, scope, key)
        ]
        if refused:
            reset_at = max(strategy.get_window_stats(*r).reset_time for r in refused)
        else:
            for item, scope, key in items:
                strategy.hit(item, scope, key)
    except StorageError as exc:
        if outage.down(retry_seconds):
            log.error(
                "rate-limit storage unreachable: service-level limits refuse with 503",
                extra={"error_type": type(exc.storage_error).__name__},
            )
        raise _unavailable(retry_seconds) from None
    if outage.up():
        log.warning("rate-limit storage reachable again: service-level limits back")
    if refused:
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(headers={"Retry-After": str(retry_after)})


def route_limit_counters() -> tuple[RateLimiter, RateLimiter | None]:
    """Where the route limits (flask-limiter's decorators) count: the shared storage (Redis, or
    this process's memory in the embedded default) and this process's in-memory fallback, which
    flask-limiter counts in while the shared storage is down (None when the fallback is off).
    For reading and clearing one key's window (app/auth/lockout.py); requests never use these."""
    # flask-limiter keeps the fallback on a private attribute; read, never written.
    return _strategy(), getattr(limiter, "_fallback_limiter", None)


def route_limit_identifiers(key: str, scope: str) -> list[str]:
    """The identifiers flask-limiter puts in the storage key of a route limit for (key, scope):
    its key prefix (RATELIMIT_KEY_PREFIX as it was when the limiter was first set up), then the
    key and the scope (flask_limiter Limiter._check_request_limit)."""
    prefix = getattr(limiter, "_key_prefix", "")  # private, read only, as above
    return [prefix, key, scope] if prefix else [key, scope]


def _strategy() -> RateLimiter:
    """flask-limiter's own strategy (fixed window) over its configured storage (Redis or
    memory); cheap to make, it only holds the storage."""
    return FixedWindowRateLimiter(limiter.storage)
