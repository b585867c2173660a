"""Staff account management by the operator: list, disable or enable, reset a password, assign
role and organisation (creation is app.auth.services.create_staff_account, which the CLI uses),
see and lift a sign-in lock (app/auth/lockout.py; also `flask staff unlock`).
Each change is audited with the operator as actor, and what the account held is taken away at
once: its console sessions end and its refresh tokens are revoked (an access token already stops
working, since app.auth.principal reads the account on every request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from limits.errors import StorageError
from sqlalchemy import ColumnElement, select, update

from app.audit.services import record as audit
from app.auth import lockout
from app.auth.models import RefreshToken, StaffAccount
from app.auth.principal import Principal
from app.auth.services import (
    check_admin_organisation,
    check_role_scope,
    create_staff_account,
    hash_staff_password,
)
from app.auth.web_sessions import end_sessions_of
from app.database import read_scope, transaction, utcnow
from app.error_catalogue import E
from app.sponsors.models import Organisation


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    display_name: str
    role: str
    organisation_id: int | None
    organisation_name: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class OrganisationChoice:
    id: int
    name: str
    kind: str


def list_accounts(actor: Principal) -> list[AccountRow]:
    _operator_only(actor)
    with read_scope() as session:
        rows = session.execute(
            select(StaffAccount, Organisation.name)
            .outerjoin(Organisation, Organisation.id == StaffAccount.organisation_id)
            .order_by(StaffAccount.active.desc(), StaffAccount.username)
        ).all()
        return [
            AccountRow(
                id=a.id,
                username=a.username,
                display_name=a.display_name,
                role=a.role,
                organisation_id=a.organisation_id,
                organisation_name=org_name,
                active=a.active,
                created_at=a.created_at,
                last_login_at=a.last_login_at,
            )
            for a, org_name in rows
        ]


def organisation_choices(actor: Principal) -> list[OrganisationChoice]:
    """The organisations an admin account may be given (the create and assign forms)."""
    _operator_only(actor)
    with read_scope() as session:
        return [
            OrganisationChoice(o.id, o.name, o.kind)
            for o in session.scalars(select(Organisation).order_by(Organisation.name))
        ]


def _operator_only(actor: Principal) -> None:
    if actor.kind != "staff" or actor.role != "operator":
        raise E.role_forbidden()


def _account(session, account_id: int) -> StaffAccount:
    account = session.get(StaffAccount, account_id)
    if account is None:
        raise E.staff_account_not_found()
    return account


def _take_away_access(session, account_id: int) -> None:
    end_sessions_of(session, account_id)
    session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.subject_type == "staff",
            RefreshToken.subject_id == account_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


def _record(session, actor: Principal, action: str, account_id: int, detail: dict | None = None):
    audit(
        session,
        actor_type="staff",
        actor_id=actor.id,
        action=action,
        object_type="staff_account",
        object_id=account_id,
        detail=detail,
    )


def set_active(actor: Principal, account_id: int, active: bool) -> None:
    """Disable (or enable again) an account; not one's own. Idempotent: no change, no audit."""
    _operator_only(actor)
    if account_id == actor.id:
        raise E.staff_account_self()
    with transaction() as session:
        account = _account(session, account_id)
        if account.active == active:
            return
        account.active = active
        if not active:
            _take_away_access(session, account_id)
        _record(session, actor, "staff.enabled" if active else "staff.disabled", account_id)


def reset_password(actor: Principal, account_id: int, new_password: str) -> None:
    """Give the account a new password (at least 12 characters); its sessions and refresh
    tokens end, so whoever held the old password is signed out."""
    _operator_only(actor)
    password_hash = hash_staff_password(new_password)
    with transaction() as session:
        account = _account(session, account_id)
        account.password_hash = password_hash
        _take_away_access(session, account_id)
        _record(session, actor, "staff.password_reset", account_id)


def assign_role(actor: Principal, account_id: int, role: str, organisation_id: int | None) -> None:
    """Give the account a role and (for an organisation admin) its organisation, checked as at
    creation; not one's own. Its sessions and refresh tokens end (a new role, a new sign-in)."""
    _operator_only(actor)
    check_role_scope(role, organisation_id)
    if account_id == actor.id:
        raise E.staff_account_self()
    with transaction() as session:
        account = _account(session, account_id)
        if organisation_id is not None:
            check_admin_organisation(session, role, organisation_id)
        if (account.role, account.organisation_id) == (role, organisation_id):
            return
        before = {"role": account.role, "organisation_id": account.organisation_id}
        account.role = role
        account.organisation_id = organisation_id
        _take_away_access(session, account_id)
        _record(
            session,
            actor,
            "staff.role_assigned",
            account_id,
            {"before": before, "role": role, "organisation_id": organisation_id},
        )


def create_account(
    actor: Principal,
    *,
    username: str,
    role: str,
    password: str,
    display_name: str,
    organisation_id: int | None,
) -> int:
    """The operator creates an account (the same service as `flask staff create`)."""
    _operator_only(actor)
    account = create_staff_account(
        username=username,
        role=role,
        password=password,
        display_name=display_name,
        organisation_id=organisation_id,
        created_by=actor.id,
    )
    return account.id


def get_account(actor: Principal, account_id: int) -> AccountRow:
    _operator_only(actor)
    for row in list_accounts(actor):
        if row.id == account_id:
            return row
    raise E.staff_account_not_found()


# --- sign-in lock (app/auth/lockout.py) ----------------------------------------------------


@dataclass(frozen=True)
class LoginLockView:
    account_id: int
    username: str
    locked: bool
    failures: int
    limit: str  # RATE_LIMIT_STAFF_LOGIN_FAILURES, e.g. "5 per 15 minutes"
    locked_until: datetime | None
    storage: str  # "shared" | "fallback" (this worker only: the limit storage is down)


def _view(account_id: int, username: str, state: lockout.LockState) -> LoginLockView:
    return LoginLockView(
        account_id=account_id,
        username=username,
        locked=state.locked,
        failures=state.failures,
        limit=current_app.config["RATE_LIMIT_STAFF_LOGIN_FAILURES"],
        locked_until=state.locked_until,
        storage=state.storage,
    )


def _username_of(account_id: int) -> str:
    with read_scope() as session:
        username = session.scalar(
            select(StaffAccount.username).where(StaffAccount.id == account_id)
        )
    if username is None:
        raise E.staff_account_not_found()
    return username


def login_lock(actor: Principal, account_id: int) -> LoginLockView:
    """Whether the account's sign-ins are locked now, after how many failures, and until when."""
    _operator_only(actor)
    username = _username_of(account_id)
    try:
        state = lockout.lock_state(username)
    except StorageError:  # no in-process fallback configured
        raise E.rate_limit_unavailable() from None
    return _view(account_id, username, state)


def release_login_lock(actor: Principal, account_id: int, channel: str) -> LoginLockView:
    """The operator lifts the account's sign-in lock (API: channel "api", console: "web")."""
    _operator_only(actor)
    return _release(StaffAccount.id == account_id, actor, channel)[0]


def release_login_lock_of(username: str) -> tuple[LoginLockView, lockout.LockState]:
    """`flask staff unlock USERNAME`: the operator on the host, audited as the system. Also
    returns what was cleared, for the command to say."""
    return _release(StaffAccount.username == username.strip(), None, "cli")


def _release(
    which: ColumnElement[bool], actor: Principal | None, channel: str
) -> tuple[LoginLockView, lockout.LockState]:
    """Clear the account's failure window: its sign-ins count from zero again. Audited as
    `staff.login_unlocked` when there was anything to clear (failures counted); otherwise a
    no-op with the same answer and no audit row, as enabling an enabled account is. The storage
    is cleared before the audit row commits: a database failure between the two leaves the
    account unlocked without its row (the limit storage and the database share no transaction)."""
    with transaction() as session:
        row = session.execute(select(StaffAccount.id, StaffAccount.username).where(which)).first()
        if row is None:
            raise E.staff_account_not_found()
        account_id, username = row
        try:
            # A command runs in its own process, whose in-process fallback counts no sign-in:
            # only the shared storage will do there (rate_limit_unavailable when it is down).
            released = lockout.release(username, with_fallback=channel != "cli")
        except StorageError:  # down, and no fallback configured or usable
            raise E.rate_limit_unavailable(
                "限流存储暂不可用，未能解除登录锁定，请稍后再试"
            ) from None
        if released.before.failures:
            audit(
                session,
                actor_type="system" if actor is None else "staff",
                actor_id=None if actor is None else actor.id,
                action="staff.login_unlocked",
                object_type="staff_account",
                object_id=account_id,
                detail={
                    "channel": channel,
                    "was_locked": released.before.locked,
                    "failures": released.before.failures,
                    "storage": released.after.storage,
                },
            )
    return _view(account_id, username, released.after), released.before
