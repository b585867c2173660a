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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from flask import Response, current_app, request
from flask_limiter import RequestLimit
from sqlalchemy import select

from app.audit.services import record as audit
from app.auth.models import StaffAccount
from app.database import transaction
from app.error_catalogue import E
from app.errors import DomainError
from app.ratelimit import limiter

SCOPE = "staff-login-account"


def _limit() -> str:
    return current_app.config["RATE_LIMIT_STAFF_LOGIN_FAILURES"]


def _username() -> str:
    """The username the sign-in names: a JSON body's (the API) or the form's (the console)."""
    body = request.get_json(silent=True) if request.is_json else None
    name = body.get("username") if isinstance(body, dict) else request.form.get("username")
    return name.strip() if isinstance(name, str) else ""


def _key() -> str:
    return "staff:" + hashlib.sha256(_username().encode("utf-8")).hexdigest()[:32]


def _failed(response: Response) -> bool:
    return response.status_code == 401


def locked_error(request_limit: RequestLimit) -> DomainError:
    """The 429 for a locked account, and the lock's audit row (once per window)."""
    seconds = max(1, int(request_limit.reset_at - time.time()) + 1)
    _audit_once(request_limit)
    return E.staff_login_locked(
        f"该账号登录失败次数过多，已暂时锁定，请 {-(-seconds // 60)} 分钟后再试",
        headers={"Retry-After": str(seconds)},
    )


def _audit_once(request_limit: RequestLimit) -> None:
    item = request_limit.limit
    once = type(item)(1, item.multiples)  # "1 per" the lock's window
    if not request_limit.limiter.hit(once, *request_limit.request_args, "audited"):
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
