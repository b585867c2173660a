"""Rate limits (flask-limiter): in memory by default, shared in Redis when REDIS_URL is set.

Route-level limits use the decorator; limits keyed on something inside the request body (the
identity being verified) are checked from the service with `hit()`.
"""
from __future__ import annotations

import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from app.errors import RateLimited

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "huimin")
    limiter.init_app(app)


def hit(limit: str, scope: str, key: str) -> None:
    """Count one attempt against `limit` for (scope, key); raise RateLimited when over."""
    if not limiter.enabled:
        return
    item = parse(limit)
    strategy = limiter.limiter
    if not strategy.hit(item, scope, key):
        reset_at = strategy.get_window_stats(item, scope, key).reset_time
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(headers={"Retry-After": str(retry_after)})
