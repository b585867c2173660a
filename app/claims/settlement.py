"""Claims from the bureau's settlement records (一站式): the insured person's records within the
policy's coverage, and the one-tap claim that turns a record into a submitted claim.
No transaction is held open across a bureau call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.services import record as audit
from app.claims import rules
from app.claims.adjudication_run import process
from app.claims.common import (
    actable_policy,
    disclose_received,
    new_claim_no,
    transition,
    verified_member,
)
from app.claims.intake import set_payee
from app.claims.models import Claim
from app.common.clock import today_shanghai
from app.database import get_session, transaction, utcnow
from app.errors import Conflict, DomainError, NotFound, UpstreamUnavailable, ValidationFailed
from app.members.models import Person
from app.policies.models import Policy


def policy_person(session, member_id: int, policy_id: int) -> tuple[Policy, Person]:
    policy = actable_policy(session, member_id, policy_id)
    person = session.get(Person, policy.person_id)
    if not person.psn_no:
        raise DomainError("被保险人尚未完成医保身份核验", code="identity_not_verified", status=403)
    return policy, person


def _bureau_call(fn, *args):
    from app.integrations.bureau.port import BureauUnavailable

    try:
        return fn(*args)
    except BureauUnavailable:
        raise UpstreamUnavailable(
            "医保部门系统暂时无法访问，请稍后重试", code="bureau_unavailable"
        ) from None


def settlement_record(port, psn_no: str, setl_id: str):
    record = _bureau_call(port.settlement_record, psn_no, setl_id)
    if record is None or record.cancelled:
        raise NotFound("未找到该医保结算记录（或已冲销）", code="settlement_not_found")
    if record.care_kind is None:
        raise ValidationFailed(
            "该笔结算的医疗类别（如普通门诊）不属于惠民保保障范围", code="settlement_not_claimable"
        )
    return record


@dataclass(frozen=True)
class RecordView:
    record: object
    claim_id: int | None
    claimable: bool


def settlement_records(member_id: int, policy_id: int) -> list[RecordView]:
    """The insured person's settlement records within the policy's coverage (to today)."""
    from app.integrations.registry import bureau

    s = get_session()
    policy, person = policy_person(s, member_id, policy_id)
    end = min(policy.coverage_end, today_shanghai())
    if end < policy.coverage_start:
        return []
    s.rollback()  # no transaction held open across the bureau call
    records = _bureau_call(bureau().settlement_records, person.psn_no, policy.coverage_start, end)
    claimed = dict(
        s.execute(
            select(Claim.setl_id, Claim.id).where(
                Claim.person_id == person.id,
                Claim.setl_id.in_([r.setl_id for r in records]),
                Claim.status != "rejected",
            )
        ).all()
    )
    views = []
    for r in sorted(records, key=lambda r: (r.begndate, r.setl_id), reverse=True):
        views.append(
            RecordView(
                r, claimed.get(r.setl_id), claimable=r.claimable and r.setl_id not in claimed
            )
        )
    return views


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

    s = get_session()
    policy, person = policy_person(s, member_id, policy_id)
    psn_no = person.psn_no
    s.rollback()
    record = settlement_record(bureau(), psn_no, setl_id)
    with transaction() as s:
        member = verified_member(s, member_id)
        policy = actable_policy(s, member_id, policy_id)
        person = s.get(Person, policy.person_id)
        amounts = rules.settlement_amounts(record)
        claim = Claim(
            claim_no=new_claim_no(),
            member_id=member_id,
            person_id=person.id,
            policy_id=policy.id,
            product_id=policy.product_id,
            plan_year=policy.plan_year,
            source="settlement",
            setl_id=record.setl_id,
            mdtrt_id=record.mdtrt_id,
            care_kind=record.care_kind,
            hospital_name=record.fixmedins_name,
            hospital_code=record.fixmedins_code,
            admitted_on=record.begndate,
            discharged_on=record.enddate,
            diagnosis=record.dise_name,
            pre_existing_declared=pre_existing_declared,
            health="pre_existing" if pre_existing_declared else "healthy",
            status="draft",
            **amounts,
        )
        set_payee(claim, member, person, payee)
        claim.patient_name = record.psn_name
        claim.flags = _record_flags(record, person)
        s.add(claim)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(
                "该医保结算记录已提交过理赔", code="settlement_already_claimed"
            ) from None
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


def _record_flags(record, person: Person) -> list[dict]:
    """What the bureau record itself shows: identities it breaks, another person's record."""
    from app.integrations.bureau.settlements import INCONSISTENCIES, settlement_inconsistencies

    flags = [
        {"code": "settlement_inconsistent", "zh": f"医保结算记录金额不一致：{INCONSISTENCIES[c]}"}
        for c in settlement_inconsistencies(record)
    ]
    if record.psn_no != person.psn_no:
        flags.append({"code": "person_mismatch", "zh": "医保结算记录的参保人与被保险人不一致"})
    return flags
