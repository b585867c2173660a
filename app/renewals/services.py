"""Renewal consents (续保授权): a member agrees, at enrollment or later, to renew a person's cover
each plan year (recorded with the consent text's version), may choose to pay from the personal
account, and may revoke it at any time (opt out). What each renewal run did for them is listed
beside their consents. The run itself is app/renewals/runs.py.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.database import get_session, rowcount, transaction, utcnow
from app.enrollment import services as enrollment
from app.enrollment.models import Order, OrderItem
from app.error_catalogue import E
from app.members import privacy
from app.policies.models import PolicyStatus
from app.policies.services import get_policy
from app.renewals.models import (
    ConsentStatus,
    OutcomeStatus,
    RenewalConsent,
    RenewalOutcome,
)

OUTCOME_LABELS = {
    OutcomeStatus.PENDING: "续保处理中",
    OutcomeStatus.RENEWED: "已续保（个人账户扣费成功）",
    OutcomeStatus.AWAITING_PAYMENT: "待缴费：请在投保期内自行缴费",
    OutcomeStatus.NOT_ELIGIBLE: "未续保：不符合投保条件",
    OutcomeStatus.ALREADY_INSURED: "无需续保：下一年度已投保",
    OutcomeStatus.FAILED: "未续保：暂时无法处理，请自行投保",
}


def check_consent_text(version: str, accepted: bool) -> None:
    if not accepted:
        raise E.renewal_consent_not_accepted()
    if version != current_app.config["RENEWAL_CONSENT_VERSION"]:
        raise E.renewal_consent_outdated(
            f"续保授权书已更新为 {current_app.config['RENEWAL_CONSENT_VERSION']}，请重新阅读并同意"
        )


def _record(
    session, member_id: int, person_id: int, relation: str, auto_debit: bool, version: str, source
) -> RenewalConsent:
    """One active consent per member and person: a new one replaces (revokes) the old."""
    session.execute(
        update(RenewalConsent)
        .where(
            RenewalConsent.member_id == member_id,
            RenewalConsent.person_id == person_id,
            RenewalConsent.status == ConsentStatus.ACTIVE,
        )
        .values(status=ConsentStatus.REVOKED, revoked_at=utcnow())
    )
    consent = RenewalConsent(
        member_id=member_id,
        person_id=person_id,
        relation=relation,
        auto_debit=auto_debit,
        text_version=version,
        source=source,
    )
    session.add(consent)
    session.flush()
    audit(
        session,
        actor_type="member",
        actor_id=member_id,
        action="renewal.consented",
        object_type="renewal_consent",
        object_id=consent.id,
        detail={"auto_debit": auto_debit, "text_version": version, "source": source},
    )
    return consent


def consent_for_policy(
    member_id: int, policy_id: int, *, auto_debit: bool, version: str, accepted: bool
) -> RenewalConsent:
    """Consent later, from a policy the member paid for."""
    check_consent_text(version, accepted)
    session = get_session()
    privacy.refuse_if_withdrawn(*privacy.member_and_consent(session, member_id), "renewal")
    policy = get_policy(member_id, policy_id)
    item = session.get_one(OrderItem, policy.order_item_id)
    order = session.get_one(Order, item.order_id)
    if order.member_id != member_id:
        raise E.renewal_payer_only()
    if policy.status != PolicyStatus.ACTIVE:
        raise E.renewal_policy_not_active()
    with transaction() as s:
        consent = _record(
            s, member_id, policy.person_id, item.relation, auto_debit, version, "member"
        )
    return consent


def create_order_with_consent(member_id: int, renewal: dict | None, **order) -> Order:
    """`POST /orders`: the order (enrollment.create_order), and when the member also agreed to
    renewal, a consent for each person on it, written in the order's own transaction (checked
    before the order is placed)."""
    if renewal is None:
        return enrollment.create_order(member_id, **order)
    check_consent_text(renewal["consent"]["version"], renewal["consent"]["accepted"])

    def consent(session: Session, placed: Order) -> None:
        for item in placed.items:
            _record(
                session,
                member_id,
                item.person_id,
                item.relation,
                renewal["auto_debit"],
                renewal["consent"]["version"],
                "enrollment",
            )

    return enrollment.create_order(member_id, also=consent, **order)


def revoke(member_id: int, consent_id: int) -> RenewalConsent:
    """Opt out: the consent stays on record, revoked; a run no longer acts on it."""
    with transaction() as s:
        consent = s.scalar(
            select(RenewalConsent).where(
                RenewalConsent.id == consent_id, RenewalConsent.member_id == member_id
            )
        )
        if consent is None:
            raise E.renewal_consent_not_found()
        won = rowcount(
            s.execute(
                update(RenewalConsent)
                .where(
                    RenewalConsent.id == consent_id,
                    RenewalConsent.status == ConsentStatus.ACTIVE,
                )
                .values(status=ConsentStatus.REVOKED, revoked_at=utcnow())
            )
        )
        if won:
            audit(
                s,
                actor_type="member",
                actor_id=member_id,
                action="renewal.revoked",
                object_type="renewal_consent",
                object_id=consent_id,
            )
    session = get_session()
    session.expire_all()
    return session.get_one(RenewalConsent, consent_id)


def member_renewals(member_id: int) -> tuple[list[RenewalConsent], list[RenewalOutcome]]:
    """The member's consents (newest first) and every renewal outcome for them."""
    session = get_session()
    consents = list(
        session.scalars(
            select(RenewalConsent)
            .where(RenewalConsent.member_id == member_id)
            .order_by(RenewalConsent.id.desc())
        )
    )
    outcomes = list(
        session.scalars(
            select(RenewalOutcome)
            .where(RenewalOutcome.member_id == member_id)
            .order_by(RenewalOutcome.id.desc())
        )
    )
    return consents, outcomes
