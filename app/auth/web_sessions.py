"""Staff console sessions (app/web/session.py holds the cookie; this module the rows).

The browser's cookie carries an opaque random token; the table keeps its SHA-256 digest, so a
copy of the database cannot be replayed as a cookie. Each public function owns its transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.audit.services import record as audit
from app.auth.models import StaffAccount, StaffWebSession
from app.auth.services import verify_staff_sign_in
from app.database import transaction, utcnow


@dataclass(frozen=True)
class WebSession:
    """A live session, as the pages need it (plain values, no ORM row)."""

    session_id: int
    staff_id: int
    username: str
    display_name: str
    role: str
    organisation_id: int | None
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(row: StaffWebSession, account: StaffAccount) -> WebSession:
    return WebSession(
        session_id=row.id,
        staff_id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        organisation_id=account.organisation_id,
        csrf_token=row.csrf_token,
    )


def sign_in(username: str, password: str, previous_token: str | None) -> tuple[str, WebSession]:
    """Check the credentials (401 staff_credentials_invalid) and open a new session: a fresh
    token, never the one the browser came with. That one, if it named a session, is ended, so a
    token planted in a browser before sign-in (session fixation) never becomes signed in."""
    token = secrets.token_urlsafe(32)
    with transaction() as session:
        account = verify_staff_sign_in(session, username, password, "web")
        if previous_token:
            _end(session, _digest(previous_token))
        row = StaffWebSession(
            token_hash=_digest(token),
            staff_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
        )
        session.add(row)
        session.flush()
        view = _view(row, account)
    return token, view


def _end(session, digest: str) -> int | None:
    row = session.scalar(
        select(StaffWebSession).where(
            StaffWebSession.token_hash == digest, StaffWebSession.ended_at.is_(None)
        )
    )
    if row is None:
        return None
    row.ended_at = utcnow()
    return row.staff_id


def sign_out(token: str) -> None:
    with transaction() as session:
        staff_id = _end(session, _digest(token))
        if staff_id is not None:
            audit(
                session,
                actor_type="staff",
                actor_id=staff_id,
                action="staff.logout",
                object_type="staff_account",
                object_id=staff_id,
                detail={"channel": "web"},
            )


def resolve(token: str) -> WebSession | None:
    """The live session `token` names, its last use moved to now; None (and the session ended)
    when it is unknown, ended, idle past WEB_SESSION_IDLE_SECONDS, older than
    WEB_SESSION_MAX_SECONDS, or its account was disabled since."""
    cfg = current_app.config
    now = utcnow()
    with transaction() as session:
        row = session.scalar(
            select(StaffWebSession).where(
                StaffWebSession.token_hash == _digest(token), StaffWebSession.ended_at.is_(None)
            )
        )
        if row is None:
            return None
        account = session.get(StaffAccount, row.staff_id)
        idle = now - row.last_seen_at > timedelta(seconds=cfg["WEB_SESSION_IDLE_SECONDS"])
        old = now - row.created_at > timedelta(seconds=cfg["WEB_SESSION_MAX_SECONDS"])
        if account is None or not account.active or idle or old:
            row.ended_at = now
            return None
        row.last_seen_at = now
        return _view(row, account)


def end_sessions_of(session, staff_id: int) -> None:
    """End every live console session of an account (it was disabled or its password reset).
    Inside the caller's transaction."""
    session.execute(
        update(StaffWebSession)
        .where(StaffWebSession.staff_id == staff_id, StaffWebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
