"""Invite-campaign use cases.

Staff (an organisation's admins): create a campaign on one of the organisation's own
full-premium programmes, list and read its campaigns, fetch the QR code, revoke.
Public: preview a campaign from the token in its link (nothing personal).
Member: redeem a link for themselves. One transaction does everything or nothing:

    claim a place      UPDATE campaigns SET claimed = claimed + 1
                       WHERE id = :id AND status = 'active' AND expires_on >= :today
                         AND claimed < quota                      (row count checked)
    order + item       status paid, payment_method sponsor, subsidy = the whole premium
                       (the open-item unique index refuses a second cover for the person)
    budget + quota     the programme's own conditional UPDATE (sponsors.take_budget)
    ledger + policy    the same writer as every enrollment (app/enrollment/writer.py)
    redemption         unique (campaign, person)

So the quota and the budget hold under any concurrency (both are conditional UPDATEs on
PostgreSQL row versions), and a lost race rolls everything back, the claimed place included.
Scanning again finds the first redemption and answers with the same policy, or, once that policy
was surrendered, refuses (app/campaigns/surrender.py: the place goes back, not the gift).

Locks are always taken campaign row first, then programme row; order creation and top-ups
lock only the programme row, so no two paths wait on each other in opposite order.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.campaigns import rules, tokens
from app.campaigns.models import Campaign, CampaignRedemption
from app.campaigns.statuses import CampaignStatus
from app.campaigns.surrender import refuse_if_surrendered
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, transaction, utcnow
from app.enrollment.services import already_insured, check_terms
from app.error_catalogue import E, error
from app.errors import Conflict, DomainError
from app.members import privacy
from app.sponsors.capacity import product_of_programme, programme_capacity
from app.sponsors.models import Programme
from app.sponsors.statuses import ProgrammeStatus

log = logging.getLogger(__name__)

PREVIEW_PATH = "/public/campaigns/preview"
LINK_INVALID = "二维码无效或已被篡改，请向发起机构重新索取"
MAX_LIST = 100


def campaign_refused(refusal: rules.Refusal) -> DomainError:
    """A link that cannot be used (revoked, expired, full, paused) or a person it is not for: the
    catalogued error of the code the rules chose, with the status the refusal deserves."""
    return error(refusal.code, refusal.message, status=refusal.status)


def _secret() -> bytes:
    return current_app.config["CAMPAIGN_SIGNING_KEY"].encode()


def link_for(campaign: Campaign) -> str:
    """The signed link the QR code encodes (PUBLIC_BASE_URL + preview path + token)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{PREVIEW_PATH}?token={tokens.sign(_secret(), campaign.public_code)}"


def programme_categories(programme: Programme) -> frozenset[str]:
    """The bureau categories a programme pays for (none for a roster programme)."""
    return (
        frozenset() if programme.roster_only else frozenset(programme.eligibility_categories or [])
    )


def eligibility_of(campaign: Campaign) -> rules.CampaignEligibility:
    return rules.CampaignEligibility(
        categories=frozenset(campaign.eligibility_categories or []),
        min_age=campaign.min_age,
        max_age=campaign.max_age,
        region_prefix=campaign.region_prefix or "",
        programme_categories=programme_categories(campaign.programme),
    )


def eligibility_lines(campaign: Campaign) -> list[str]:
    """Who may use the campaign, in words (the poster's and the invitation page's lines)."""
    return rules.eligibility_lines(eligibility_of(campaign))


def link_state(campaign: Campaign) -> rules.LinkState:
    found = programme_capacity(get_session(), campaign.programme)
    return rules.LinkState(
        status=campaign.status,
        expires_on=campaign.expires_on,
        quota=campaign.quota,
        claimed=campaign.claimed,
        programme_status=campaign.programme.status,
        budget_places=None if found is None else found.people,
    )


def places_left(campaign: Campaign) -> int:
    return rules.places_left(link_state(campaign))


def effective_status(campaign: Campaign) -> str:
    return rules.effective_status(link_state(campaign), today_shanghai())


# --- staff ---------------------------------------------------------------------------------


def create_campaign(
    actor: Principal,
    *,
    programme_id: int,
    name: str,
    quota: int,
    expires_on: date,
    eligibility: dict,
) -> Campaign:
    wanted = rules.CampaignEligibility(
        categories=frozenset(eligibility.get("categories") or []),
        min_age=eligibility.get("min_age"),
        max_age=eligibility.get("max_age"),
        region_prefix=eligibility.get("region_prefix") or "",
    )
    problem = rules.eligibility_problem(wanted)
    if problem is not None:
        raise error(problem.code, problem.message, status=422)
    if expires_on < today_shanghai():
        raise E.campaign_expiry_past()
    with transaction() as session:
        programme = session.scalar(
            select(Programme).where(
                Programme.id == programme_id, Programme.organisation_id == actor.organisation_id
            )
        )
        if programme is None or actor.organisation_id is None:
            raise E.programme_not_found()
        if programme.status == ProgrammeStatus.CLOSED:
            raise E.programme_closed("资助项目已关闭，不能发起邀请")
        problem = rules.eligibility_problem(
            replace(wanted, programme_categories=programme_categories(programme))
        )
        if problem is not None:
            raise error(problem.code, problem.message, status=422)
        if programme.rule_kind != "full":
            # A resident who scans is enrolled at once with nothing to pay; a partial rule would
            # leave a remainder the invitation never asked them to pay.
            raise E.campaign_programme_not_full()
        if expires_on > programme.ends_on:
            raise E.campaign_expiry_after_programme()
        room = programme_capacity(session, programme)
        if room is not None and not room.covers(quota):
            raise E.campaign_quota_over_budget(
                f"名额 {quota} 人超出项目可资助人数：{room.shortfall_text(quota)}。"
                "请减少名额或先追加预算"
            )
        campaign = Campaign(
            public_code=tokens.new_public_code(),
            organisation_id=programme.organisation_id,
            programme_id=programme.id,
            name=name,
            quota=quota,
            claimed=0,
            expires_on=expires_on,
            status=CampaignStatus.ACTIVE,
            eligibility_categories=sorted(wanted.categories),
            min_age=wanted.min_age,
            max_age=wanted.max_age,
            region_prefix=wanted.region_prefix or None,
            created_by_staff_id=actor.id,
        )
        session.add(campaign)
        session.flush()
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="campaign.created",
            object_type="campaign",
            object_id=campaign.id,
            detail={"programme_id": programme.id, "quota": quota},
        )
    return campaign


def get_campaign(actor: Principal, campaign_id: int) -> Campaign:
    """Only the campaign's own organisation sees it; anyone else gets the same 404 as for none."""
    campaign = None
    if actor.organisation_id is not None:
        campaign = get_session().scalar(
            select(Campaign).where(
                Campaign.id == campaign_id, Campaign.organisation_id == actor.organisation_id
            )
        )
    if campaign is None:
        raise E.campaign_not_found()
    return campaign


def list_campaigns(
    actor: Principal, *, programme_id: int | None = None, status: str | None = None
) -> list[Campaign]:
    query = select(Campaign).where(Campaign.organisation_id == actor.organisation_id)
    if programme_id is not None:
        query = query.where(Campaign.programme_id == programme_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(get_session().scalars(query.order_by(Campaign.id.desc()).limit(MAX_LIST)))


def revoke(actor: Principal, campaign_id: int) -> Campaign:
    """Revoke at once: every printed QR code stops working. Revoking twice changes nothing."""
    get_campaign(actor, campaign_id)
    with transaction() as session:
        won = cast(
            CursorResult[Any],
            session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign_id,
                    Campaign.organisation_id == actor.organisation_id,
                    Campaign.status == CampaignStatus.ACTIVE,
                )
                .values(
                    status=CampaignStatus.REVOKED, revoked_at=utcnow(), revoked_by_staff_id=actor.id
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if won:
            audit(
                session,
                actor_type="staff",
                actor_id=actor.id,
                action="campaign.revoked",
                object_type="campaign",
                object_id=campaign_id,
            )
    session = get_session()
    campaign = session.get_one(Campaign, campaign_id)
    session.refresh(campaign)
    return campaign


def qr_png(actor: Principal, campaign_id: int) -> bytes:
    """The campaign link as a QR code PNG (the certificate's QR settings: error correction M,
    quiet zone, at least 300 px), with no metadata chunks."""
    from app.policies.certificate import qr_image

    image = qr_image(link_for(get_campaign(actor, campaign_id)))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- public --------------------------------------------------------------------------------


def campaign_from_token(token: str) -> Campaign:
    """The campaign a link names; a forged, altered or unknown token is one plain 404."""
    try:
        public_code = tokens.verify(_secret(), token)
    except tokens.CampaignTokenInvalid as exc:
        log.info("campaign link refused", extra={"reason": exc.reason})
        raise E.campaign_link_invalid(LINK_INVALID) from None
    campaign = get_session().scalar(select(Campaign).where(Campaign.public_code == public_code))
    if campaign is None:
        raise E.campaign_link_invalid(LINK_INVALID)
    return campaign


def _refuse_if_closed(campaign: Campaign, today: date) -> None:
    refusal = rules.link_refusal(link_state(campaign), today)
    if refusal is not None:
        raise campaign_refused(refusal)


@dataclass(frozen=True)
class Preview:
    campaign: Campaign
    product_name: str | None
    premium_fen_max: int | None
    coverage_start: date | None
    coverage_end: date | None


def preview(token: str) -> Preview:
    from app.products.services import definition_of

    campaign = campaign_from_token(token)
    today = today_shanghai()
    _refuse_if_closed(campaign, today)
    product = product_of_programme(get_session(), campaign.programme, on_sale_on=today)
    if product is None:
        return Preview(campaign, None, None, None, None)
    defn = definition_of(product)
    top = max([defn.premium_default_fen] + [r.premium_fen for r in defn.premium_rules])
    return Preview(campaign, product.name, top, defn.coverage_starts, defn.coverage_ends)


# --- member --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redemption:
    campaign: Campaign
    order: object  # app.enrollment.models.Order
    policy: object  # app.policies.models.Policy
    created: bool  # False: this person had already redeemed this campaign


def _answer(
    session, campaign: Campaign, redemption: CampaignRedemption, created: bool
) -> Redemption:
    """Load everything the answer shows, then end the read transaction. (The Idempotency-Key
    record is written after the request's session has given its connection back: see
    app/common/idempotency.py.)"""
    from app.enrollment.models import Order
    from app.policies.models import Policy

    # Ended by a commit, not read_scope()'s rollback: nothing is pending here, and a commit keeps
    # the loaded objects loaded (expire_on_commit=False) for the answer to show.
    with transaction():
        order = session.get(Order, redemption.order_id)
        policy = session.get(Policy, redemption.policy_id)
        _ = campaign.name, campaign.organisation.name
    return Redemption(campaign, order, policy, created)


def _redemption_of(session, campaign_id: int, person_id: int) -> CampaignRedemption | None:
    return session.scalar(
        select(CampaignRedemption).where(
            CampaignRedemption.campaign_id == campaign_id, CampaignRedemption.person_id == person_id
        )
    )


ALREADY_INSURED = "您本保障年度已投保或有未完成的投保订单，无需再领取"
RELATIVE_ALREADY_INSURED = "该家属本保障年度已投保或有未完成的投保订单，无需再领取"
BUDGET_EXHAUSTED = "资助预算已用完，该邀请暂时无法领取"


def _already(relation: str) -> str:
    return ALREADY_INSURED if relation == "self" else RELATIVE_ALREADY_INSURED


def redeem(
    member_id: int,
    token: str,
    *,
    terms_version: str,
    terms_accepted: bool,
    relative_id: int | None = None,
) -> Redemption:
    """Enroll the member's own verified person, or one of their verified relatives, at the
    sponsor's cost (see the module doc). The relative must fit the campaign's rules and the
    product's relations like anyone else; the member is the policy holder."""
    # A refusal leaves no connection checked out: the Idempotency-Key record of the error answer
    # is written on a connection of its own, and 200 refused scans at once must not each hold one
    # while waiting for another (the pool would run dry). On success _redeem has already
    # committed its writes, so the unit of work's commit at exit finds nothing left to write.
    with transaction():
        return _redeem(
            member_id,
            token,
            terms_version=terms_version,
            terms_accepted=terms_accepted,
            relative_id=relative_id,
        )


def _redeem(
    member_id: int,
    token: str,
    *,
    terms_version: str,
    terms_accepted: bool,
    relative_id: int | None,
) -> Redemption:
    from app.enrollment.quote import Candidate, Payer, SubsidyOffer, age_on, quote
    from app.identity import services as identity
    from app.members.services import get_relative
    from app.products.services import current_terms, definition_of

    campaign = campaign_from_token(token)
    session = get_session()
    member, latest_consent = privacy.member_and_consent(session, member_id)
    privacy.refuse_if_withdrawn(member, latest_consent, "quote_or_order")
    if member is None:
        raise E.member_not_found()
    holder = member.person
    if holder is None:
        raise E.identity_not_verified("请先完成本人医保身份核验")
    person, relation = holder, "self"
    if relative_id is not None:  # another member's relative is a plain 404
        relative = get_relative(member_id, relative_id)
        person, relation = relative.person, relative.relation
    existing = _redemption_of(session, campaign.id, person.id)
    if existing is not None:
        refuse_if_surrendered(session, existing, relation)
        return _answer(session, campaign, existing, False)
    # The checks are a read, ended before the write below starts fresh (the re-verification
    # inside commits on its own).
    with read_scope():
        today = today_shanghai()
        _refuse_if_closed(campaign, today)
        product = product_of_programme(session, campaign.programme, on_sale_on=today)
        if product is None:
            raise E.campaign_product_unavailable()
        defn = definition_of(product)
        terms = current_terms(product)
        check_terms(terms, version=terms_version, accepted=terms_accepted)
        # Eligibility is decided on a fresh bureau answer, as at enrollment.
        if identity.is_stale(person):
            with transaction():
                identity.reverify(session, member_id, person)
        age = age_on(person.birth_date, defn.coverage_starts)
        refusal = rules.eligibility_refusal(
            eligibility_of(campaign),
            rules.PersonFacts(
                identity_flags=frozenset(person.identity_flags or []),
                age=age,
                region_code=person.region_code,
            ),
        )
        if refusal is not None:
            raise campaign_refused(refusal)
        if already_insured(session, person.id, defn.plan_year):
            raise E.campaign_already_insured(_already(relation))
        org = campaign.organisation
        premium = defn.premium_for(insurance_type=person.insurance_type, age=age)
        q = quote(
            defn,
            today,
            Payer(holder.insurance_type, holder.insurance_status, holder.has_personal_account),
            [
                Candidate(
                    person_id=person.id,
                    relation=relation,
                    birth_date=person.birth_date,
                    insurance_type=person.insurance_type,
                    insurance_status=person.insurance_status,
                    region_code=person.region_code,
                    already_insured=False,
                )
            ],
            [SubsidyOffer(person.id, campaign.programme_id, org.name, org.kind, premium)],
        )
        [line] = q.lines
        if not line.eligible:
            reason = line.reasons[0]
            raise error(reason.code, reason.message, status=422)
        if q.total_pay_fen != 0 or not line.subsidies:  # pragma: no cover - full rule, premium > 0
            raise E.campaign_not_free()
    try:
        redemption = _write(
            member_id, holder.id, person.id, relation, campaign, product, defn, terms, line
        )
        return _answer(get_session(), campaign, redemption, True)
    except IntegrityError:
        # Lost a race to ourselves (a double tap) or to another enrollment of this person.
        session = get_session()
        existing = _redemption_of(session, campaign.id, person.id)
        if existing is not None:
            refuse_if_surrendered(session, existing, relation)
            return _answer(session, campaign, existing, False)
        if already_insured(session, person.id, defn.plan_year):
            raise E.campaign_already_insured(_already(relation)) from None
        raise
    except Conflict as exc:
        if exc.code != "subsidy_unavailable":
            raise
        session = get_session()
        session.refresh(campaign.programme)
        session.refresh(campaign)
        closed = rules.link_refusal(link_state(campaign), today_shanghai())
        if closed is not None:
            raise campaign_refused(closed) from None
        raise E.campaign_budget_exhausted(BUDGET_EXHAUSTED) from None


def _write(
    member_id: int,
    holder_id: int,
    person_id: int,
    relation: str,
    campaign: Campaign,
    product,
    defn,
    terms,
    line,
) -> CampaignRedemption:
    from app.enrollment.writer import EnrollmentPlan, Insured, OrderSpec, write_enrollments

    today = today_shanghai()
    with transaction() as session:
        won = cast(
            CursorResult[Any],
            session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign.id,
                    Campaign.status == CampaignStatus.ACTIVE,
                    Campaign.expires_on >= today,
                    Campaign.claimed < Campaign.quota,
                )
                .values(claimed=Campaign.claimed + 1)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if won != 1:
            session.refresh(campaign)
            refusal = rules.link_refusal(link_state(campaign), today) or rules.EXHAUSTED
            raise campaign_refused(refusal)
        [written] = write_enrollments(
            session,
            EnrollmentPlan(
                product_id=product.id,
                plan_year=defn.plan_year,
                defn=defn,
                terms_version=terms.version,
                terms_sha256=terms.sha256,
                terms_agreed_at=utcnow(),
                orders=[
                    OrderSpec(
                        insured=(Insured.of(line, relation),),
                        member_id=member_id,
                        payer_person_id=holder_id,
                    )
                ],
            ),
        )
        [policy_id] = written.policy_ids
        redemption = CampaignRedemption(
            campaign_id=campaign.id,
            person_id=person_id,
            member_id=member_id,
            order_id=written.order_id,
            policy_id=policy_id,
        )
        session.add(redemption)
        session.flush()
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action="campaign.redeemed",
            object_type="campaign",
            object_id=campaign.id,
            detail={
                "order_id": written.order_id,
                "policy_id": policy_id,
                "relation": relation,
            },
        )
    return redemption
