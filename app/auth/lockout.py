"""Failed staff sign-ins limited per account, beside the per-address login limit.

The per-address limit (RATE_LIMIT_LOGIN) does not stop a guesser who spreads one account's
guesses over many addresses. This one counts the failed sign-ins (answers 401) of a username,
whichever address and whichever door (POST /auth/staff/login, the console's sign-in form) they
came through; over RATE_LIMIT_STAFF_LOGIN_FAILURES every sign-in of that username is refused,
the right password too, with 429 `staff_login_locked` and Retry-After until the window ends
(flask-limiter's fixed window, in the shared limit storage: Redis in production; when it is
down, the in-process fallback, as for the other route limits). Successful sign-ins are not
counted. The key is a digest of the username, whether or not an account has it, so the lock
says nothing about which accounts exist, and no typed name is kept in the storage. The lock is
audited (`staff.login_locked`, the account if there is one) once per window, not per refusal.

The operator can see a username's lock (`lock_state`) and lift it (`release`: the failure window
and the "audited" mark are cleared, so the next failures count from zero and a new lock is
audited again); app.auth.accounts checks the role and audits (`staff.login_unlocked`). Both read
the shared storage and, when it is unreachable, this process's in-process fallback, which is
where flask-limiter counts while Redis is down (each worker its own: an unlock then reaches only
the worker that ran it, and the report says so: storage "fallback").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Response, current_app, request
from flask_limiter import RequestLimit
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.strategies import RateLimiter
from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.models import StaffAccount
from app.database import transaction
from app.error_catalogue import E
from app.errors import DomainError
from app.ratelimit import limiter, route_limit_counters, route_limit_identifiers

SCOPE = "staff-login-account"
AUDITED = "audited"  # the last identifier of the audited-once mark's key


def _limit() -> str:
    return current_app.config["RATE_LIMIT_STAFF_LOGIN_FAILURES"]


def _username() -> str:
    """The username the sign-in names: a JSON body's (the API) or the form's (the console)."""
    body = request.get_json(silent=True) if request.is_json else None
    name = body.get("username") if isinstance(body, dict) else request.form.get("username")
    return name.strip() if isinstance(name, str) else ""


def key_of(username: str) -> str:
    """The limit's key for a username (as typed, trimmed): a digest, never the name."""
    return "staff:" + hashlib.sha256(username.strip().encode("utf-8")).hexdigest()[:32]


def _key() -> str:
    return key_of(_username())


def _failed(response: Response) -> bool:
    return response.status_code == 401


def locked_error(request_limit: RequestLimit) -> DomainError:
    """The 429 for a locked account, and the lock's audit row (once per window)."""
    seconds = max(1, int(request_limit.reset_at - time.time()) + 1)
    _audit_once(request_limit)
    return E.staff_login_locked(
        f"该账号登录失败次数过多，已暂时锁定，请 {-(-seconds // 60)} 分钟后再试，"
        "或联系运维人员解除锁定",
        headers={"Retry-After": str(seconds)},
    )


def _once(item: RateLimitItem) -> RateLimitItem:
    """ "1 per" the lock's window: the mark that the window's lock has been audited."""
    return type(item)(1, item.multiples)


def _audit_once(request_limit: RequestLimit) -> None:
    item = request_limit.limit
    if not request_limit.limiter.hit(_once(item), *request_limit.request_args, AUDITED):
        return
    channel = "web" if request.blueprint == "console" else "api"
    with transaction() as session:
        account_id = session.scalar(
            select(StaffAccount.id).where(StaffAccount.username == _username())
        )
        audit(
            session,
            actor_type="system",
            actor_id=None,
            action="staff.login_locked",
            object_type="staff_account",
            object_id=account_id,
            detail={"channel": channel},
        )


def per_account_limit(on_breach: Callable[[RequestLimit], Response]):
    """The decorator for a staff sign-in route: one budget shared by both doors."""
    return limiter.shared_limit(
        _limit, scope=SCOPE, key_func=_key, deduct_when=_failed, on_breach=on_breach
    )


# --- the operator's view and unlock ---------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One limit's current window for a username, as the storage holds it."""

    amount: int  # failures allowed per window (the 5 of "5 per 15 minutes")
    count: int  # failures counted in the current window
    reset_at: float  # when the current window ends (epoch seconds)


@dataclass(frozen=True)
class LockState:
    locked: bool  # the next sign-in of the username is refused with staff_login_locked
    failures: int  # failed sign-ins counted in the current window (the highest, over the limits)
    locked_until: datetime | None  # when the lock ends by itself (UTC); None when not locked
    storage: str  # "shared": the limit storage every worker uses; "fallback": see the module


def lock_state_of(windows: Iterable[Window], storage: str) -> LockState:
    """Pure: a username is locked while any of its windows has counted its full amount (the
    sign-in tests the limit before counting, so count == amount refuses); the lock lasts until
    the latest of the full windows ends."""
    windows = list(windows)
    full = [w.reset_at for w in windows if w.count >= w.amount]
    return LockState(
        locked=bool(full),
        failures=max((w.count for w in windows), default=0),
        locked_until=datetime.fromtimestamp(max(full), UTC) if full else None,
        storage=storage,
    )


def _items() -> list[RateLimitItem]:
    return parse_many(_limit())


def _windows(strategy: RateLimiter, key: str) -> list[Window]:
    ids = route_limit_identifiers(key, SCOPE)
    out = []
    for item in _items():
        stats = strategy.get_window_stats(item, *ids)
        out.append(Window(item.amount, item.amount - stats.remaining, stats.reset_time))
    return out


def _clear(strategy: RateLimiter, key: str) -> None:
    ids = route_limit_identifiers(key, SCOPE)
    for item in _items():
        strategy.clear(item, *ids)
        strategy.clear(_once(item), *ids, AUDITED)


def lock_state(username: str) -> LockState:
    """The username's lock as the next sign-in would meet it: in the shared storage, or, when
    that is unreachable, in this process's fallback."""
    shared, fallback = route_limit_counters()
    key = key_of(username)
    try:
        return lock_state_of(_windows(shared, key), "shared")
    except StorageError:
        if fallback is None:
            raise
        return lock_state_of(_windows(fallback, key), "fallback")


@dataclass(frozen=True)
class Release:
    before: LockState  # what was cleared (the fallback's windows included)
    after: LockState  # read again after clearing: not locked, no failures


def release(username: str, *, with_fallback: bool = True) -> Release:
    """Clear the username's failure windows and its audited mark in this process's fallback
    and in the shared storage. With the shared storage unreachable only the fallback is
    cleared (storage "fallback"); raises StorageError when there is no fallback, or when
    `with_fallback` is False (a command's process: its own fallback counts no sign-in)."""
    shared, fallback = route_limit_counters()
    if not with_fallback:
        fallback = None
    key = key_of(username)
    windows: list[Window] = []
    if fallback is not None:  # counted in while Redis was down; stale counts would lock again
        windows += _windows(fallback, key)
        _clear(fallback, key)
    try:
        windows += _windows(shared, key)
        _clear(shared, key)
        after = lock_state_of(_windows(shared, key), "shared")
    except StorageError:
        if fallback is None:
            raise
        after = lock_state_of(_windows(fallback, key), "fallback")
    return Release(before=lock_state_of(windows, after.storage), after=after)
