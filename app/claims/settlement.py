"""Claims from the bureau's settlement records (一站式): the insured person's records within the
policy's coverage, and the one-tap claim that turns a record into a submitted claim.
No transaction is held open across a bureau call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.claims import lines as claim_lines
from app.claims import rules, supplements
from app.claims.adjudication_run import process
from app.claims.common import (
    actable_policy,
    disclose_received,
    existing,
    new_claim_no,
    transition,
    verified_member,
)
from app.claims.digests import settlement_digest
from app.claims.episodes import EpisodeKey
from app.claims.intake import set_payee
from app.claims.models import Claim
from app.claims.statuses import ClaimStatus
from app.common.clock import today_shanghai
from app.database import read_scope, transaction, utcnow
from app.error_catalogue import E
from app.members import privacy
from app.members.models import Person
from app.policies.models import Policy
from app.products.models import Product
from app.products.services import definition_of

if TYPE_CHECKING:
    from app.integrations.bureau.port import BureauPort
    from app.integrations.bureau.settlements import SettlementRecord

T = TypeVar("T")


def policy_person(session: Session, member_id: int, policy_id: int) -> tuple[Policy, Person, str]:
    """The policy, its insured person and their bureau person number (医保个人编号)."""
    policy = actable_policy(session, member_id, policy_id)
    person = existing(session, Person, policy.person_id)
    if not person.psn_no:
        # the insured (perhaps a relative), not the member: the detail says whose identity
        raise E.identity_not_verified("被保险人尚未完成医保身份核验", status=403)
    return policy, person, person.psn_no


def _bureau_call(fn: Callable[..., T], *args: Any) -> T:
    from app.integrations.bureau.port import BureauUnavailable

    try:
        return fn(*args)
    except BureauUnavailable:
        raise E.bureau_unavailable() from None


def settlement_record(port: BureauPort, psn_no: str, setl_id: str) -> SettlementRecord:
    record = _bureau_call(port.settlement_record, psn_no, setl_id)
    if record is None or record.cancelled:
        raise E.settlement_not_found()
    if record.care_kind is None:
        raise E.settlement_not_claimable()
    return record


@dataclass(frozen=True)
class RecordView:
    record: object
    claim_id: int | None
    claimable: bool
    reason: str | None = None


def _view(record: SettlementRecord, person_id: int, claims: list[Claim]) -> RecordView:
    """A record is claimable when the bureau's record itself is, and no live claim already
    covers it: by its settlement id, or as the same care episode (paid once)."""
    digest = settlement_digest(record.setl_id)
    for claim in claims:
        if claim.setl_digest == digest:
            return RecordView(record, claim.id, False, f"已提交理赔申请 {claim.claim_no}")
    if record.cancelled:
        return RecordView(record, None, False, "该笔结算已冲销")
    if record.care_kind is None:
        return RecordView(record, None, False, "该医疗类别不属于惠民保保障范围")
    key = EpisodeKey(
        person=str(person_id),
        care_start=record.begndate,
        care_end=record.enddate,
        hospital_name=record.fixmedins_name or "",
        hospital_code=record.fixmedins_code or None,
        mdtrt_id=record.mdtrt_id or None,
    )
    matches = supplements.matches_for(key, claims)
    if matches:
        claim = next(c for c in claims if str(c.id) == matches[0].claim.claim_id)
        return RecordView(
            record,
            claim.id,
            False,
            f"该次就医已提交理赔申请 {claim.claim_no}（{matches[0].message}）；"
            "如有遗漏费用，请在该申请中补充",
        )
    return RecordView(record, None, True)


def settlement_records(member_id: int, policy_id: int) -> list[RecordView]:
    """The insured person's settlement records within the policy's coverage (to today)."""
    from app.integrations.registry import bureau

    with read_scope() as s:  # no transaction held open across the bureau call
        privacy.check_in_session(s, member_id, "new_claim")  # a one-tap claim's first step
        policy, person, psn_no = policy_person(s, member_id, policy_id)
        person_id, start = person.id, policy.coverage_start
        end = min(policy.coverage_end, today_shanghai())
    if end < start:
        return []
    records = _bureau_call(bureau().settlement_records, psn_no, start, end)
    with read_scope() as s:
        # drafts too when they came from a record (the unique index counts them)
        claims = supplements.live_claims(s, person_id) + list(
            s.scalars(
                select(Claim).where(
                    Claim.person_id == person_id,
                    Claim.status == ClaimStatus.DRAFT,
                    Claim.setl_digest.is_not(None),
                )
            )
        )
    return [
        _view(r, person_id, claims)
        for r in sorted(records, key=lambda r: (r.begndate, r.setl_id), reverse=True)
    ]


def claim_from_record(
    record: SettlementRecord,
    *,
    member_id: int,
    person_id: int,
    policy: Policy,
    providers: dict[str, str],
    **extra: Any,
) -> Claim:
    """A draft claim for one bureau settlement record (one-tap claims and the hospital counter
    alike): the stay, the hospital and the settlement's amounts as the product's providers map
    them. `extra` sets the rest (payee, declarations, flags)."""
    return Claim(
        claim_no=new_claim_no(),
        member_id=member_id,
        person_id=person_id,
        policy_id=policy.id,
        product_id=policy.product_id,
        plan_year=policy.plan_year,
        source="settlement",
        setl_id=record.setl_id,
        setl_digest=settlement_digest(record.setl_id),
        mdtrt_id=record.mdtrt_id,
        care_kind=record.care_kind,
        hospital_name=record.fixmedins_name,
        hospital_code=record.fixmedins_code,
        admitted_on=record.begndate,
        discharged_on=record.enddate,
        diagnosis=record.dise_name,
        diagnosis_code=record.dise_codg.strip()[:20] or None,
        patient_name=record.psn_name,
        status=ClaimStatus.DRAFT,
        **rules.settlement_amounts(record, providers),
        **extra,
    )


def claim_from_settlement(
    member_id: int,
    *,
    policy_id: int,
    setl_id: str,
    payee: dict,
    pre_existing_declared: bool = False,
) -> Claim:
    """One tap: the bureau's record becomes a submitted claim (its amounts are trusted, so no
    document is needed), which is adjudicated and, when approved automatically, paid."""
    from app.integrations.registry import bureau

    with read_scope() as s:  # ended before the bureau call
        privacy.refuse_if_withdrawn(*privacy.member_and_consent(s, member_id), "new_claim")
        psn_no = policy_person(s, member_id, policy_id)[2]
    record = settlement_record(bureau(), psn_no, setl_id)
    fee_lines = claim_lines.bureau_fee_lines(bureau(), psn_no, record)  # before any transaction
    with transaction() as s:
        member = verified_member(s, member_id)
        policy = actable_policy(s, member_id, policy_id)
        person = existing(s, Person, policy.person_id)
        product = definition_of(existing(s, Product, policy.product_id))
        claim = claim_from_record(
            record,
            member_id=member_id,
            person_id=person.id,
            policy=policy,
            providers=product.settlement_providers,
            pre_existing_declared=pre_existing_declared,
            health="pre_existing" if pre_existing_declared else "healthy",
        )
        set_payee(claim, member, person, payee)
        claim.flags = _record_flags(record, person)
        s.add(claim)
        try:
            s.flush()
        except IntegrityError:
            raise E.settlement_already_claimed() from None
        if fee_lines is None:
            claim.flags = [*claim.flags, claim_lines.inconsistent_flag()]
        else:
            claim_lines.store(s, claim, fee_lines, "bureau")
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="claim.created",
            object_type="claim",
            object_id=claim.id,
            detail={"source": "settlement"},
        )
        transition(
            s, claim, "submit", actor_type="member", actor_id=member_id, submitted_at=utcnow()
        )
        disclose_received(s, claim)
    return process(claim.id)


def _record_flags(record: SettlementRecord, person: Person) -> list[dict]:
    """What the bureau record itself shows: identities it breaks, another person's record."""
    from app.integrations.bureau.settlements import INCONSISTENCIES, settlement_inconsistencies

    flags = [
        {"code": "settlement_inconsistent", "zh": f"医保结算记录金额不一致：{INCONSISTENCIES[c]}"}
        for c in settlement_inconsistencies(record)
    ]
    if record.psn_no != person.psn_no:
        flags.append({"code": "person_mismatch", "zh": "医保结算记录的参保人与被保险人不一致"})
    return flags
