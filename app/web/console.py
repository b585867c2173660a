"""Console pages: sign-in, sign-out, the home page."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for

from app.auth import accounts, web_sessions
from app.auth.lockout import locked_error, per_account_limit
from app.auth.models import STAFF_ROLES
from app.error_catalogue import E
from app.errors import DomainError
from app.ratelimit import limiter
from app.web.session import (
    SESSION_COOKIE,
    clear_session_cookie,
    current_session,
    safe_next,
    set_session_cookie,
    staff_page,
)

blp = Blueprint("console", __name__, url_prefix="/console")


def _login_limit() -> str:
    return current_app.config["RATE_LIMIT_LOGIN"]


@blp.get("/sign-in")
def sign_in():
    if current_session() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template(
        "web/console/sign_in.html",
        next=safe_next(request.args.get("next")),
        expired=request.args.get("expired") == "1" or g.get("web_session_expired", False),
        error=None,
        username="",
    )


def _sign_in_page(error: str, username: str, status: int):
    page = render_template(
        "web/console/sign_in.html",
        next=safe_next(request.form.get("next")),
        expired=False,
        error=error,
        username=username,
    )
    return page, status


def _locked(request_limit) -> Response:
    error = locked_error(request_limit)
    page, status = _sign_in_page(error.detail, request.form.get("username", "").strip(), 429)
    return Response(page, status=status, headers=error.headers, mimetype="text/html")


@blp.post("/sign-in")
@limiter.limit(_login_limit)
@per_account_limit(_locked)
def sign_in_submit():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    try:
        token, _ = web_sessions.sign_in(username, password, request.cookies.get(SESSION_COOKIE))
    except DomainError as exc:
        return _sign_in_page(exc.detail, username, exc.status)
    response = redirect(target)
    g.web_clear_cookie = False
    set_session_cookie(response, token)
    return response


@blp.post("/sign-out")
def sign_out():
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        web_sessions.sign_out(token)
    response = redirect(url_for("console.sign_in"))
    clear_session_cookie(response)
    return response


@blp.get("/")
@staff_page()
def home():
    return render_template("web/console/home.html")


# --- staff accounts (operator) -----------------------------------------------------------------

ACCOUNT_NOTICES = {
    "created": "账号已创建",
    "disabled": "账号已停用，其登录会话已全部结束",
    "enabled": "账号已启用",
    "password": "密码已重置，该账号需用新密码重新登录",
    "role": "角色与机构已更新，该账号需重新登录",
    "unlocked": "登录锁定已解除，该账号可以重新登录",
    "unlocked_fallback": "限流存储（Redis）暂不可用：只解除了本服务进程内的锁定，"
    "其他进程内的锁定到期后自动解除",
}


def _organisation_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    # ASCII digits only ("²" passes isdigit() but not int()), and short (int() refuses 4301+)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise E.staff_organisation_not_found()
    return int(raw)


def _accounts_page(status: int = 200, error: str | None = None, form: dict | None = None):
    page = render_template(
        "web/console/accounts.html",
        accounts=accounts.list_accounts(g.staff),
        organisations=accounts.organisation_choices(g.staff),
        roles=STAFF_ROLES,
        notice=ACCOUNT_NOTICES.get(request.args.get("done", "")),
        error=error,
        form=form or {},
    )
    return page, status


@blp.get("/accounts")
@staff_page("operator")
def account_list():
    return _accounts_page()


@blp.post("/accounts")
@staff_page("operator")
def account_create():
    form = request.form
    try:
        accounts.create_account(
            g.staff,
            username=form.get("username", "").strip(),
            role=form.get("role", ""),
            password=form.get("password", ""),
            display_name=form.get("display_name", "").strip(),
            organisation_id=_organisation_id(form.get("organisation_id")),
        )
    except DomainError as exc:
        kept = {k: form.get(k, "") for k in ("username", "display_name", "role", "organisation_id")}
        return _accounts_page(exc.status, exc.detail, kept)
    return redirect(url_for("console.account_list", done="created"))


def _account_page(account_id: int, status: int = 200, error: str | None = None):
    account = accounts.get_account(g.staff, account_id)
    try:
        login_lock = accounts.login_lock(g.staff, account_id)
    except DomainError as exc:
        if exc.code != "rate_limit_unavailable":
            raise
        login_lock = None  # the page still serves disabling, roles and password resets
    page = render_template(
        "web/console/account.html",
        account=account,
        login_lock=login_lock,
        organisations=accounts.organisation_choices(g.staff),
        roles=STAFF_ROLES,
        notice=ACCOUNT_NOTICES.get(request.args.get("done", "")),
        error=error,
    )
    return page, status


@blp.get("/accounts/<int:account_id>")
@staff_page("operator")
def account_detail(account_id: int):
    return _account_page(account_id)


def _account_action(account_id: int, done: str, action):
    try:
        action()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _account_page(account_id, exc.status, exc.detail)
    return redirect(url_for("console.account_detail", account_id=account_id, done=done))


@blp.post("/accounts/<int:account_id>/disable")
@staff_page("operator")
def account_disable(account_id: int):
    return _account_action(
        account_id, "disabled", lambda: accounts.set_active(g.staff, account_id, False)
    )


@blp.post("/accounts/<int:account_id>/enable")
@staff_page("operator")
def account_enable(account_id: int):
    return _account_action(
        account_id, "enabled", lambda: accounts.set_active(g.staff, account_id, True)
    )


@blp.post("/accounts/<int:account_id>/password")
@staff_page("operator")
def account_password(account_id: int):
    password = request.form.get("password", "")
    return _account_action(
        account_id, "password", lambda: accounts.reset_password(g.staff, account_id, password)
    )


@blp.post("/accounts/<int:account_id>/role")
@staff_page("operator")
def account_role(account_id: int):
    def assign():
        accounts.assign_role(
            g.staff,
            account_id,
            request.form.get("role", ""),
            _organisation_id(request.form.get("organisation_id")),
        )

    return _account_action(account_id, "role", assign)


@blp.post("/accounts/<int:account_id>/login-lock/release")
@staff_page("operator")
def account_unlock(account_id: int):
    """Lift the account's sign-in lock (the same service as POST /staff/accounts/{id}/
    login-lock/release); not locked: the same notice, nothing changed."""
    view = accounts.release_login_lock(g.staff, account_id, "web")
    done = "unlocked" if view.storage == "shared" else "unlocked_fallback"
    return redirect(url_for("console.account_detail", account_id=account_id, done=done))
