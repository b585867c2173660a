"""Rate limits (flask-limiter): in memory by default, shared in Redis when REDIS_URL is set.

Route-level limits use the decorator; limits keyed on something inside the request body (the
identity being verified) are checked from the service with `hit()`.
"""

from __future__ import annotations

import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from app.errors import RateLimited

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")

    @app.after_request
    def _retry_after_only_when_refused(response):
        # flask-limiter adds Retry-After to every response of a limited route; a client that
        # obeys it would wait after a success. Keep it only where it means something.
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)


def hit(limit: str, scope: str, key: str) -> None:
    """Count one attempt against `limit` for (scope, key); raise RateLimited when over."""
    hit_all([(limit, scope, key)])


def hit_all(limits: list[tuple[str, str, str]]) -> None:
    """Test every (limit, scope, key) first and count the attempt against all of them only if
    every one allows it; otherwise raise RateLimited with the longest Retry-After."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    items = [(parse(limit), f"{prefix}:{scope}", key) for limit, scope, key in limits]
    refused = [
        (item, scope, key) for item, scope, key in items if not strategy.test(item, scope, key)
    ]
    if refused:
        reset_at = max(strategy.get_window_stats(*r).reset_time for r in refused)
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(headers={"Retry-After": str(retry_after)})
    for item, scope, key in items:
        strategy.hit(item, scope, key)
