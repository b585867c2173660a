"""Who is calling: decode the bearer token for the audience a route expects, and check roles.

Routes use the Blueprint helpers `member_required` / `staff_required(*roles)` (app/api.py), which
call into here and document the security scheme and the 401/403 they can return.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from flask import current_app, g, request

from app.auth.tokens import TokenInvalid, TokenService, credential_fingerprint
from app.error_catalogue import E, error

if TYPE_CHECKING:
    from app.auth.models import StaffAccount


@dataclass(frozen=True)
class Principal:
    kind: str  # "member" | "staff"
    id: int
    role: str  # "member" or a staff role
    organisation_id: int | None = None


def token_service() -> TokenService:
    ext = current_app.extensions
    if "token_service" not in ext:
        cfg = current_app.config
        ext["token_service"] = TokenService(
            cfg["JWT_KEYS"], cfg["JWT_ISSUER"], cfg["ACCESS_TOKEN_SECONDS"]
        )
    return ext["token_service"]


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise E.token_missing()
    return token.strip()


def _decode(audience_key: str) -> dict:
    try:
        return token_service().decode_access(_bearer(), current_app.config[audience_key])
    except TokenInvalid as exc:
        # Every TokenInvalid code is catalogued with its message (token_expired, token_audience...).
        raise error(exc.code) from None


def _subject_id(claims: dict, prefix: str) -> int:
    kind, _, raw = str(claims["sub"]).partition(":")
    if kind != prefix or not raw.isdigit():
        raise E.token_invalid()
    return int(raw)


def authenticate_member() -> Principal:
    """A member's access token must name the session it was issued with (`rid`, its refresh
    token row, app.auth.services.issue_tokens), and that session must not be revoked: one read by
    primary key per request, so a logout ends the access token at once. The same read takes
    whether the account is closed and its latest personal-information consent, which the
    consent gate uses in this request (g.member_privacy, app/members/privacy.py)."""
    claims = _decode("JWT_MEMBER_AUDIENCE")
    member_id = _subject_id(claims, "member")
    rid = claims.get("rid")
    if type(rid) is not int:
        raise E.token_invalid()
    state = _session_state(rid, member_id)
    if state is None or not state[0]:
        raise E.refresh_token_revoked()  # logged out, or the family revoked on reuse
    g.member_privacy = (member_id, state[1], state[2])
    principal = Principal(kind="member", id=member_id, role="member")
    g.principal = principal
    return principal


def _session_state(rid: int, member_id: int) -> tuple[bool, bool, str | None] | None:
    """(session live, account closed, latest personal-information consent purpose), or None
    when no such session of this member exists."""
    from app.database import autocommit_read

    query, params = _statements()["member"], {"rid": rid, "subject_id": member_id}
    row = autocommit_read(lambda session: session.execute(query, params).first())
    return None if row is None else (bool(row[0]), bool(row[1]), row[2])


@cache
def _statements() -> dict:
    """The two sessions' reads, built once (every request runs one; building a statement's
    expression costs more CPU than sending it), with bound parameters rid and subject_id."""
    from sqlalchemy import Integer, and_, bindparam, select

    from app.auth.models import RefreshToken, StaffAccount
    from app.members.models import Consent, Member, latest_pi_consent

    rid, subject = bindparam("rid", type_=Integer), bindparam("subject_id", type_=Integer)
    latest = latest_pi_consent(Member.id).with_only_columns(Consent.purpose).scalar_subquery()
    member = (
        select(RefreshToken.revoked_at.is_(None), Member.closed_at.is_not(None), latest)
        .join(Member, Member.id == RefreshToken.subject_id)
        .where(
            RefreshToken.id == rid,
            RefreshToken.subject_type == "member",
            RefreshToken.subject_id == subject,
        )
    )
    staff = (
        select(StaffAccount, RefreshToken.id, RefreshToken.revoked_at)
        .outerjoin(
            RefreshToken,
            and_(
                RefreshToken.id == rid,
                RefreshToken.subject_type == "staff",
                RefreshToken.subject_id == StaffAccount.id,
            ),
        )
        .where(StaffAccount.id == subject)
    )
    return {"member": member, "staff": staff}


def authenticate_staff(roles: tuple[str, ...]) -> Principal:
    """Staff are few and powerful: their account is read on every request, so a disabled or
    re-roled account loses access at once rather than when its 15-minute token expires. As a
    member's, a staff access token names the session it was issued with (`rid`), and the same
    read (the session's refresh token row joined to the account) refuses it once that session
    is logged out or its family revoked on reuse."""
    claims = _decode("JWT_STAFF_AUDIENCE")
    staff_id = _subject_id(claims, "staff")
    rid = claims.get("rid")
    if type(rid) is not int:
        raise E.token_invalid()
    account, session_live = _staff_state(rid, staff_id)
    if account is None or not account.active:
        raise E.account_disabled()
    if claims.get("role") != account.role or claims.get("org") != account.organisation_id:
        raise E.token_stale_role()
    if claims.get("pwd") != credential_fingerprint(account.password_hash):
        raise E.token_stale_credentials()  # the password was reset since the token was issued
    if not session_live:  # after the two above, which say more (each also ends the sessions)
        raise E.refresh_token_revoked()  # logged out, or the family revoked on reuse
    principal = Principal(
        kind="staff", id=account.id, role=account.role, organisation_id=account.organisation_id
    )
    g.principal = principal
    if roles and principal.role not in roles:
        raise E.role_forbidden()
    return principal


def _staff_state(rid: int, staff_id: int) -> tuple[StaffAccount | None, bool]:
    """(the staff account or None, whether session `rid` of that account is live): one
    statement, the account outer-joined to its refresh token row."""
    from app.database import get_session

    params = {"rid": rid, "subject_id": staff_id}
    row = get_session().execute(_statements()["staff"], params).first()
    if row is None:
        return None, False
    account, session_id, revoked_at = row
    return account, session_id is not None and revoked_at is None


def current_principal() -> Principal:
    return g.principal
