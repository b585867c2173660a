"""The member's consents (PIPL art. 15): what they agreed to and when, withdrawing the consent to
the processing of personal information, giving it again, and the gate every new processing goes
through (`refuse_if_withdrawn`, `check_processing_allowed`).

The consent is the member's latest row of the two purposes `identity_verification` (given when
verifying their identity or a relative's, or again here) and `identity_verification_withdrawn`
(append-only, as the value estimate's consent is). A withdrawal covers the member and every
relative they added: nothing new is verified, ordered, estimated or claimed for anyone on the
account until they consent again; what exists stays (app/members/privacy_rules.py says what).
Each change is an audit row without personal data.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.config_consents import CONSENT_TEXT_SETTINGS
from app.database import autocommit_read, read_scope, transaction
from app.enrollment.models import Order
from app.error_catalogue import E
from app.members.models import (
    PI_CONSENT_GRANTED,
    PI_CONSENT_WITHDRAWN,
    Consent,
    Member,
    Relative,
    latest_pi_consent,
)
from app.members.privacy_rules import (
    AFTER_WITHDRAWAL,
    PERSONAL_INFORMATION,
    WITHDRAWAL_RESUME,
    allowed_after_withdrawal,
    consent_state,
    outdated_consent,
)
from app.products.models import Product
from app.renewals.models import RenewalConsent

GRANTED, WITHDRAWN = PI_CONSENT_GRANTED, PI_CONSENT_WITHDRAWN
CLOSED_DETAIL = "该账号已注销，不能再办理业务；重新登录后将使用新的账号"


def current_text_version(text: str) -> str:
    """The version in force of a consent text, a key of CONSENT_TEXT_SETTINGS (each version is
    one setting; GET /me/consents lists them all, `current_text_versions`)."""
    return current_app.config[CONSENT_TEXT_SETTINGS[text]]


def refuse_outdated_text(text: str, sent: str, location: tuple[str, ...]) -> None:
    """422 consent_text_outdated when `sent` is not the version of `text` in force
    (privacy_rules.outdated_consent); callers check before the bureau is asked or anything is
    written."""
    refusal = outdated_consent(text, sent, current_text_version(text), location)
    if refusal is not None:
        raise E.consent_text_outdated(refusal.detail, errors=refusal.errors)


def member_and_consent(session: Session, member_id: int) -> tuple[Member | None, str | None]:
    """The member and the purpose of their latest consent row of the two, in one read."""
    latest = latest_pi_consent(Member.id).with_only_columns(Consent.purpose).scalar_subquery()
    row = session.execute(select(Member, latest).where(Member.id == member_id)).one_or_none()
    return (None, None) if row is None else (row[0], row[1])


def refuse_if_withdrawn(member: Member | None, latest_purpose: str | None, action: str) -> None:
    """Raise when `action` (a row of AFTER_WITHDRAWAL) may not run for this member now: the
    account is closed, or the member withdrew consent. consent_required, as for a consent never
    given: the mini-program answers both by showing the consent to agree to."""
    _refuse(member is not None and member.closed_at is not None, latest_purpose, action)


def processing_stopped(session: Session, member_id: int) -> bool:
    """Whether the member withdrew consent or closed the account (for a batch that skips them)."""
    member, latest = member_and_consent(session, member_id)
    return (member is not None and member.closed_at is not None) or consent_state(
        latest
    ) == "withdrawn"


def check_processing_allowed(member_id: int, action: str) -> None:
    """The gate for a use case that calls the bureau before it opens its unit of work (so a
    withdrawn member causes no call at all): the state the member's own request read with its
    session check (app/auth/principal.py), else a read of its own."""
    state = _request_state(member_id)
    if state is None:

        def read(session: Session) -> tuple[bool, str | None]:
            member, latest = member_and_consent(session, member_id)
            return member is not None and member.closed_at is not None, latest

        state = autocommit_read(read)
    _refuse(*state, action)


def check_in_session(session: Session, member_id: int, action: str) -> None:
    """The gate inside a unit of work: the request's state as above, else read in `session`."""
    state = _request_state(member_id)
    if state is None:
        member, latest = member_and_consent(session, member_id)
        state = (member is not None and member.closed_at is not None, latest)
    _refuse(*state, action)


def _request_state(member_id: int) -> tuple[bool, str | None] | None:
    """(closed, latest purpose) as authenticate_member read them for this very member in this
    request (g.member_privacy), or None outside such a request."""
    if not has_request_context():
        return None
    state = g.get("member_privacy")
    if state is None or state[0] != member_id:
        return None
    return state[1], state[2]


def _refuse(closed: bool, latest_purpose: str | None, action: str) -> None:
    if allowed_after_withdrawal(action):  # pragma: no cover - a gate on an allowed action
        raise ValueError(f"{action} is allowed after a withdrawal: nothing to gate")
    if closed:
        raise E.consent_required(CLOSED_DETAIL)
    if consent_state(latest_purpose) == "withdrawn":
        raise E.consent_required(
            f"您已撤回个人信息处理同意，{AFTER_WITHDRAWAL[action][1]}。{WITHDRAWAL_RESUME}"
        )


# --- the member's own view and changes ---------------------------------------------------------


def overview(member_id: int) -> dict:
    """Every consent the member gave (newest first), the product terms agreed to with each order,
    the renewal consents, and the state of the personal-information consent."""
    with read_scope() as s:
        member, latest = member_and_consent(s, member_id)
        if member is None:
            raise E.member_not_found()
        relations = dict(
            s.execute(
                select(Relative.person_id, Relative.relation).where(Relative.member_id == member_id)
            ).all()
        )
        relations.update({member.person_id: "self"} if member.person_id else {})
        records = [
            {
                "id": c.id,
                "purpose": c.purpose,
                "text_version": c.text_version,
                "recorded_at": c.granted_at,
                "subject": relations.get(c.subject_person_id) if c.subject_person_id else None,
            }
            for c in s.scalars(
                select(Consent).where(Consent.member_id == member_id).order_by(Consent.id.desc())
            )
        ]
        terms = [
            {
                "order_no": order_no,
                "product_name": name,
                "plan_year": year,
                "terms_version": version,
                "agreed_at": at,
            }
            for order_no, name, year, version, at in s.execute(
                select(
                    Order.order_no,
                    Product.name,
                    Order.plan_year,
                    Order.terms_version,
                    Order.terms_agreed_at,
                )
                .join(Product, Product.id == Order.product_id)
                .where(Order.member_id == member_id)
                .order_by(Order.id.desc())
            )
        ]
        renewals = [
            {column.key: getattr(r, column.key) for column in RenewalConsent.__table__.columns}
            for r in s.scalars(
                select(RenewalConsent)
                .where(RenewalConsent.member_id == member_id)
                .order_by(RenewalConsent.id.desc())
            )
        ]
        latest_row = next((r for r in records if r["purpose"] in (GRANTED, WITHDRAWN)), None)
        return {
            "personal_information": {
                "state": "closed" if member.closed_at else consent_state(latest),
                "text_version": latest_row["text_version"] if latest_row else None,
                "recorded_at": latest_row["recorded_at"] if latest_row else None,
            },
            "records": records,
            "product_terms": terms,
            "renewal_consents": renewals,
            "current_text_versions": {t: current_text_version(t) for t in CONSENT_TEXT_SETTINGS},
        }


def withdraw(member_id: int) -> dict:
    """Withdraw the consent to the processing of personal information. Withdrawing again is a
    no-op (the answer is the same); with nothing given there is nothing to withdraw (409)."""
    with transaction() as s:
        member, latest = member_and_consent(s, member_id)
        if member is None:
            raise E.member_not_found()
        state = consent_state(latest)
        if state == "not_given":
            raise E.conflict("您尚未同意处理个人信息（未核验医保身份），无需撤回")
        if state == "granted" and member.closed_at is None:
            record_consent(
                s, member, WITHDRAWN, _latest_version(s, member_id), "privacy.consent_withdrawn"
            )
    return overview(member_id)


def grant_again(member_id: int, accepted: bool, text_version: str) -> dict:
    """Consent again after a withdrawal (the member read the text `text_version`, which must be
    the one in force, and agreed). Given already: a no-op. Never given: it is given with the
    identity verification."""
    if not accepted:
        message = "请阅读并同意《个人信息处理规则》后再提交"
        raise E.consent_required(message, errors={"json": {"accepted": [message]}})
    refuse_outdated_text(PERSONAL_INFORMATION, text_version, ())
    with transaction() as s:
        member, latest = member_and_consent(s, member_id)
        if member is None:
            raise E.member_not_found()
        if member.closed_at is not None:
            raise E.conflict(CLOSED_DETAIL)
        state = consent_state(latest)
        if state == "not_given":
            raise E.conflict("请在核验医保身份时阅读并同意个人信息处理规则")
        if state == "withdrawn":
            record_consent(s, member, GRANTED, text_version, "privacy.consent_granted")
    return overview(member_id)


def _latest_version(session: Session, member_id: int) -> str:
    row = session.scalar(latest_pi_consent(member_id))
    return row.text_version if row is not None else ""


def record_consent(
    session: Session, member: Member, purpose: str, version: str, action: str
) -> Consent:
    """Append a consent row of the member's (about their own person) and its audit row."""
    row = Consent(
        member_id=member.id,
        subject_person_id=member.person_id,
        purpose=purpose,
        text_version=version,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor_type="member",
        actor_id=member.id,
        action=action,
        object_type="consent",
        object_id=row.id,
        detail={"text_version": version},
    )
    return row
