"""Claim use cases. Each public function owns its transaction(s).

Money-affecting steps are split so that no outside call happens inside a database transaction:
submit (commit) -> adjudicate (commit; settles the accumulators when approved) -> payout
(a pending Payout row is committed before the transfer is asked for, so a crash leaves a
recoverable pending state that `reconcile_payouts` finishes).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.adjudication.engine import adjudicate as run_engine
from app.adjudication.model import Adjudication, BasicInsurance, Insured, PolicyCover
from app.adjudication.model import Claim as EngineClaim
from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims import accumulators, rules
from app.claims.models import (
    Claim,
    ClaimDocument,
    ClaimInvoice,
    ClaimLedgerEntry,
    ClaimTransition,
    Payout,
)
from app.claims.workflow import EDITABLE, FILED, STATUS_LABELS, next_status
from app.common.clock import SHANGHAI, today_shanghai
from app.database import get_session, transaction, utcnow
from app.errors import Conflict, DomainError, NotFound, UpstreamUnavailable, ValidationFailed
from app.identity.services import is_stale, reverify
from app.members.models import Member, Person
from app.ops.metrics import claim_outcome
from app.outbox.services import enqueue
from app.policies.models import Policy
from app.policies.services import _visible as policy_visible_to
from app.products.models import Product
from app.products.services import definition_of

log = logging.getLogger(__name__)

SETTLE_ATTEMPTS = 8
PAYOUT_ATTEMPTS = 3
PERMANENT_PAYOUT_FAILURES = (
    "account_invalid",
    "payee_name_mismatch",
    "account_frozen",
    "account_closed",
)
CARE_KIND_LABELS = {
    "in_patient": "住院",
    "emergency": "急诊",
    "day_surgery": "日间手术",
    "chronic_outpatient": "门诊慢特病",
    "special_drug": "特药",
}


# --- public disclosure (maintained aggregates, app/disclosure) -----------------------------------


def _disclose_received(session, claim: Claim) -> None:
    from app.disclosure.aggregates import record_claim_received

    record_claim_received(session, claim.product_id, claim.plan_year, today_shanghai())


def _disclose_settled(session, claim: Claim, payable_fen: int) -> None:
    """Counted once, at the claim's first final decision (paid, closed or rejected). A denial
    later overturned on human review stays counted as first decided; its payment is counted
    when made."""
    from app.disclosure.aggregates import record_claim_settled

    if not claim.settlement_disclosed:
        record_claim_settled(
            session, claim.product_id, claim.plan_year, today_shanghai(), payable_fen
        )
        claim.settlement_disclosed = True


# --- access ---------------------------------------------------------------------------------------


def new_claim_no() -> str:
    return "CL" + datetime.now(SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(6).upper()


def _actable_policy(session, member_id: int, policy_id: int) -> Policy:
    """A policy the member may claim on: their own, or a relative's that they paid for."""
    policy = session.scalar(
        select(Policy).where(Policy.id == policy_id, policy_visible_to(member_id))
    )
    if policy is None:
        raise NotFound("保单不存在", code="policy_not_found")
    return policy


def _own_claim(session, member_id: int, claim_id: int) -> Claim:
    claim = session.scalar(select(Claim).where(Claim.id == claim_id, Claim.member_id == member_id))
    if claim is None:
        raise NotFound("理赔申请不存在", code="claim_not_found")
    return claim


def _transition(
    session,
    claim: Claim,
    action: str,
    *,
    actor_type: str,
    actor_id: int | None,
    outcome: str | None = None,
    reason: str | None = None,
    **changes,
) -> None:
    """Move the claim with a conditional UPDATE on its current status (a concurrent change makes
    this one a 409), record the transition, apply `changes` to the row."""
    old = claim.status
    new = next_status(old, action, outcome)
    moved = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == old)
        .values(status=new, updated_at=utcnow(), **changes)
    ).rowcount
    if moved != 1:
        raise Conflict("理赔申请刚刚被其他操作更新，请刷新后重试", code="claim_state_conflict")
    session.add(
        ClaimTransition(
            claim_id=claim.id,
            action=action,
            from_status=old,
            to_status=new,
            actor_type=actor_type,
            actor_id=actor_id,
            reason=reason,
        )
    )
    session.flush()
    session.refresh(claim)


def _notify(session, claim: Claim, kind: str, **extra) -> None:
    enqueue(
        session,
        member_id=claim.member_id,
        kind=kind,
        payload={
            "claim_no": claim.claim_no,
            "status": STATUS_LABELS[claim.status],
            "page": f"pages/claims/detail?id={claim.id}",
            **extra,
        },
    )


# --- intake ---------------------------------------------------------------------------------------


INTAKE_FIELDS = (
    "care_kind",
    "hospital_name",
    "hospital_code",
    "admitted_on",
    "discharged_on",
    "diagnosis",
    "patient_name",
    "pre_existing_declared",
    *rules.AMOUNT_FIELDS,
)


def _apply_fields(
    session, claim: Claim, member: Member, policy: Policy, person: Person, fields: dict
) -> None:
    for name in INTAKE_FIELDS:
        if name in fields:
            setattr(claim, name, fields[name])
    if "pre_existing_declared" in fields and claim.health_set_by == "member":
        claim.health = "pre_existing" if fields["pre_existing_declared"] else "healthy"
    if "payee" in fields:
        _set_payee(claim, member, person, fields["payee"])
    if "invoices" in fields:
        claim.invoices = [
            ClaimInvoice(
                issuer=i["issuer"].strip(), number=i["number"].strip(), amount_fen=i["amount_fen"]
            )
            for i in fields["invoices"]
        ]
    if claim.admitted_on and claim.discharged_on and claim.discharged_on < claim.admitted_on:
        raise ValidationFailed(
            "出院日期不能早于入院日期",
            code="care_dates_invalid",
            errors={"json": {"discharged_on": ["出院日期不能早于入院日期"]}},
        )
    for day_field in ("admitted_on", "discharged_on"):
        day = getattr(claim, day_field)
        if day is not None and day > today_shanghai():
            raise ValidationFailed(
                "就医日期不能晚于今天",
                code="care_date_in_future",
                errors={"json": {day_field: ["就医日期不能晚于今天"]}},
            )


def _set_payee(claim: Claim, member: Member, person: Person, payee: dict) -> None:
    from app.security.crypto import cipher

    account = payee["bank_account"].replace(" ", "")
    member_name = member.person.name if member.person else None
    refusal = rules.payee_refusal(
        payee_name=payee["name"],
        bank_account=account,
        insured_name=person.name,
        insured_birth=person.birth_date,
        member_name=member_name,
        today=today_shanghai(),
    )
    if refusal:
        code, message = refusal
        raise ValidationFailed(message, code=code, errors={"json": {"payee": [message]}})
    claim.payee_name = payee["name"]
    claim.payee_bank_name = payee["bank_name"]
    claim.payee_account_enc = cipher().encrypt(account, "claims.payee_account")
    claim.payee_account_last4 = account[-4:]


def _member(session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.person is None:
        raise DomainError("请先完成医保身份核验", code="identity_not_verified", status=403)
    return member


def create_claim(member_id: int, *, policy_id: int, fields: dict) -> Claim:
    """A draft claim filed with documents (照片理赔)."""
    with transaction() as s:
        member = _member(s, member_id)
        policy = _actable_policy(s, member_id, policy_id)
        person = s.get(Person, policy.person_id)
        claim = Claim(
            claim_no=new_claim_no(),
            member_id=member_id,
            person_id=person.id,
            policy_id=policy.id,
            product_id=policy.product_id,
            plan_year=policy.plan_year,
            source="documents",
            status="draft",
        )
        s.add(claim)
        _apply_fields(s, claim, member, policy, person, fields)
        s.flush()
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="claim.created",
            object_type="claim",
            object_id=claim.id,
            detail={"source": "documents"},
        )
    return claim


def update_claim(member_id: int, claim_id: int, fields: dict) -> Claim:
    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status not in EDITABLE:
            raise Conflict("理赔申请已提交，不能再修改", code="claim_not_editable")
        if claim.source == "settlement" and set(fields) & set(rules.AMOUNT_FIELDS):
            raise ValidationFailed(
                "医保结算数据来自医保部门，不能修改", code="settlement_amounts_locked"
            )
        member = _member(s, member_id)
        policy = s.get(Policy, claim.policy_id)
        person = s.get(Person, claim.person_id)
        _apply_fields(s, claim, member, policy, person, fields)
    return claim


def delete_draft(member_id: int, claim_id: int) -> None:
    from app.integrations.registry import storage

    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status != "draft":
            raise Conflict("只能删除草稿", code="claim_not_draft")
        keys = [
            d.storage_key
            for d in s.scalars(select(ClaimDocument).where(ClaimDocument.claim_id == claim.id))
        ]
        s.execute(ClaimDocument.__table__.delete().where(ClaimDocument.claim_id == claim.id))
        s.delete(claim)
    for key in keys:  # after the commit: a crash here leaves an orphan blob, never a dangling row
        try:
            storage().delete(key)
        except Exception:
            log.warning("could not delete blob of a deleted draft")


def list_claims(member_id: int) -> list[Claim]:
    return list(
        get_session().scalars(
            select(Claim).where(Claim.member_id == member_id).order_by(Claim.id.desc()).limit(100)
        )
    )


def get_claim(member_id: int, claim_id: int) -> Claim:
    return _own_claim(get_session(), member_id, claim_id)


def required_documents(claim: Claim) -> list[str]:
    if claim.source == "settlement" or not claim.care_kind:
        return []
    product = get_session().get(Product, claim.product_id)
    return list(definition_of(product).required_documents.get(claim.care_kind, ()))


def missing_documents(claim: Claim) -> list[str]:
    return rules.missing_documents(required_documents(claim), [d.doc_type for d in claim.documents])


def _check_complete(claim: Claim) -> None:
    errors: dict[str, list[str]] = {}
    for name, label in (
        ("care_kind", "就医类型"),
        ("hospital_name", "医院"),
        ("admitted_on", "入院（就诊）日期"),
        ("discharged_on", "出院日期"),
        ("diagnosis", "诊断"),
        ("payee_account_enc", "收款账户"),
    ):
        if not getattr(claim, name):
            errors[name.replace("_enc", "").replace("payee_account", "payee")] = [f"请填写{label}"]
    if claim.medfee_sumamt_fen <= 0:
        errors["medfee_sumamt_fen"] = ["请填写医疗费用总额"]
    if claim.source == "documents" and not claim.invoices:
        errors["invoices"] = ["请至少填写一张发票"]
    if errors:
        raise ValidationFailed(
            "理赔申请信息不完整", code="claim_incomplete", errors={"json": errors}
        )
    missing = missing_documents(claim)
    if missing:
        labels = _doc_labels()
        raise ValidationFailed(
            "缺少材料：" + "、".join(labels.get(m, m) for m in missing),
            code="claim_documents_missing",
            errors={"json": {"documents": missing}},
        )


def _doc_labels() -> dict[str, str]:
    from app.documents.types import DOCUMENT_TYPE_LABELS

    return DOCUMENT_TYPE_LABELS


def submit(member_id: int, claim_id: int) -> Claim:
    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status != "draft":
            return claim  # a repeated submit is an idempotent no-op
        _check_complete(claim)
        _transition(
            s, claim, "submit", actor_type="member", actor_id=member_id, submitted_at=utcnow()
        )
        _disclose_received(s, claim)
    return process(claim.id)


def process(claim_id: int) -> Claim:
    """Adjudicate a submitted claim, then pay it if it was approved automatically."""
    claim = adjudicate(claim_id)
    if claim.status == "approved":
        claim = pay(claim_id)
    return claim


# --- settlement records (一站式) ------------------------------------------------------------------


def _policy_person(session, member_id: int, policy_id: int) -> tuple[Policy, Person]:
    policy = _actable_policy(session, member_id, policy_id)
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


def _settlement(port, psn_no: str, setl_id: str):
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
    policy, person = _policy_person(s, member_id, policy_id)
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
    policy, person = _policy_person(s, member_id, policy_id)
    psn_no = person.psn_no
    s.rollback()
    record = _settlement(bureau(), psn_no, setl_id)
    with transaction() as s:
        member = _member(s, member_id)
        policy = _actable_policy(s, member_id, policy_id)
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
        _set_payee(claim, member, person, payee)
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
        _transition(
            s, claim, "submit", actor_type="member", actor_id=member_id, submitted_at=utcnow()
        )
        _disclose_received(s, claim)
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


# --- the engine -----------------------------------------------------------------------------------


def _renewal_years(session, person_id: int, plan_year: int) -> int:
    years = set(
        session.scalars(
            select(Policy.plan_year).where(
                Policy.person_id == person_id, Policy.plan_year < plan_year, Policy.status != "void"
            )
        )
    )
    n = 0
    while plan_year - n - 1 in years:
        n += 1
    return n


def engine_claim(amounts: dict, care_kind: str, care_date: date, admission_id: str | None):
    return EngineClaim(
        care_kind=care_kind,
        care_date=care_date,
        medfee_sumamt_fen=amounts["medfee_sumamt_fen"],
        hifp_pay_fen=amounts["hifp_pay_fen"],
        hifmi_pay_fen=amounts["hifmi_pay_fen"],
        hifob_pay_fen=amounts["hifob_pay_fen"],
        maf_pay_fen=amounts["maf_pay_fen"],
        in_policy_self_pay_fen=amounts["in_policy_self_pay_fen"],
        out_of_policy_self_pay_fen=amounts["out_of_policy_self_pay_fen"],
        special_drugs_fen=amounts["special_drugs_fen"],
        admission_id=admission_id,
    )


def _insured(session, person: Person, health: str, plan_year: int) -> Insured:
    suspended = person.insurance_status == "suspended"
    basic = BasicInsurance(
        status="suspended" if suspended else "active",
        suspended_from=person.suspended_since if suspended else None,
    )
    return Insured(
        basic_insurance=basic,
        health=health,
        healthy_renewal_years=_renewal_years(session, person.id, plan_year),
    )


def _cover(policy: Policy) -> PolicyCover:
    return PolicyCover(
        coverage_starts=policy.coverage_start,
        coverage_ends=policy.coverage_end,
        status=policy.status,
    )


def _run(session, claim: Claim, acc) -> Adjudication:
    product = session.get(Product, claim.product_id)
    policy = session.get(Policy, claim.policy_id)
    person = session.get(Person, claim.person_id)
    amounts = {k: getattr(claim, k) for k in rules.AMOUNT_FIELDS}
    return run_engine(
        definition_of(product),
        engine_claim(amounts, claim.care_kind, claim.admitted_on, claim.mdtrt_id or claim.claim_no),
        _cover(policy),
        _insured(session, person, claim.health, claim.plan_year),
        acc,
    )


def adjudication_json(result: Adjudication) -> dict:
    return {
        "decision": result.decision,
        "payable_fen": result.payable_fen,
        "reason_codes": list(result.reason_codes),
        "lines": [
            {"code": l.code, "zh": l.zh, "en": l.en, "bucket": l.bucket} for l in result.lines
        ],
        "buckets": [
            {
                "bucket": b.bucket,
                "name": b.name,
                "counted_fen": b.counted_fen,
                "excluded_fen": b.excluded_fen,
                "deductible_fen": b.deductible_fen,
                "after_ratio_fen": b.after_ratio_fen,
                "after_sub_caps_fen": b.after_sub_caps_fen,
                "payable_fen": b.payable_fen,
            }
            for b in result.buckets
        ],
    }


def _fraud(session, claim: Claim, person: Person, policy: Policy) -> list[rules.Flag]:
    cfg = current_app.config
    others = Claim.id != claim.id
    duplicate_invoices = []
    for inv in claim.invoices:
        seen = session.scalar(
            select(func.count())
            .select_from(ClaimInvoice)
            .join(Claim, Claim.id == ClaimInvoice.claim_id)
            .where(
                ClaimInvoice.issuer == inv.issuer,
                ClaimInvoice.number == inv.number,
                others,
                Claim.status != "draft",
            )
        )
        if seen:
            duplicate_invoices.append(f"{inv.issuer}/{inv.number}")
    duplicate_setl = bool(claim.setl_id) and bool(
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.setl_id == claim.setl_id, others, Claim.status != "draft")
        )
    )
    window = int(cfg.get("CLAIMS_FREQUENCY_WINDOW_DAYS", 30))
    since = utcnow() - timedelta(days=window)
    recent = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.person_id == person.id, others, Claim.submitted_at >= since)
    )
    # what the bureau record itself showed when the claim was created from it
    extra = [
        rules.Flag(f["code"], f["zh"])
        for f in claim.flags or []
        if f.get("code") in ("settlement_inconsistent", "person_mismatch")
    ]
    if person.insurance_status is None:
        extra.append(rules.Flag("identity_not_matched", "医保部门未能核实被保险人的身份信息"))
    facts = rules.FraudFacts(
        care_start=claim.admitted_on,
        care_end=claim.discharged_on or claim.admitted_on,
        coverage_start=policy.coverage_start,
        coverage_end=policy.coverage_end,
        amounts={k: getattr(claim, k) for k in rules.AMOUNT_FIELDS},
        insured_name=person.name,
        patient_name=claim.patient_name,
        insured_psn_no=person.psn_no,
        duplicate_invoices=tuple(duplicate_invoices),
        duplicate_settlement=duplicate_setl,
        claims_in_window=recent,
        frequency_limit=int(cfg.get("CLAIMS_FREQUENCY_LIMIT", 4)),
        frequency_window_days=window,
        extra=tuple(extra),
    )
    return rules.fraud_flags(facts)


def _refresh_identity(claim_id: int) -> None:
    """Re-verify the insured with the bureau when the snapshot is stale (a name or ID number the
    bureau no longer matches becomes a flag, never a silent pass)."""
    s = get_session()
    claim = s.get(Claim, claim_id)
    person = s.get(Person, claim.person_id)
    if not is_stale(person):
        s.rollback()
        return
    try:
        with transaction() as t:
            reverify(t, claim.member_id, t.get(Person, claim.person_id))
    except ValidationFailed:
        with transaction() as t:
            t.get(Person, claim.person_id).insurance_status = None
    except (UpstreamUnavailable, DomainError):
        log.info("re-verification skipped for claim %s: bureau unavailable", claim_id)


def adjudicate(claim_id: int) -> Claim:
    """submitted -> approved (settled now) | pending_review | rejected (automatic)."""
    _refresh_identity(claim_id)
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                claim = s.get(Claim, claim_id)
                if claim.status != "submitted":
                    return claim
                person = s.get(Person, claim.person_id)
                policy = s.get(Policy, claim.policy_id)
                year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
                version = year.version
                result = _run(s, claim, accumulators.read(s, year))
                flags = _fraud(s, claim, person, policy)
                claim.flags = [{"code": f.code, "zh": f.zh} for f in flags]
                claim.decision, claim.payable_fen = result.decision, result.payable_fen
                claim.adjudication = adjudication_json(result)
                outcome, reason = _route(claim, result, flags)
                if outcome == "approved":
                    _settle(s, claim, year, version, result)
                _transition(
                    s,
                    claim,
                    "adjudicate",
                    actor_type="system",
                    actor_id=None,
                    outcome=outcome,
                    reason=reason,
                    decided_at=utcnow(),
                    auto_rejected=outcome == "rejected",
                )
                if outcome == "approved":
                    _after_approval(s, claim, actor_type="system", actor_id=None)
                else:
                    if outcome == "rejected":
                        _disclose_settled(s, claim, 0)
                    _notify(s, claim, "claim_" + outcome)
            claim_outcome(claim.status)
            return claim
        except accumulators.StaleAccumulators:
            continue
    raise Conflict("理赔系统繁忙，请稍后重试", code="claim_busy")


def _route(claim: Claim, result: Adjudication, flags) -> tuple[str, str]:
    if flags:
        return "pending_review", "；".join(f.zh for f in flags)
    if result.decision == "not_payable":
        return "rejected", "；".join(
            l.zh
            for l in result.lines
            if l.code in result.reason_codes and l.code not in ("payable_total",)
        ) or "不符合赔付条件"
    if result.decision == "review":
        return "pending_review", "理赔规则要求人工审核"
    if claim.source != "settlement":
        return "pending_review", "材料理赔需人工审核票据"
    product = get_session().get(Product, claim.product_id)
    limit = definition_of(product).auto_approve_max_fen
    if limit is None:
        limit = int(current_app.config.get("CLAIMS_AUTO_APPROVE_MAX_FEN", 0))
    if result.payable_fen > limit:
        return "pending_review", f"赔付金额超过自动核准上限 {limit / 100:.2f} 元"
    return "approved", "医保结算数据直连，规则全部通过，自动核准"


def _settle(session, claim: Claim, year, version: int, result: Adjudication) -> None:
    accumulators.apply(session, year, version, result.deltas)
    claim.approved_fen = result.payable_fen
    claim.applied_deltas = accumulators.deltas_to_json(result.deltas)
    if result.payable_fen > 0:
        session.add(
            ClaimLedgerEntry(
                claim_id=claim.id, kind="claim_approved", amount_fen=result.payable_fen
            )
        )


def _after_approval(session, claim: Claim, *, actor_type: str, actor_id: int | None) -> None:
    if not claim.approved_fen:
        _disclose_settled(session, claim, 0)
        _transition(
            session,
            claim,
            "pay",
            actor_type=actor_type,
            actor_id=actor_id,
            outcome="closed",
            reason="本次可赔付金额为 0 元（计入年度免赔额）",
            paid_at=utcnow(),
        )
        _notify(session, claim, "claim_closed")
    else:
        _notify(session, claim, "claim_approved", amount=f"{claim.approved_fen / 100:.2f}")


def estimate(
    member_id: int,
    *,
    policy_id: int,
    amounts: dict | None = None,
    care_kind: str | None = None,
    care_date: date | None = None,
    setl_id: str | None = None,
    pre_existing: bool = False,
) -> Adjudication:
    """What a claim would pay now, against the person's current accumulators; changes nothing."""
    s = get_session()
    if setl_id is not None:
        from app.integrations.registry import bureau

        policy, person = _policy_person(s, member_id, policy_id)
        psn_no = person.psn_no
        s.rollback()
        record = _settlement(bureau(), psn_no, setl_id)
        amounts, care_kind, care_date = (
            rules.settlement_amounts(record),
            record.care_kind,
            record.begndate,
        )
    policy = _actable_policy(s, member_id, policy_id)
    person = s.get(Person, policy.person_id)
    product = s.get(Product, policy.product_id)
    year = s.scalar(
        select(accumulators.AccumulatorYear).where(
            accumulators.AccumulatorYear.person_id == person.id,
            accumulators.AccumulatorYear.product_id == policy.product_id,
            accumulators.AccumulatorYear.plan_year == policy.plan_year,
        )
    )
    acc = accumulators.read(s, year) if year is not None else None
    full = {k: 0 for k in rules.AMOUNT_FIELDS} | dict(amounts or {})
    try:
        result = run_engine(
            definition_of(product),
            engine_claim(full, care_kind, care_date, None),
            _cover(policy),
            _insured(s, person, "pre_existing" if pre_existing else "healthy", policy.plan_year),
            acc,
        )
    finally:
        s.rollback()
    return result


# --- documents ------------------------------------------------------------------------------------


def upload_document(
    member_id: int, claim_id: int, doc_type: str, data: bytes, declared_media_type: str | None
) -> ClaimDocument:
    from app.documents.sanitise import sanitise
    from app.integrations.registry import storage
    from app.integrations.storage.port import StorageUnavailable, claim_document_key

    s = get_session()
    claim = _own_claim(s, member_id, claim_id)
    if claim.status not in EDITABLE:
        raise Conflict("当前状态不能上传材料", code="claim_not_editable")
    limit = int(current_app.config.get("CLAIM_DOCUMENTS_MAX", 30))
    count = s.scalar(
        select(func.count())
        .select_from(ClaimDocument)
        .where(ClaimDocument.claim_id == claim.id, ClaimDocument.deleted_at.is_(None))
    )
    if count >= limit:
        raise ValidationFailed(f"每笔理赔最多上传 {limit} 份材料", code="too_many_documents")
    s.rollback()
    clean = sanitise(data, declared_media_type=declared_media_type)
    key = claim_document_key(claim_id)
    try:
        storage().put(key, clean.content, clean.media_type)
    except StorageUnavailable:
        raise UpstreamUnavailable(
            "材料存储暂时无法访问，请稍后重试", code="storage_unavailable"
        ) from None
    try:
        with transaction() as s:
            claim = _own_claim(s, member_id, claim_id)
            if claim.status not in EDITABLE:
                raise Conflict("当前状态不能上传材料", code="claim_not_editable")
            doc = ClaimDocument(
                claim_id=claim.id,
                doc_type=doc_type,
                storage_key=key,
                media_type=clean.media_type,
                size_bytes=len(clean.content),
                sha256=clean.sha256,
            )
            s.add(doc)
    except Exception:
        storage().delete(key)  # the row did not commit: the blob must not linger
        raise
    return doc


def _document(session, claim: Claim, doc_id: int) -> ClaimDocument:
    doc = session.scalar(
        select(ClaimDocument).where(
            ClaimDocument.id == doc_id,
            ClaimDocument.claim_id == claim.id,
            ClaimDocument.deleted_at.is_(None),
        )
    )
    if doc is None:
        raise NotFound("材料不存在", code="document_not_found")
    return doc


def _blob(key: str) -> bytes:
    from app.integrations.registry import storage
    from app.integrations.storage.port import ObjectNotFound, StorageUnavailable

    try:
        return storage().get(key)
    except ObjectNotFound:
        log.error("claim document blob missing from storage")
        raise NotFound("材料不存在", code="document_not_found") from None
    except StorageUnavailable:
        raise UpstreamUnavailable(
            "材料存储暂时无法访问，请稍后重试", code="storage_unavailable"
        ) from None


def member_document(member_id: int, claim_id: int, doc_id: int) -> tuple[ClaimDocument, bytes]:
    s = get_session()
    doc = _document(s, _own_claim(s, member_id, claim_id), doc_id)
    return doc, _blob(doc.storage_key)


def delete_document(member_id: int, claim_id: int, doc_id: int) -> None:
    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status not in EDITABLE:
            raise Conflict("当前状态不能删除材料", code="claim_not_editable")
        _document(s, claim, doc_id).deleted_at = utcnow()


def staff_document(actor: Principal, claim_id: int, doc_id: int) -> tuple[ClaimDocument, bytes]:
    """Only the reviewer the claim is assigned to; the read is audited in its own committed
    transaction before the bytes leave."""
    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.assigned_staff_id != actor.id:
            raise NotFound("材料不存在", code="document_not_found")
        doc = _document(s, claim, doc_id)
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.document.read",
            object_type="claim_document",
            object_id=doc.id,
            detail={"claim_id": claim.id},
        )
    return doc, _blob(doc.storage_key)


# --- member answers ---------------------------------------------------------------------------------


def answer(member_id: int, claim_id: int, message: str) -> Claim:
    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status != "more_info_requested":
            raise Conflict("当前没有需要补充的材料", code="claim_state_conflict")
        wanted = (claim.info_request or {}).get("documents", [])
        have_since = {
            d.doc_type
            for d in claim.documents
            if d.uploaded_at >= _as_aware((claim.info_request or {}).get("at"))
        }
        missing = [d for d in wanted if d not in have_since]
        if missing:
            labels = _doc_labels()
            raise ValidationFailed(
                "请先上传：" + "、".join(labels.get(m, m) for m in missing),
                code="claim_documents_missing",
                errors={"json": {"documents": missing}},
            )
        _check_complete(claim)
        info = dict(claim.info_request or {}) | {
            "answer": message,
            "answered_at": utcnow().isoformat(),
        }
        _transition(
            s,
            claim,
            "answer",
            actor_type="member",
            actor_id=member_id,
            reason=message,
            info_request=info,
        )
    return claim


def _as_aware(value: str | None) -> datetime:
    if not value:
        return datetime.min.replace(tzinfo=SHANGHAI)
    return datetime.fromisoformat(value)


def request_human_review(member_id: int, claim_id: int, reason: str) -> Claim:
    """PIPL art. 24: a person may refuse a decision made only by automated means."""
    with transaction() as s:
        claim = _own_claim(s, member_id, claim_id)
        if claim.status != "rejected" or not claim.auto_rejected:
            raise Conflict(
                "只有系统自动作出的拒赔决定可以申请人工复核", code="human_review_not_available"
            )
        _transition(
            s,
            claim,
            "request_human_review",
            actor_type="member",
            actor_id=member_id,
            reason=reason,
            human_review_requested_at=utcnow(),
            auto_rejected=False,
        )
    return claim


# --- reviewers ------------------------------------------------------------------------------------


def queue(
    actor: Principal,
    *,
    status: str | None = None,
    assigned: str | None = None,
    flag: str | None = None,
    care_kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Claim]:
    q = select(Claim).where(Claim.status.in_(FILED))
    q = q.where(Claim.status == (status or "pending_review"))
    if assigned == "me":
        q = q.where(Claim.assigned_staff_id == actor.id)
    elif assigned == "unassigned":
        q = q.where(Claim.assigned_staff_id.is_(None))
    if care_kind:
        q = q.where(Claim.care_kind == care_kind)
    if before_id:
        q = q.where(Claim.id < before_id)
    rows = list(
        get_session().scalars(q.order_by(Claim.id.desc()).limit(limit if not flag else 1000))
    )
    if flag:
        rows = [c for c in rows if any(f.get("code") == flag for f in c.flags or [])][:limit]
    return rows


def staff_get(actor: Principal, claim_id: int) -> Claim:
    """A claim with its health data: every staff read is audited in the same transaction."""
    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.status == "draft":
            raise NotFound("理赔申请不存在", code="claim_not_found")
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.read",
            object_type="claim",
            object_id=claim.id,
        )
    return claim


def _reviewable(session, actor: Principal, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status == "draft":
        raise NotFound("理赔申请不存在", code="claim_not_found")
    if claim.assigned_staff_id != actor.id:
        raise DomainError("请先将该理赔申请分配给自己", code="claim_not_assigned", status=409)
    return claim


def assign(actor: Principal, claim_id: int, staff_id: int | None) -> Claim:
    from app.auth.models import StaffAccount

    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.status == "draft":
            raise NotFound("理赔申请不存在", code="claim_not_found")
        target = staff_id if staff_id is not None else actor.id
        if actor.role == "reviewer" and target != actor.id:
            raise DomainError("审核员只能将理赔申请分配给自己", code="forbidden", status=403)
        account = s.get(StaffAccount, target)
        if account is None or account.role != "reviewer" or getattr(account, "disabled", False):
            raise ValidationFailed("只能分配给有效的审核员", code="reviewer_not_found")
        claim.assigned_staff_id = target
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.assigned",
            object_type="claim",
            object_id=claim.id,
            detail={"to": target},
        )
    return claim


def request_info(actor: Principal, claim_id: int, message: str, documents: list[str]) -> Claim:
    with transaction() as s:
        claim = _reviewable(s, actor, claim_id)
        _transition(
            s,
            claim,
            "request_info",
            actor_type="staff",
            actor_id=actor.id,
            reason=message,
            info_request={"message": message, "documents": documents, "at": utcnow().isoformat()},
        )
        _notify(s, claim, "claim_more_info_requested", message=message[:20])
    return claim


def reject(actor: Principal, claim_id: int, reason_code: str, reason: str) -> Claim:
    with transaction() as s:
        claim = _reviewable(s, actor, claim_id)
        _transition(
            s,
            claim,
            "reject",
            actor_type="staff",
            actor_id=actor.id,
            reason=f"{reason_code}: {reason}",
            decided_at=utcnow(),
            auto_rejected=False,
        )
        _disclose_settled(s, claim, 0)
        _notify(s, claim, "claim_rejected")
    return claim


def redetermine(actor: Principal, claim_id: int, health: str, reason: str) -> Claim:
    """Override the pre-existing determination; the engine re-runs (nothing is settled yet)."""
    with transaction() as s:
        claim = _reviewable(s, actor, claim_id)
        claim.health, claim.health_set_by = health, "reviewer"
        year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
        result = _run(s, claim, accumulators.read(s, year))
        claim.decision, claim.payable_fen = result.decision, result.payable_fen
        claim.adjudication = adjudication_json(result)
        _transition(
            s,
            claim,
            "redetermine",
            actor_type="staff",
            actor_id=actor.id,
            reason=f"既往症认定改为 {'既往症' if health == 'pre_existing' else '健康体'}：{reason}",
        )
    return claim


def approve(actor: Principal, claim_id: int, reason: str) -> Claim:
    """Settle at the engine's figure against the accumulators as they are now (other claims of
    the year may have settled since the claim was first adjudicated)."""
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                claim = _reviewable(s, actor, claim_id)
                next_status(claim.status, "approve")
                year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
                version = year.version
                result = _run(s, claim, accumulators.read(s, year))
                claim.decision, claim.payable_fen = result.decision, result.payable_fen
                claim.adjudication = adjudication_json(result)
                if result.decision == "not_payable":
                    raise Conflict(
                        "按理赔规则本案不予赔付，请选择拒赔并说明理由", code="claim_not_payable"
                    )
                _settle(s, claim, year, version, result)
                _transition(
                    s,
                    claim,
                    "approve",
                    actor_type="staff",
                    actor_id=actor.id,
                    reason=reason,
                    decided_at=utcnow(),
                )
                _after_approval(s, claim, actor_type="staff", actor_id=actor.id)
            break
        except accumulators.StaleAccumulators:
            continue
    else:
        raise Conflict("理赔系统繁忙，请稍后重试", code="claim_busy")
    return pay(claim_id)


# --- payout ---------------------------------------------------------------------------------------


def _payee(claim: Claim):
    from app.integrations.payout.port import Payee
    from app.security.crypto import cipher

    return Payee(
        name=claim.payee_name,
        bank_name=claim.payee_bank_name,
        bank_account=cipher().decrypt(claim.payee_account_enc, "claims.payee_account"),
    )


def pay(claim_id: int) -> Claim:
    """Start (or resume) the transfer of an approved claim."""
    from app.integrations.registry import payout

    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim.status != "approved" or not claim.approved_fen:
            return claim
        live = s.scalar(
            select(Payout).where(Payout.claim_id == claim.id, Payout.status != "failed")
        )
        if live is not None:
            return claim  # in flight: reconcile_payouts resolves it
        attempt = 1 + (
            s.scalar(select(func.count()).select_from(Payout).where(Payout.claim_id == claim.id))
            or 0
        )
        row = Payout(
            claim_id=claim.id,
            request_id=f"{claim.claim_no}P{attempt}",
            attempt=attempt,
            amount_fen=claim.approved_fen,
        )
        s.add(row)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict("理赔款正在支付中", code="payout_in_progress") from None
        payout_id, request_id, payee = row.id, row.request_id, _payee(claim)
        amount, memo = row.amount_fen, f"惠民保理赔 {claim.claim_no}"
    try:
        result = payout().transfer(request_id, payee, amount, memo)
    except Exception as exc:
        log.warning("payout transfer for claim %s left pending: %s", claim_id, type(exc).__name__)
        return get_session().get(Claim, claim_id)
    return record_payout(payout_id, result)


def record_payout(payout_id: int, result) -> Claim:
    """Apply a transfer outcome exactly once (a conditional UPDATE from pending)."""
    paid_now = None
    with transaction() as s:
        row = s.get(Payout, payout_id)
        claim = s.get(Claim, row.claim_id)
        if result.status == "pending" or row.status != "pending":
            return claim
        moved = s.execute(
            update(Payout)
            .where(Payout.id == row.id, Payout.status == "pending")
            .values(
                status=result.status,
                external_id=result.external_id,
                failure_code=result.failure_code,
                updated_at=utcnow(),
            )
        ).rowcount
        if moved != 1:
            return claim
        if result.status == "succeeded":
            s.add(
                ClaimLedgerEntry(
                    claim_id=claim.id,
                    payout_id=row.id,
                    kind="claim_payout",
                    amount_fen=-row.amount_fen,
                )
            )
            _transition(
                s,
                claim,
                "pay",
                actor_type="system",
                actor_id=None,
                outcome="paid",
                reason=f"理赔款 {row.amount_fen / 100:.2f} 元已转账",
                paid_fen=claim.paid_fen + row.amount_fen,
                paid_at=utcnow(),
            )
            _disclose_settled(s, claim, row.amount_fen)
            from app.disclosure.aggregates import record_claim_paid

            record_claim_paid(
                s, claim.product_id, claim.plan_year, today_shanghai(), row.amount_fen
            )
            _notify(s, claim, "claim_paid", amount=f"{row.amount_fen / 100:.2f}")
            paid_now = row.amount_fen
        elif result.failure_code in PERMANENT_PAYOUT_FAILURES or row.attempt >= PAYOUT_ATTEMPTS:
            flags = list(claim.flags or []) + [
                {"code": "payout_failed", "zh": f"理赔款转账失败（{result.failure_code}）"}
            ]
            _reverse_approval(s, claim)
            _transition(
                s,
                claim,
                "payout_failed",
                actor_type="system",
                actor_id=None,
                reason=f"转账失败：{result.failure_code}",
                flags=flags,
            )
            _notify(s, claim, "claim_payout_failed")
    if paid_now is not None:
        claim_outcome("paid", paid_now)
    return claim


def _reverse_approval(session, claim: Claim) -> None:
    """A claim going back to review gives back what settling it consumed, so the reviewer's
    next approval re-runs the engine against honest accumulators."""
    applied = claim.applied_deltas or {}
    year = accumulators.year_of(session, claim.person_id, claim.product_id, claim.plan_year)
    for kind, amounts in applied.items():
        for key, amount in amounts.items():
            session.execute(
                update(accumulators.AccumulatorEntry)
                .where(
                    accumulators.AccumulatorEntry.year_id == year.id,
                    accumulators.AccumulatorEntry.kind == kind,
                    accumulators.AccumulatorEntry.key == key,
                )
                .values(value_fen=accumulators.AccumulatorEntry.value_fen - amount)
            )
    session.execute(
        update(accumulators.AccumulatorYear)
        .where(accumulators.AccumulatorYear.id == year.id)
        .values(version=accumulators.AccumulatorYear.version + 1)
    )
    if claim.approved_fen:
        session.add(
            ClaimLedgerEntry(
                claim_id=claim.id, kind="approval_reversed", amount_fen=-claim.approved_fen
            )
        )
    claim.approved_fen, claim.applied_deltas = None, None


def reconcile_payouts(min_age_seconds: int = 60) -> dict[str, int]:
    """Resolve transfers left pending (timeouts) by querying, and retry approved claims whose
    last transfer failed for a transient reason."""
    from app.integrations.payout.port import PAYOUT_NOT_FOUND
    from app.integrations.registry import payout

    s = get_session()
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    pending = list(
        s.scalars(select(Payout.id).where(Payout.status == "pending", Payout.created_at <= cutoff))
    )
    retry = list(
        s.scalars(select(Claim.id).where(Claim.status == "approved", Claim.approved_fen > 0))
    )
    s.rollback()
    counts = {"resolved": 0, "still_pending": 0, "retried": 0}
    for payout_id in pending:
        request_id = get_session().get(Payout, payout_id).request_id
        get_session().rollback()
        try:
            result = payout().query(request_id)
            if result.status == PAYOUT_NOT_FOUND:
                # The request never reached the bank: send it again under the SAME request id
                # (a late arrival of the first one is then the same transfer, never a second).
                row = get_session().get(Payout, payout_id)
                claim = get_session().get(Claim, row.claim_id)
                payee, amount = _payee(claim), row.amount_fen
                get_session().rollback()
                result = payout().transfer(
                    request_id, payee, amount, f"惠民保理赔 {claim.claim_no}"
                )
        except Exception:
            get_session().rollback()
            counts["still_pending"] += 1
            continue
        record_payout(payout_id, result)
        counts["resolved" if result.status != "pending" else "still_pending"] += 1
    for claim_id in retry:
        before = get_session().scalar(
            select(func.count()).select_from(Payout).where(Payout.claim_id == claim_id)
        )
        pay(claim_id)
        after = get_session().scalar(
            select(func.count()).select_from(Payout).where(Payout.claim_id == claim_id)
        )
        counts["retried"] += int(after > before)
    return counts


def adjudicate_pending() -> int:
    """Claims left 'submitted' by a crash between submit and adjudication."""
    ids = list(get_session().scalars(select(Claim.id).where(Claim.status == "submitted")))
    get_session().rollback()
    for claim_id in ids:
        process(claim_id)
    return len(ids)


def rerun_for_product(product_code: str, *, apply: bool) -> list[dict]:
    """Re-run the engine for the product's open claims after a product change. Claims waiting
    for a reviewer get the new figures when `apply`; settled claims are only reported (their
    money has moved; a difference is for a person to handle)."""
    from app.products.services import get_product

    product = get_product(product_code, include_retired=True)
    out = []
    with transaction() as s:
        claims = list(
            s.scalars(
                select(Claim).where(
                    Claim.product_id == product.id,
                    Claim.status.in_(
                        ("pending_review", "more_info_requested", "approved", "paid", "closed")
                    ),
                )
            )
        )
        for claim in claims:
            year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
            acc = accumulators.read(s, year)
            result = _run(s, claim, acc)
            before = claim.payable_fen
            settled = claim.status in ("approved", "paid", "closed")
            if apply and not settled:
                claim.decision, claim.payable_fen = result.decision, result.payable_fen
                claim.adjudication = adjudication_json(result)
            out.append(
                {
                    "claim_no": claim.claim_no,
                    "status": claim.status,
                    "before_fen": before,
                    "after_fen": result.payable_fen,
                    "settled": settled,
                }
            )
        if not apply:
            s.rollback()
    return out


def check_claim_ledger() -> list[str]:
    """Per claim: ledger sum == approved - paid (approved is kept while money is owed)."""
    s = get_session()
    sums = dict(
        s.execute(
            select(ClaimLedgerEntry.claim_id, func.sum(ClaimLedgerEntry.amount_fen)).group_by(
                ClaimLedgerEntry.claim_id
            )
        ).all()
    )
    problems = []
    for claim in s.scalars(select(Claim).where(Claim.status.in_(FILED))):
        owed = (
            (claim.approved_fen or 0) - claim.paid_fen
            if claim.status in ("approved", "paid")
            else 0
        )
        if sums.get(claim.id, 0) != owed:
            problems.append(
                f"claim {claim.claim_no}: ledger {sums.get(claim.id, 0)} != owed {owed}"
            )
    s.rollback()
    return problems


def claims_filed_on(session, policy: Policy) -> bool:
    """The refund rule's hook: has a claim been filed on this policy?"""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.policy_id == policy.id, Claim.status.in_(FILED))
        )
    )


# --- FHIR export (app/disclosure/fhir.py maps these views to Claim / ClaimResponse) ---------------

AMOUNT_LABELS = {
    "medfee_sumamt_fen": ("医疗费用总额", "total cost"),
    "hifp_pay_fen": ("基本医保统筹支付", "basic insurance"),
    "hifmi_pay_fen": ("居民大病保险支付", "critical-illness insurance"),
    "hifob_pay_fen": ("职工大额医疗补助支付", "employee large-amount insurance"),
    "maf_pay_fen": ("医疗救助支付", "medical assistance"),
    "in_policy_self_pay_fen": ("政策范围内个人自付", "in-policy self-pay"),
    "out_of_policy_self_pay_fen": ("政策范围外个人自费", "out-of-policy self-pay"),
    "special_drugs_fen": ("特药个人负担", "special drugs"),
}


def fhir_claims(session, member_id: int):
    """The member's filed claims as plain views for the FHIR export (no ID numbers, no
    diagnosis text: the views carry what the resources need)."""
    from app.disclosure import fhir
    from app.disclosure.services import patient_ref

    claims = session.scalars(
        select(Claim)
        .where(Claim.member_id == member_id, Claim.status.in_(FILED))
        .order_by(Claim.id)
    )
    for claim in claims:
        policy = session.get(Policy, claim.policy_id)
        items = tuple(
            fhir.AmountLine(code=k.removesuffix("_fen"), zh=zh, en=en, amount_fen=getattr(claim, k))
            for k, (zh, en) in AMOUNT_LABELS.items()
            if k != "medfee_sumamt_fen" and getattr(claim, k)
        )
        view = fhir.ClaimView(
            claim_no=claim.claim_no,
            status=claim.status,
            created=claim.created_at,
            care_kind=claim.care_kind,
            provider_name=claim.hospital_name or "",
            admission_date=claim.admitted_on,
            discharge_date=claim.discharged_on,
            policy_no=policy.policy_no,
            patient=patient_ref(session.get(Person, claim.person_id)),
            items=items,
            total_fen=claim.medfee_sumamt_fen,
        )
        adjudication = None
        if claim.adjudication and claim.decided_at:
            payable = claim.approved_fen if claim.approved_fen is not None else claim.payable_fen
            adjudication = fhir.AdjudicationView(
                decided_at=claim.decided_at,
                lines=tuple(
                    fhir.AdjudicationLine(
                        code=line["code"],
                        zh=line["zh"],
                        en=line["en"],
                        amount_fen=payable if line["code"] == "payable_total" else None,
                    )
                    for line in claim.adjudication["lines"]
                ),
                claimed_fen=sum(getattr(claim, k) for k in rules.MEMBER_AMOUNTS),
                payable_fen=payable or 0,
                paid_fen=claim.paid_fen if claim.status == "paid" else None,
                paid_on=claim.paid_at.astimezone(SHANGHAI).date() if claim.paid_at else None,
            )
        yield view, adjudication


def claims_paid_on(session, policy_ids):
    """Sponsor reports' anonymised outcomes: how many claims were paid on these policies and how
    much, with nothing else about them (app/sponsors/reports.py suppresses small counts)."""
    from app.sponsors.reports import ClaimsPaid

    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Claim.paid_fen), 0)).where(
            Claim.policy_id.in_(policy_ids), Claim.status == "paid"
        )
    ).one()
    return ClaimsPaid(int(count), int(total))
