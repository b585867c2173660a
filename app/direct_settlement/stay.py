"""What the counter reads about a person's stay before it quotes or settles, in a few statements.

A trial and a confirmation need the same facts as a member's one-tap claim (the person, the
policy in force on the date of care, who the claim belongs to, the accumulators, the claims
that may cover the same care, the bureau's answers kept as history, the catalogues in force);
the claims code reads them one by one in many small statements. The patient waits at the
counter, so here they are read together: the person with every policy and who paid it (one
statement), the accumulator year with its entries (one), the claims (one), the history (one)
and the catalogues (claims.lines.match). Then the same rules run on them: the fraud rules
(`fraud_flags_of`), the episode rules (`supplements.matches_for`), the engine (`quote_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from app.adjudication.model import Accumulators, Adjudication
from app.catalogues.matching import FeeLine, LineMatch
from app.claims import accumulators, supplements
from app.claims import lines as claim_lines
from app.claims import rules as claim_rules
from app.claims.adjudication_run import fraud_flags_of, insured_from, renewal_years
from app.claims.digests import settlement_digest
from app.claims.episodes import EpisodeKey
from app.claims.estimate import quote_on
from app.claims.models import AccumulatorEntry, AccumulatorYear, Claim
from app.claims.settlement import claim_from_record
from app.claims.statuses import ClaimStatus
from app.database import utcnow
from app.direct_settlement.models import DirectSettlement
from app.direct_settlement.statuses import DirectStatus
from app.enrollment.models import Order, OrderItem
from app.error_catalogue import E
from app.identity.periods import InsuranceHistory
from app.identity.services import insurance_history
from app.integrations.bureau.settlements import SettlementRecord
from app.members.models import Member, Person
from app.policies.models import Policy, PolicyStatus
from app.products.definition import ProductDefinition
from app.products.models import Product
from app.products.services import definition_by_digest

_ENDED = {PolicyStatus.SURRENDERED: "退保", PolicyStatus.VOID: "终止"}
# for a cashier: the claim may be this counter's own earlier settlement, or the member's claim
_ALREADY = (
    "该次就医已有理赔记录 {}（已一站式结算或参保人已申请理赔），不能再次结算；"
    "如需重新结算，请先撤销原结算"
)


@dataclass
class Stay:
    """The facts read for one settlement record of one person."""

    record: SettlementRecord
    setl_digest: str | None  # the record's settlement number as claims carry it (digests.py)
    person: Person
    member_id: int | None
    policy: Policy
    definition: ProductDefinition
    renewal_years: int
    # the person's filed claims and any other person's claim of this settlement (not drafts)
    claims: list[Claim]
    acc: Accumulators | None = None
    year: tuple[int, int] | None = None  # (id, version moved to) when locked (confirm)
    history: InsuranceHistory | None = None
    # claims of this settlement a hospital cancelled at the counter (撤销): no use of it any more
    cancelled_at_counter: frozenset[int] = frozenset()

    @property
    def live_claims(self) -> list[Claim]:
        return [
            c
            for c in self.claims
            if c.person_id == self.person.id and c.status not in supplements.LIVE_EXCLUDED
        ]


def _statements() -> dict:
    """The hot statements, built once (each is a template with bound parameters): building a
    statement's expression tree costs more CPU than sending it."""
    own = (
        select(Member.id)
        .where(Member.person_id == Person.id)
        .order_by(Member.id)
        .limit(1)
        .scalar_subquery()
    )
    payer = (
        select(Order.member_id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(OrderItem.id == Policy.order_item_id)
        .scalar_subquery()
    )
    people = (
        select(Person, Policy, own, payer, Product.definition_sha256, Product.window_closes)
        .outerjoin(Policy, and_(Policy.person_id == Person.id, Policy.status != PolicyStatus.VOID))
        .outerjoin(Product, Product.id == Policy.product_id)
        .order_by(Person.id, Policy.id)
    )
    return {
        "by_id": people.where(Person.id == bindparam("person_id")),
        "by_psn_no": people.where(
            Person.id
            == select(Person.id)
            .where(Person.psn_no == bindparam("psn_no"))
            .order_by(Person.id)
            .limit(1)
            .scalar_subquery()
        ),
        "entries": select(
            AccumulatorEntry.kind, AccumulatorEntry.key, AccumulatorEntry.value_fen
        ).where(AccumulatorEntry.year_id == bindparam("year_id")),
        "year": select(
            AccumulatorYear.id,
            AccumulatorEntry.kind,
            AccumulatorEntry.key,
            AccumulatorEntry.value_fen,
        )
        .outerjoin(AccumulatorEntry, AccumulatorEntry.year_id == AccumulatorYear.id)
        .where(
            AccumulatorYear.person_id == bindparam("person_id"),
            AccumulatorYear.product_id == bindparam("product_id"),
            AccumulatorYear.plan_year == bindparam("plan_year"),
        ),
        "claims": select(Claim)
        .where(
            or_(
                Claim.person_id == bindparam("person_id"),
                Claim.setl_digest == bindparam("setl_digest"),
            ),
            Claim.status != ClaimStatus.DRAFT,
        )
        .order_by(Claim.id),
    }


_SQL = _statements()


def person_known(s: Session, psn_no: str) -> bool:
    return s.scalar(select(Person.id).where(Person.psn_no == psn_no).limit(1)) is not None


def read_stay(
    s: Session,
    record: SettlementRecord,
    *,
    person_id: int | None = None,
    lock_year: bool = False,
) -> Stay:
    """The stay's facts (see the module doc), for the person `person_id` or else the one the
    record's psn_no names (404 direct_person_unknown). `lock_year` (a confirmation, inside its
    transaction) creates and locks the accumulator year first, so no other claim of the year can
    settle before this transaction ends; the claims are read after it, so they include any claim
    settled before the lock."""
    if person_id is None:
        rows = s.execute(_SQL["by_psn_no"], {"psn_no": record.psn_no}).all()
    else:
        rows = s.execute(_SQL["by_id"], {"person_id": person_id}).all()
    if not rows:
        raise E.direct_person_unknown()
    person = rows[0][0]
    in_force = [
        row
        for row in rows
        if row[1] is not None
        and row[1].status == PolicyStatus.ACTIVE
        and row[1].coverage_start <= record.care_date <= row[1].coverage_end
    ]
    if not in_force:
        ended = [
            r[1]
            for r in rows
            if r[1] is not None and r[1].coverage_start <= record.care_date <= r[1].coverage_end
        ]
        if (
            ended
        ):  # covered that day once, but surrendered or void since (say so, not "not covered")
            raise E.direct_policy_not_in_force(
                f"保单 {ended[0].policy_no} 已{_ENDED.get(ended[0].status, '终止')}，不能一站式结算"
            )
        raise E.direct_policy_not_in_force()
    _, policy, own, payer, digest, window_closes = in_force[0]
    years = {r[1].plan_year for r in rows if r[1] is not None and r[1].plan_year < policy.plan_year}
    definition = definition_by_digest(s, policy.product_id, digest, window_closes)
    year = None
    if lock_year:
        year = accumulators.lock_year(s, person.id, policy.product_id, policy.plan_year)
        entries = s.execute(_SQL["entries"], {"year_id": year[0]})
        acc: Accumulators | None = accumulators.from_entries(entries)
    else:
        acc = _accumulators(s, person.id, policy)
    digest = settlement_digest(record.setl_id)
    claims = list(s.scalars(_SQL["claims"], {"person_id": person.id, "setl_digest": digest}))
    reversed_ = [
        c.id for c in claims if c.setl_digest == digest and c.status == ClaimStatus.REJECTED
    ]
    cancelled: frozenset[int] = frozenset()
    if reversed_:  # rare: read only then
        cancelled = frozenset(
            s.scalars(
                select(DirectSettlement.claim_id).where(
                    DirectSettlement.claim_id.in_(reversed_),
                    DirectSettlement.status == DirectStatus.CANCELLED,
                )
            )
        )
    return Stay(
        record=record,
        setl_digest=digest,
        person=person,
        member_id=own if own is not None else payer,
        policy=policy,
        definition=definition,
        renewal_years=renewal_years(years, policy.plan_year),
        claims=claims,
        acc=acc,
        year=year,
        history=insurance_history(s, person.id),
        cancelled_at_counter=cancelled,
    )


def _accumulators(s: Session, person_id: int, policy: Policy) -> Accumulators | None:
    """The person-year's accumulators as they stand (None before its first settled claim)."""
    rows = s.execute(
        _SQL["year"],
        {"person_id": person_id, "product_id": policy.product_id, "plan_year": policy.plan_year},
    ).all()
    if not rows:
        return None
    return accumulators.from_entries((k, key, v) for _, k, key, v in rows if k is not None)


def refuse_if_claimed(stay: Stay) -> None:
    """Paid once: no live claim may already cover this settlement or this care episode."""
    record, claims = stay.record, stay.live_claims
    for claim in claims:
        if claim.setl_digest == stay.setl_digest:
            raise E.direct_episode_claimed(_ALREADY.format(claim.claim_no))
    key = EpisodeKey(
        person=str(stay.person.id),
        care_start=record.begndate,
        care_end=record.enddate,
        hospital_name=record.fixmedins_name,
        hospital_code=record.fixmedins_code or None,
        mdtrt_id=record.mdtrt_id,
    )
    matches = supplements.matches_for(key, claims)
    if matches:
        claim_no = next(c.claim_no for c in claims if str(c.id) == matches[0].claim.claim_id)
        raise E.direct_episode_claimed(_ALREADY.format(claim_no) + f"（{matches[0].message}）")


def new_claim(stay: Stay) -> Claim:
    """The claim the counter settles (not added to any session)."""
    assert stay.member_id is not None
    return claim_from_record(
        stay.record,
        member_id=stay.member_id,
        person_id=stay.person.id,
        policy=stay.policy,
        providers=stay.definition.settlement_providers,
        flags=[],
    )


def refuse_if_flagged(stay: Stay, claim: Claim) -> None:
    """The claims pipeline's fraud rules (claims.adjudication_run.fraud_flags_of) on the claim
    the counter would settle, on the facts read with the stay. A flag sends a member's claim to
    a reviewer and never pays it automatically; nobody reviews at the counter, so a flagged stay
    is refused here (409 direct_needs_review, the flags in `errors.flags`, nothing changes): the
    patient pays the hospital in full and claims afterwards, where the same flags reach a
    reviewer."""
    since = utcnow() - timedelta(days=current_app.config["CLAIMS_FREQUENCY_WINDOW_DAYS"])
    others = [c for c in stay.claims if c.id != claim.id]
    episode = supplements.same_episode_among(
        claim, [c for c in stay.live_claims if c.id != claim.id]
    )
    flags = fraud_flags_of(
        claim,
        stay.person,
        stay.policy,
        duplicate_invoices=(),  # a settlement record has no invoices
        # a settlement the hospital cancelled is settled again under a new number (a correction)
        duplicate_settlement=any(
            c.setl_digest == claim.setl_digest and c.id not in stay.cancelled_at_counter
            for c in others
        ),
        claims_in_window=sum(
            1
            for c in others
            if c.person_id == stay.person.id
            and c.submitted_at is not None
            and c.submitted_at >= since
        ),
        episode=episode,
    )
    if flags:
        raise E.direct_needs_review(
            "风险核查需人工审核，请患者出院后申请理赔：" + "；".join(f.zh for f in flags),
            errors={"flags": [{"code": f.code, "zh": f.zh} for f in flags]},
        )


def quote(
    s: Session, stay: Stay, fee_lines: list[FeeLine], care_date: date
) -> tuple[Adjudication, LineMatch | None]:
    """The engine on the stay, as the one-tap claim would run it, and its lines as matched
    (None when it has none)."""
    record = stay.record
    matched = None
    if fee_lines:
        matched = claim_lines.match(
            s,
            stay.policy.product_id,
            stay.definition,
            care_date,
            fee_lines,
            (record.fixmedins_code, record.fixmedins_name),
            claim_lines.CapHolder(stay.person.id, stay.policy.plan_year),
        )
    amounts = {k: 0 for k in claim_rules.AMOUNT_FIELDS} | claim_rules.settlement_amounts(
        record, stay.definition.settlement_providers
    )
    insured = insured_from(stay.person, "healthy", care_date, stay.history, stay.renewal_years)
    result = quote_on(
        stay.definition,
        stay.policy,
        amounts,
        record.care_kind,
        care_date,
        insured,
        stay.acc,
        matched,
        record.mdtrt_id,
        diagnosis=(record.dise_codg, record.dise_name),
    )
    return result, matched
