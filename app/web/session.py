"""The staff console's session, CSRF protection, error pages and the `staff_page` decorator.

- Signed in: cookie `huimin_console` holds an opaque token (app/auth/web_sessions.py keeps its
  digest): HttpOnly, SameSite=Lax, Path=/console, Secure unless WEB_COOKIE_SECURE is off
  (development and testing). A new token at every sign-in (session fixation).
- CSRF: every POST/PUT/PATCH/DELETE to a page route carries the token, as the form field
  `csrf_token` or the header `X-CSRF-Token`. Signed in, it is the session's own token; before
  sign-in (the sign-in form) it is a double-submit value held in cookie `huimin_console_csrf`.
  A request whose Origin header names another site is refused as well.
- `staff_page(*roles)`: not signed in (or idle past WEB_SESSION_IDLE_SECONDS) -> 302 to
  /console/sign-in?next=...; signed in with another role -> 403 page. Sets `g.staff` and
  `g.principal` to the same Principal the API builds from a staff token, so services scope
  by role and organisation exactly as they do for the API.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from app.api import problem_response
from app.auth import web_sessions
from app.auth.principal import Principal
from app.auth.services import KIND_LABELS, ROLE_LABELS
from app.common.clock import SHANGHAI
from app.error_catalogue import E
from app.errors import HTTP_ERROR_MESSAGES, DomainError

log = logging.getLogger(__name__)

SESSION_COOKIE = "huimin_console"
CSRF_COOKIE = "huimin_console_csrf"
COOKIE_PATH = "/console"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Pages may load only this origin's scripts, styles, images and frames (no CDN, no inline
# script); nobody may frame them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'self'; frame-src 'self'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)


# --- the session -------------------------------------------------------------------------------


def current_session() -> web_sessions.WebSession | None:
    """The signed-in console session of this request (read once per request), or None."""
    if "web_session" not in g:
        token = request.cookies.get(SESSION_COOKIE)
        found = web_sessions.resolve(token) if token else None
        g.web_session = found
        # A cookie that names no live session (ended, idle, forged) is cleared.
        g.web_clear_cookie = bool(token) and found is None
        g.web_session_expired = g.web_clear_cookie
    return g.web_session


def set_session_cookie(response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=current_app.config["WEB_SESSION_MAX_SECONDS"],
        path=COOKIE_PATH,
        secure=current_app.config["WEB_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        secure=current_app.config["WEB_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def _principal(web: web_sessions.WebSession) -> Principal:
    return Principal(
        kind="staff", id=web.staff_id, role=web.role, organisation_id=web.organisation_id
    )


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a console path on this site, never another host (and nothing
    a Location header cannot carry: a control character there would be a 500)."""
    if not target:
        return url_for("console.home")
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not parts.path.startswith("/console")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return url_for("console.home")
    return target


def staff_page(*roles: str):
    """The page needs a signed-in staff member with one of `roles` (any role if empty)."""

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            web = current_session()
            if web is None:
                target = request.full_path if request.method == "GET" else request.path
                args_ = {"next": target.rstrip("?")}
                if g.get("web_session_expired"):
                    args_["expired"] = "1"
                return redirect(url_for("console.sign_in", **args_))
            g.staff = g.principal = _principal(web)
            if roles and web.role not in roles:
                return web_error(403, "您的角色无权查看此页面")
            return func(*args, **kwargs)

        return wrapper

    return decorator


# --- CSRF --------------------------------------------------------------------------------------


def csrf_token() -> str:
    """The token forms and fetch() must send back (a Jinja global)."""
    web = current_session()
    if web is not None:
        return web.csrf_token
    if "web_anon_csrf" not in g:
        existing = request.cookies.get(CSRF_COOKIE, "")
        if len(existing) >= 32:
            g.web_anon_csrf = existing
        else:
            g.web_anon_csrf = secrets.token_urlsafe(32)
            g.web_set_anon_csrf = True
    return g.web_anon_csrf


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return origin.rstrip("/") == request.host_url.rstrip("/")


def check_csrf() -> None:
    """before_request of every page blueprint: refuse an unsafe request without the token."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    web = current_session()
    expected = web.csrf_token if web is not None else request.cookies.get(CSRF_COOKIE, "")
    if (
        not _same_origin()
        or not sent
        or not expected
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise E.web_csrf_invalid()


def page_headers(response):
    """after_request of every page blueprint: cookies to set or clear, and security headers."""
    if g.get("web_clear_cookie"):
        clear_session_cookie(response)
    if g.get("web_set_anon_csrf"):
        response.set_cookie(
            CSRF_COOKIE,
            g.web_anon_csrf,
            path=COOKIE_PATH,
            secure=current_app.config["WEB_COOKIE_SECURE"],
            httponly=True,
            samesite="Strict",
        )
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# --- errors ------------------------------------------------------------------------------------


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or bool(request.headers.get("X-CSRF-Token"))


def web_error(status: int, message: str, code: str | None = None, errors=None):
    """The Chinese error page (or problem JSON for a page's fetch() call)."""
    if _wants_json():
        fallback = HTTP_ERROR_MESSAGES.get(status, ("http_error", message))[0]
        return problem_response(status, code or fallback, message, errors)
    return render_template("web/error.html", status=status, message=message), status


def _domain_error(error: DomainError):
    return web_error(error.status, error.detail, error.code, error.errors)


def _http_error(error: HTTPException):
    status = error.code or 500
    if status == 429 and error.response is not None:
        return error.response  # a limit's own answer (on_breach): the locked sign-in page
    code, message = HTTP_ERROR_MESSAGES.get(status, ("http_error", "请求无法处理"))
    return web_error(status, message, code)


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):  # pragma: no cover - routed to _http_error
        return _http_error(error)
    log.exception("unhandled page error", extra={"error_type": type(error).__name__})
    if current_app.config["TESTING"] and current_app.config["RAISE_UNEXPECTED"]:
        raise error
    return web_error(500, HTTP_ERROR_MESSAGES[500][1])


def prepare_blueprint(blueprint) -> None:
    """What every page blueprint shares: CSRF check, headers, HTML error pages. Once per
    blueprint object (blueprints are module-level; create_app may run many times)."""
    if getattr(blueprint, "huimin_prepared", False):
        return
    blueprint.huimin_prepared = True
    blueprint.before_request(check_csrf)
    blueprint.after_request(page_headers)
    blueprint.register_error_handler(DomainError, _domain_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _unexpected)


def shanghai(moment: datetime | str | None) -> str:
    """A stored (UTC) time, or one dumped as ISO 8601, as people in the city read it:
    2026-11-23 10:00."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with thousands separators: 1234567 -> 12,345.67."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def label(code: str | None, labels: Mapping[str, str]) -> str:
    """A code's Chinese label (`{{ f.code|label(flag_labels) }}`), never the English code: every
    code list a page shows has its labels (tests/web/test_labels.py walks them), so a code
    without one is stored data older than its label: it reads 其他, and the log says which."""
    if code is None or code == "":
        return "—"
    found = labels.get(code)
    if found is None:
        log.warning("no Chinese label for a code shown on a page", extra={"code": str(code)[:40]})
        return "其他"
    return found


def init_not_found(app: Flask) -> None:
    """A console URL no route matches (an unknown path, an id out of the database's range) gets
    the Chinese 404 page too; any other path the API's problem answer."""
    api = app.extensions["huimin_api"]

    def not_found(error: NotFound):
        if request.path.startswith(COOKIE_PATH):
            # no blueprint matched, so none looked the session up: the page's header (who is
            # signed in, the menu, sign-out) needs it
            current_session()
            return _http_error(error)
        return api.handle_http_exception(error)

    app.register_error_handler(NotFound, not_found)


def init_templates(app: Flask) -> None:
    app.add_template_global(csrf_token, "csrf_token")
    app.add_template_filter(shanghai, "shanghai")
    app.add_template_filter(yuan, "yuan")
    app.add_template_filter(label, "label")

    @app.context_processor
    def _console_context():
        # Only on page requests with a session looked up; API requests never render templates.
        web = g.get("web_session")
        return {"console_staff": web, "role_labels": ROLE_LABELS, "kind_labels": KIND_LABELS}
