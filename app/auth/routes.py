"""POST /auth/wechat/login, /auth/refresh, /auth/logout, /auth/staff/login."""

from __future__ import annotations

from flask import Response, current_app

from app.api import Blueprint, problem_response
from app.auth import services
from app.auth.lockout import locked_error, per_account_limit
from app.auth.schemas import (
    MemberLoginSchema,
    RefreshSchema,
    StaffLoginResultSchema,
    StaffLoginSchema,
    TokenPairSchema,
    WeChatLoginSchema,
)
from app.ratelimit import limiter

blp = Blueprint("auth", __name__, url_prefix="/auth", description="登录与令牌 Login and tokens")


def _login_limit() -> str:
    return current_app.config["RATE_LIMIT_LOGIN"]


@blp.route("/wechat/login", methods=["POST"])
@limiter.limit(_login_limit)
@blp.arguments(WeChatLoginSchema)
@blp.response(200, MemberLoginSchema)
@blp.errors(401, 429, 503)
def wechat_login(body):
    """Log in with a mini-program code (jscode2session); the account is created on first login."""
    pair, member, created = services.login_with_wechat(body["code"])
    return {
        **pair.__dict__,
        "member_id": member.id,
        "new_member": created,
        "identity_verified": member.person_id is not None,
    }


@blp.route("/refresh", methods=["POST"])
@limiter.limit(_login_limit)
@blp.arguments(RefreshSchema)
@blp.response(200, TokenPairSchema)
@blp.errors(401, 429)
def refresh(body):
    """Rotate a refresh token. Reusing a rotated token revokes the whole family."""
    return services.refresh(body["refresh_token"]).__dict__


@blp.route("/logout", methods=["POST"])
@blp.arguments(RefreshSchema)
@blp.response(204)
def logout(body):
    """Revoke the refresh-token family (this device's session)."""
    services.logout(body["refresh_token"])


def _locked(request_limit) -> Response:
    error = locked_error(request_limit)
    return problem_response(error.status, error.code, error.detail, headers=error.headers)


@blp.route("/staff/login", methods=["POST"])
@limiter.limit(_login_limit)
@per_account_limit(_locked)
@blp.arguments(StaffLoginSchema)
@blp.response(200, StaffLoginResultSchema)
@blp.errors(401, 429)
def staff_login(body):
    """Staff login (reviewers, operators, organisation admins) with username and password.
    Per address RATE_LIMIT_LOGIN; per username RATE_LIMIT_STAFF_LOGIN_FAILURES failed sign-ins,
    then 429 staff_login_locked until the window ends (app/auth/lockout.py)."""
    pair, account = services.login_staff(body["username"], body["password"])
    return {
        **pair.__dict__,
        "staff_id": account.id,
        "role": account.role,
        "organisation_id": account.organisation_id,
    }
