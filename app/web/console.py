"""Console pages: sign-in, sign-out, the home page."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from app.auth import web_sessions
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


@blp.post("/sign-in")
@limiter.limit(_login_limit)
def sign_in_submit():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    try:
        token, _ = web_sessions.sign_in(username, password, request.cookies.get(SESSION_COOKIE))
    except DomainError as exc:
        page = render_template(
            "web/console/sign_in.html",
            next=target,
            expired=False,
            error=exc.detail,
            username=username,
        )
        return page, exc.status
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
