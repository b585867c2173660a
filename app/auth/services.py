"""Login, token refresh with rotation and reuse detection, logout, and staff accounts.
Each public function owns its transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import record as audit
from app.auth.models import ORGANISATION_ROLES, STAFF_ROLES, RefreshToken, StaffAccount
from app.auth.principal import token_service
from app.auth.tokens import credential_fingerprint, hash_refresh_token, new_refresh_token
from app.database import transaction, utcnow
from app.error_catalogue import E
from app.errors import (
    DomainError,
)
from app.integrations import registry
from app.integrations.wechat.port import WeChatLoginError
from app.members.models import Member
from app.sponsors.models import Organisation


def make_password_hasher(config) -> PasswordHasher:
    """An Argon2id hasher with the cost in `config` (app.config or a Config's flask_settings())."""
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
    )


def _password_hasher() -> tuple[PasswordHasher, str]:
    """This app's hasher and a hash to verify against when the username is unknown (so timing
    does not reveal accounts), both made once per app."""
    cached = current_app.extensions.get("password_hasher")
    if cached is None:
        hasher = make_password_hasher(current_app.config)
        cached = (hasher, hasher.hash("huimin-no-such-account"))
        current_app.extensions["password_hasher"] = cached
    return cached


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "Bearer"


def issue_tokens(
    session,
    subject_type: str,
    subject_id: int,
    family_id: str | None = None,
    extra: dict | None = None,
) -> tuple[TokenPair, RefreshToken]:
    """A refresh token row and the access token issued with it. The access token (a member's
    or a staff member's) names that row (`rid`), and app.auth.principal refuses it once the row
    is revoked: a logout (or a reuse detected) ends the session's access token at once, not
    when it expires."""
    cfg = current_app.config
    audience = cfg["JWT_MEMBER_AUDIENCE"] if subject_type == "member" else cfg["JWT_STAFF_AUDIENCE"]
    raw, digest = new_refresh_token()
    row = RefreshToken(
        token_hash=digest,
        family_id=family_id or str(uuid.uuid4()),
        subject_type=subject_type,
        subject_id=subject_id,
        expires_at=utcnow() + timedelta(seconds=cfg["REFRESH_TOKEN_SECONDS"]),
    )
    session.add(row)
    session.flush()
    extra = {**(extra or {}), "rid": row.id}
    access = token_service().issue_access(f"{subject_type}:{subject_id}", audience, extra)
    return TokenPair(access.token, access.expires_in, raw), row


def staff_claims(account: StaffAccount) -> dict:
    """What a staff access token asserts, checked against the account on every request
    (app.auth.principal): role, organisation, and `pwd`, a digest of the password hash, so a
    token issued before a password reset stops working at once, as the sessions do."""
    claims: dict[str, str | int] = {
        "role": account.role,
        "pwd": credential_fingerprint(account.password_hash),
    }
    if account.organisation_id is not None:
        claims["org"] = account.organisation_id
    return claims


def login_with_wechat(code: str) -> tuple[TokenPair, Member, bool]:
    """Exchange a mini-program code for our tokens; create the member on first login."""
    try:
        wx = registry.wechat_login().code_to_session(code)
    except WeChatLoginError as exc:
        if exc.kind == "invalid_code":
            raise E.wechat_code_invalid() from None
        if exc.kind == "rate_limited":
            raise E.wechat_rate_limited(headers={"Retry-After": "60"}) from None
        raise E.wechat_unavailable() from None
    try:
        with transaction() as session:
            pair, member, created = _member_login(session, wx, may_create=True)
    except _ConcurrentFirstLogin as lost:
        # A concurrent first login created it (our unit of work rolled back): use that one.
        with transaction() as session:
            pair, member, created = _member_login(session, wx, may_create=False, lost=lost)
    return pair, member, created


class _ConcurrentFirstLogin(Exception):
    """Our INSERT of a new member lost to a concurrent first login with the same openid."""

    def __init__(self, cause: IntegrityError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _member_login(
    session, wx, *, may_create: bool, lost: _ConcurrentFirstLogin | None = None
) -> tuple[TokenPair, Member, bool]:
    member = session.scalar(select(Member).where(Member.openid == wx.openid))
    created = member is None
    if member is None:
        if not may_create:
            assert lost is not None  # only the retry after a lost race passes may_create=False
            raise lost.cause
        member = Member(openid=wx.openid, unionid=wx.unionid)
        session.add(member)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _ConcurrentFirstLogin(exc) from exc
    elif wx.unionid and not member.unionid:
        member.unionid = wx.unionid
    member.last_login_at = utcnow()
    pair, _ = issue_tokens(session, "member", member.id)
    return pair, member, created


def refresh(raw_token: str) -> TokenPair:
    """Rotate a refresh token. A token used twice means it was stolen or replayed: revoke the
    whole family so both the thief and the victim must log in again."""
    digest = hash_refresh_token(raw_token)
    with transaction() as session:
        outcome = _rotate(session, digest)
    if isinstance(outcome, DomainError):
        raise outcome  # a reuse: the family's revocation above is committed first
    return outcome


def _rotate(session, digest: str) -> TokenPair | DomainError:
    """The refresh in one unit of work: a new pair, or the reuse error to raise once the
    family's revocation has been committed (any other refusal raises and writes nothing)."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest))
    if row is None:
        raise E.refresh_token_invalid()
    now = utcnow()
    if row.revoked_at is not None and row.rotated_at is None:
        # Logged out (or its family revoked earlier): not a theft signal by itself.
        raise E.refresh_token_revoked()
    if row.rotated_at is not None:
        _revoke_family(session, row.family_id)
        audit(
            session,
            actor_type=row.subject_type,
            actor_id=row.subject_id,
            action="refresh_token.reuse_detected",
            object_type="refresh_family",
            object_id=row.id,
        )
        return E.refresh_token_reused()
    if row.expires_at <= now:
        raise E.refresh_token_expired()
    # Conditional update: of two concurrent refreshes with one token, exactly one wins.
    won = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.rotated_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(rotated_at=now)
    ).rowcount
    if won != 1:
        _revoke_family(session, row.family_id)
        return E.refresh_token_reused()
    extra = None
    if row.subject_type == "staff":
        account = session.get(StaffAccount, row.subject_id)
        if account is None or not account.active:
            raise E.account_disabled("账号已停用")
        extra = staff_claims(account)
    elif session.get(Member, row.subject_id) is None:
        raise E.refresh_token_invalid()
    pair, new_row = issue_tokens(session, row.subject_type, row.subject_id, row.family_id, extra)
    session.execute(
        update(RefreshToken).where(RefreshToken.id == row.id).values(replaced_by_id=new_row.id)
    )
    return pair


def logout(raw_token: str) -> None:
    """Revoke the refresh-token family. Unknown tokens are ignored (logout is idempotent)."""
    digest = hash_refresh_token(raw_token)
    with transaction() as session:
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest))
        if row is not None:
            _revoke_family(session, row.family_id)


def _revoke_family(session, family_id: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def verify_staff_sign_in(session, username: str, password: str, channel: str) -> StaffAccount:
    """The active staff account `username` whose password is `password` (401 otherwise, in the
    same time whether or not the account exists), its hash renewed if the cost changed, its
    sign-in recorded and audited. `channel` is "api" (tokens) or "web" (the console's session)."""
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == username))
    hasher, dummy_hash = _password_hasher()
    try:
        hasher.verify(account.password_hash if account else dummy_hash, password)
        ok = account is not None and account.active
    except (VerifyMismatchError, InvalidHashError):
        ok = False
    if not ok:
        raise E.staff_credentials_invalid()
    assert account is not None  # ok only for an account that exists
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)
    account.last_login_at = utcnow()
    audit(
        session,
        actor_type="staff",
        actor_id=account.id,
        action="staff.login",
        object_type="staff_account",
        object_id=account.id,
        detail=None if channel == "api" else {"channel": channel},
    )
    return account


def hash_staff_password(password: str) -> str:
    """A new staff password's hash (at least 12 characters, else 422)."""
    if len(password) < 12:
        raise E.staff_password_weak()
    return _password_hasher()[0].hash(password)


def login_staff(username: str, password: str) -> tuple[TokenPair, StaffAccount]:
    with transaction() as session:
        account = verify_staff_sign_in(session, username, password, "api")
        pair, _ = issue_tokens(session, "staff", account.id, extra=staff_claims(account))
    return pair, account


# Which kind of organisation each organisation-admin role may act for: a charity's officer
# cannot run an employer's staff cover, nor a relief fund's officer a charity's donations.
ADMIN_ROLE_KIND = {
    "employer_admin": "employer",
    "charity_admin": "charity",
    "fund_admin": "relief_fund",
    "paired_admin": "paired_assistance",
}
KIND_LABELS = {
    "employer": "用人单位",
    "charity": "慈善组织",
    "relief_fund": "政府救助资金",
    "paired_assistance": "结对帮扶单位",
}
ROLE_LABELS = {  # every STAFF_ROLES role (the console shows these, never the codes)
    "reviewer": "理赔审核员",
    "operator": "运营人员",
    "employer_admin": "用人单位管理员",
    "charity_admin": "慈善组织管理员",
    "fund_admin": "救助资金管理员",
    "paired_admin": "结对帮扶单位管理员",
}


def role_fits_kind(role: str, kind: str) -> bool:
    return ADMIN_ROLE_KIND.get(role) == kind


def check_admin_organisation(session, role: str, organisation_id: int) -> Organisation:
    """The organisation an admin account of `role` is created for: it must exist and be of the
    role's kind (ADMIN_ROLE_KIND); otherwise a 422 naming both. (Here, not in sponsors: a staff
    role is auth's vocabulary, and auth sits below sponsors; it reads only sponsors' model.)"""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise E.staff_organisation_not_found()
    if not role_fits_kind(role, org.kind):
        raise E.staff_role_organisation_kind(
            f"{ROLE_LABELS.get(role, '该角色')}只能属于{KIND_LABELS[ADMIN_ROLE_KIND[role]]}，"
            f"而该机构是{KIND_LABELS.get(org.kind, org.kind)}"
        )
    return org


def create_staff_account(
    *,
    username: str,
    role: str,
    password: str,
    display_name: str,
    organisation_id: int | None = None,
    created_by: int | None = None,
) -> StaffAccount:
    """A new staff account; `created_by` is the operator's staff id (None: the CLI or seed)."""
    check_role_scope(role, organisation_id)
    if not (0 < len(username.strip()) <= 64 and 0 < len(display_name.strip()) <= 64):
        raise E.staff_account_fields()
    password_hash = hash_staff_password(password)
    with transaction() as session:
        if session.scalar(select(StaffAccount.id).where(StaffAccount.username == username)):
            raise E.staff_username_taken()
        if organisation_id is not None:
            check_admin_organisation(session, role, organisation_id)
        account = StaffAccount(
            username=username,
            role=role,
            password_hash=password_hash,
            display_name=display_name,
            organisation_id=organisation_id,
        )
        session.add(account)
        session.flush()
        audit(
            session,
            actor_type="system" if created_by is None else "staff",
            actor_id=created_by,
            action="staff.created",
            object_type="staff_account",
            object_id=account.id,
            detail={"role": role},
        )
    return account


def check_role_scope(role: str, organisation_id: int | None) -> None:
    """A known role, with an organisation exactly when it is an organisation admin (422)."""
    if role not in STAFF_ROLES:
        raise E.staff_role_invalid(
            "角色必须是以下之一：" + "、".join(ROLE_LABELS[r] for r in STAFF_ROLES),
            errors={"json": {"role": list(STAFF_ROLES)}},
        )
    if (role in ORGANISATION_ROLES) != (organisation_id is not None):
        raise E.staff_organisation_scope()
