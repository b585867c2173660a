"""Undoing what a member set up (PIPL art. 47): unbinding an identity bound by mistake, and
closing the account (注销). Each owns its transaction; what blocks them is decided by the pure
rules in app/members/privacy_rules.py over what is read here.

Closure, once nothing is outstanding: every refresh token revoked; the openid replaced by
"closed:<id>" (unique, never a real openid), so the next WeChat login makes a fresh account; the
identity unbound, the relatives list deleted, the renewal consents revoked, pending notices
dropped and a withdrawal of consent recorded; each person the account held who is referenced by
nothing else is erased (their verification answers deleted, their consents' subject link
cleared). What a law requires us to keep (orders, policies, claims, payments, and the people
they name) stays, unprocessed, and the account is marked with `closed_at` and `retain_until`.
A second closure answers as the first. The audit row holds counts only.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CompoundSelect, Select, delete, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.models import RefreshToken
from app.campaigns.models import CampaignRedemption
from app.claims.models import Claim, Payout
from app.common import hooks
from app.common.clock import today_shanghai
from app.database import Base, read_scope, rowcount, transaction, utcnow
from app.enrollment.models import Order, OrderItem, Payment, Refund
from app.error_catalogue import E
from app.identity.models import InsuranceAnswer, Person
from app.jobs.models import JobRow
from app.members.models import Consent, Member, Relative
from app.members.privacy import GRANTED, WITHDRAWN
from app.members.privacy_rules import (
    CLOSURE_ERASES,
    CLOSURE_KEEPS,
    AccountState,
    BindingDependents,
    Blocker,
    ClosureWarning,
    closure_blockers,
    closure_warnings,
    consent_state,
    retain_until,
    unbind_blockers,
)
from app.outbox.models import OutboxEvent
from app.policies.models import Policy
from app.renewals.models import RenewalConsent
from app.special_drugs.models import ApplicationStatus, SpecialDrugApplication
from app.sponsors.roster_models import RosterEntry

# References to a person that erasing them clears instead of keeping them: their own
# verification answers and the subject link of consents (the consent rows stay).
_ERASED_WITH_THE_PERSON = {("insurance_answers", "person_id"), ("consents", "subject_person_id")}


def _count(session: Session, query: Select | CompoundSelect) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _blocked(spec, blockers: list[Blocker]):
    return spec(
        "；".join(b.message for b in blockers),
        errors={"blockers": [b.as_dict() for b in blockers]},
    )


# --- unbinding ---------------------------------------------------------------------------------


def binding_dependents(session: Session, member_id: int, person_id: int) -> BindingDependents:
    return BindingDependents(
        orders=_count(
            session,
            select(Order.id).where(Order.member_id == member_id, Order.status != "closed"),
        ),
        policies=_count(
            session,
            select(Policy.id).where(Policy.person_id == person_id, Policy.status != "void"),
        ),
        claims=_count(
            session,
            union_all(
                select(Claim.id).where(
                    or_(Claim.member_id == member_id, Claim.person_id == person_id)
                ),
                select(SpecialDrugApplication.id).where(
                    or_(
                        SpecialDrugApplication.member_id == member_id,
                        SpecialDrugApplication.person_id == person_id,
                    )
                ),
            ),
        ),
        sponsorships=_count(
            session,
            union_all(
                select(CampaignRedemption.id).where(
                    or_(
                        CampaignRedemption.member_id == member_id,
                        CampaignRedemption.person_id == person_id,
                    )
                ),
                select(RosterEntry.id).where(RosterEntry.person_id == person_id),
                select(JobRow.id).where(JobRow.person_id == person_id),
            ),
        ),
    )


def unbind_identity(member_id: int) -> Member:
    """Unbind the member's own identity when nothing rests on it (409 identity_unbind_blocked
    says what does). The person is erased unless someone else holds them."""
    with transaction() as s:
        member = s.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        person_id = member.person_id
        if person_id is None or member.closed_at is not None:
            raise E.identity_not_verified("您尚未绑定医保身份，无需解除")
        blockers = unbind_blockers(binding_dependents(s, member_id, person_id))
        if blockers:
            raise _blocked(E.identity_unbind_blocked, blockers)
        won = rowcount(
            s.execute(
                update(Member)
                .where(Member.id == member_id, Member.person_id == person_id)
                .values(person_id=None)
            )
        )
        if won != 1:  # unbound meanwhile by a concurrent request
            raise E.identity_not_verified("您尚未绑定医保身份，无需解除")
        erased = _erase_unreferenced(s, [person_id])
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="identity.unbound",
            object_type="person",
            object_id=person_id,
            detail={"person_erased": bool(erased)},
        )
        s.expire(member)
    return member


# --- closure -----------------------------------------------------------------------------------


def _member_policies(member_id: int, person_id: int | None) -> Select:
    """The member's policies: on orders they placed, and any insuring their own person."""
    on_orders = (
        select(Policy.id)
        .join(OrderItem, OrderItem.id == Policy.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.member_id == member_id)
    )
    return select(Policy.status, Policy.coverage_end).where(
        or_(Policy.id.in_(on_orders), Policy.person_id == person_id)
    )


def account_state(session: Session, member: Member) -> AccountState:
    mid = member.id
    return AccountState(
        policies=tuple(
            (status, end)
            for status, end in session.execute(_member_policies(mid, member.person_id))
        ),
        claim_statuses=tuple(session.scalars(select(Claim.status).where(Claim.member_id == mid))),
        order_statuses=tuple(session.scalars(select(Order.status).where(Order.member_id == mid))),
        pending_payments=_count(
            session,
            select(Payment.id)
            .join(Order, Order.id == Payment.order_id)
            .where(Order.member_id == mid, Payment.status == "pending"),
        ),
        pending_refunds=_count(
            session,
            select(Refund.id)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.member_id == mid, Refund.status == "pending"),
        ),
        pending_payouts=_count(
            session,
            select(Payout.id)
            .join(Claim, Claim.id == Payout.claim_id)
            .where(Claim.member_id == mid, Payout.status == "pending"),
        ),
        special_drug_reviews=_count(
            session,
            select(SpecialDrugApplication.id).where(
                SpecialDrugApplication.member_id == mid,
                SpecialDrugApplication.status == ApplicationStatus.PENDING_REVIEW,
            ),
        ),
    )


def _closure_view(
    member: Member,
    blockers: list[Blocker],
    until: date | None,
    warnings: list[ClosureWarning] | None = None,
) -> dict:
    return {
        "closed": member.closed_at is not None,
        "closed_at": member.closed_at,
        "can_close": member.closed_at is None and not blockers,
        "blockers": [b.as_dict() for b in blockers],
        "warnings": [w.as_dict() for w in warnings or []],
        "retain_until": until,
        "erases": list(CLOSURE_ERASES),
        "keeps": list(CLOSURE_KEEPS),
    }


def _plan(session: Session, member: Member) -> tuple[list[Blocker], AccountState, date | None]:
    state = account_state(session, member)
    today = today_shanghai()
    has_records = bool(state.policies or state.order_statuses or state.claim_statuses)
    ends = [end for status, end in state.policies if status != "void"]
    return closure_blockers(state, today), state, retain_until(ends, today, has_records)


def closure_preview(member_id: int) -> dict:
    """Whether the account can be closed now, what blocks it, what closing gives up without
    blocking it (a 复核 still open: privacy_rules.closure_warnings), and what it erases and keeps."""
    with read_scope() as s:
        member = s.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        if member.closed_at is not None:
            return _closure_view(member, [], member.retain_until)
        blockers, _, until = _plan(s, member)
        warnings = closure_warnings(hooks.call(hooks.OPEN_RECHECKS, s, member_id))
        return _closure_view(member, blockers, until, warnings)


def close_account(member_id: int) -> dict:
    """Close the account (see the module doc); 409 account_closure_blocked lists what is
    outstanding. Closing a closed account answers as the first closure did."""
    try:
        with transaction() as s:
            member = s.get(Member, member_id)
            if member is None:
                raise E.member_not_found()
            if member.closed_at is None:
                _close(s, member)
            return _closure_view(member, [], member.retain_until)
    except IntegrityError:
        # a record naming one of the account's people was written meanwhile: nothing was changed
        raise E.account_closure_blocked() from None


def _close(s: Session, member: Member) -> None:
    blockers, _, until = _plan(s, member)
    if blockers:
        raise _blocked(E.account_closure_blocked, blockers)
    now = utcnow()
    people = [member.person_id] if member.person_id else []
    people += list(s.scalars(select(Relative.person_id).where(Relative.member_id == member.id)))
    latest = s.scalar(
        select(Consent)
        .where(Consent.member_id == member.id, Consent.purpose.in_((GRANTED, WITHDRAWN)))
        .order_by(Consent.id.desc())
        .limit(1)
    )
    won = rowcount(
        s.execute(
            update(Member)
            .where(Member.id == member.id, Member.closed_at.is_(None))
            .values(
                closed_at=now,
                retain_until=until,
                openid=f"closed:{member.id}",
                unionid=None,
                person_id=None,
            )
        )
    )
    if won != 1:  # closed meanwhile by a concurrent request: that one did the work
        s.refresh(member)
        return
    revoked = rowcount(
        s.execute(
            update(RefreshToken)
            .where(
                RefreshToken.subject_type == "member",
                RefreshToken.subject_id == member.id,
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    )
    if consent_state(latest.purpose if latest else None) == "granted":
        assert latest is not None
        s.add(
            Consent(
                member_id=member.id,
                subject_person_id=None,
                purpose=WITHDRAWN,
                text_version=latest.text_version,
            )
        )
    s.execute(
        update(RenewalConsent)
        .where(RenewalConsent.member_id == member.id, RenewalConsent.status == "active")
        .values(status="revoked", revoked_at=now)
    )
    s.execute(
        update(OutboxEvent)
        .where(OutboxEvent.member_id == member.id, OutboxEvent.status == "pending")
        .values(status="failed", last_error="account_closed")
    )
    s.execute(delete(Relative).where(Relative.member_id == member.id))
    erased = _erase_unreferenced(s, people)
    audit(
        s,
        actor_type="member",
        actor_id=member.id,
        action="member.closed",
        object_type="member",
        object_id=member.id,
        detail={
            "people_erased": len(erased),
            "people_retained": len(set(people)) - len(erased),
            "refresh_tokens_revoked": revoked,
            "retain_until": until.isoformat() if until else None,
        },
    )
    s.refresh(member)


# --- erasure -----------------------------------------------------------------------------------


def _person_references() -> list:
    """Every column that points at a person, from the models (a new table is covered at once)."""
    return [
        (table, fk.parent)
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "persons"
        and (table.name, fk.parent.name) not in _ERASED_WITH_THE_PERSON
    ]


def _erase_unreferenced(session: Session, person_ids: list[int]) -> list[int]:
    """Erase each of `person_ids` that nothing else points at; the ids erased."""
    session.flush()
    erased = []
    for person_id in dict.fromkeys(person_ids):
        held = any(
            session.scalar(select(column).where(column == person_id).limit(1)) is not None
            for _, column in _person_references()
        )
        if held:
            continue
        session.execute(delete(InsuranceAnswer).where(InsuranceAnswer.person_id == person_id))
        session.execute(
            update(Consent)
            .where(Consent.subject_person_id == person_id)
            .values(subject_person_id=None)
        )
        session.execute(delete(Person).where(Person.id == person_id))
        erased.append(person_id)
    return erased
