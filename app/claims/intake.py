"""Claim intake (照片理赔): drafts filed with documents, their fields and payee, the
completeness check, and submission (which hands the claim to `process`)."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.claims import rules
from app.claims.adjudication_run import process
from app.claims.common import (
    actable_policy,
    disclose_received,
    document_labels,
    existing,
    new_claim_no,
    own_claim,
    transition,
    verified_member,
)
from app.claims.digests import invoice_digest
from app.claims.models import Claim, ClaimDocument, ClaimInvoice
from app.claims.statuses import ClaimStatus
from app.claims.workflow import EDITABLE
from app.common.clock import today_shanghai
from app.common.money import yuan_plain
from app.database import get_session, transaction, utcnow
from app.error_catalogue import E, error
from app.members import privacy
from app.members.models import Member, Person
from app.policies.models import Policy
from app.products.definition import CHRONIC_OUTPATIENT
from app.products.models import Product
from app.products.services import definition_of

log = logging.getLogger(__name__)


INTAKE_FIELDS = (
    "care_kind",
    "hospital_name",
    "hospital_code",
    "admitted_on",
    "discharged_on",
    "diagnosis",
    "diagnosis_code",
    "patient_name",
    "pre_existing_declared",
    *rules.AMOUNT_FIELDS,
)


def _invoice(fields: dict) -> ClaimInvoice:
    issuer, number = fields["issuer"].strip(), fields["number"].strip()
    return ClaimInvoice(
        issuer=issuer,
        number=number,
        number_digest=invoice_digest(issuer, number),
        amount_fen=fields["amount_fen"],
    )


def _apply_fields(
    session: Session, claim: Claim, member: Member, policy: Policy, person: Person, fields: dict
) -> None:
    for name in INTAKE_FIELDS:
        if name in fields:
            setattr(claim, name, fields[name])
    if "amounts" in fields:
        apply_amounts(session, claim, fields["amounts"])
    if "pre_existing_declared" in fields and claim.health_set_by == "member":
        claim.health = "pre_existing" if fields["pre_existing_declared"] else "healthy"
    if "payee" in fields:
        set_payee(claim, member, person, fields["payee"])
    if "invoices" in fields:
        claim.invoices = [_invoice(i) for i in fields["invoices"]]
    if claim.admitted_on and claim.discharged_on and claim.discharged_on < claim.admitted_on:
        raise E.care_dates_invalid(errors={"json": {"discharged_on": ["出院日期不能早于入院日期"]}})
    for day_field in ("admitted_on", "discharged_on"):
        day = getattr(claim, day_field)
        if day is not None and day > today_shanghai():
            raise E.care_date_in_future(errors={"json": {day_field: ["就医日期不能晚于今天"]}})


def checked_amounts(session: Session, product_id: int, amounts: dict) -> dict[str, int]:
    """An `amounts` object (kind -> fen), checked against the kinds the product's buckets count:
    an unknown kind is a 422 naming it and the kinds this product takes."""
    product = definition_of(existing(session, Product, product_id))
    allowed = product.claim_amount_kinds()
    unknown = rules.unknown_amount_kinds(amounts, allowed)
    if unknown:
        names = "、".join(f"{k}（{product.amount_kind_name(k)}）" for k in allowed)
        raise E.claim_amount_kind_unknown(
            f"本产品没有“{'、'.join(unknown)}”这项费用；可填写：{names}",
            errors={"json": {"amounts": {k: ["本产品不保障这项费用"] for k in unknown}}},
        )
    return dict(amounts)


def apply_amounts(session: Session, claim: Claim, amounts: dict) -> None:
    """Amounts by kind: a kind with a column is written to it (the same as its fixed field),
    any other kind to `other_amounts`, merged (0 clears a kind)."""
    columns, other = rules.split_amounts(checked_amounts(session, claim.product_id, amounts))
    for column, fen in columns.items():
        setattr(claim, column, fen)
    merged = {**(claim.other_amounts or {}), **other}
    claim.other_amounts = {k: v for k, v in merged.items() if v} or None


def set_payee(claim: Claim, member: Member, person: Person, payee: dict) -> None:
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
        raise error(code, message, errors={"json": {"payee": [message]}})
    claim.payee_name = payee["name"]
    claim.payee_bank_name = payee["bank_name"]
    claim.payee_account_enc = cipher().encrypt(account, "claims.payee_account")
    claim.payee_account_last4 = account[-4:]


def create_claim(member_id: int, *, policy_id: int, fields: dict) -> Claim:
    """A draft claim filed with documents (照片理赔)."""
    with transaction() as s:
        privacy.refuse_if_withdrawn(*privacy.member_and_consent(s, member_id), "new_claim")
        member = verified_member(s, member_id)
        policy = actable_policy(s, member_id, policy_id)
        person = existing(s, Person, policy.person_id)
        claim = Claim(
            claim_no=new_claim_no(),
            member_id=member_id,
            person_id=person.id,
            policy_id=policy.id,
            product_id=policy.product_id,
            plan_year=policy.plan_year,
            source="documents",
            status=ClaimStatus.DRAFT,
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
        claim = own_claim(s, member_id, claim_id)
        if claim.status not in EDITABLE:
            raise E.claim_not_editable()
        if claim.source == "settlement" and set(fields) & {*rules.AMOUNT_FIELDS, "amounts"}:
            raise E.settlement_amounts_locked()
        member = verified_member(s, member_id)
        policy = existing(s, Policy, claim.policy_id)
        person = existing(s, Person, claim.person_id)
        _apply_fields(s, claim, member, policy, person, fields)
    return claim


def delete_draft(member_id: int, claim_id: int) -> None:
    from app.integrations.registry import storage

    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.status != ClaimStatus.DRAFT:
            raise E.claim_not_draft()
        keys = [
            d.storage_key
            for d in s.scalars(select(ClaimDocument).where(ClaimDocument.claim_id == claim.id))
        ]
        # a set-based delete of the rows (not the ORM's per-object one): nothing in the session
        # holds them, so there is nothing to synchronise
        s.execute(
            delete(ClaimDocument)
            .where(ClaimDocument.claim_id == claim.id)
            .execution_options(synchronize_session=False)
        )
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
    return own_claim(get_session(), member_id, claim_id)


def required_documents(claim: Claim) -> list[str]:
    if claim.source == "settlement" or not claim.care_kind:
        return []
    product = existing(get_session(), Product, claim.product_id)
    return list(definition_of(product).required_documents.get(claim.care_kind, ()))


def missing_documents(claim: Claim) -> list[str]:
    return rules.missing_documents(required_documents(claim), [d.doc_type for d in claim.documents])


def check_complete(claim: Claim) -> None:
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
    if claim.care_kind == CHRONIC_OUTPATIENT and not claim.diagnosis_code:
        errors["diagnosis_code"] = ["门诊慢特病请填写诊断编码（ICD-10，见门诊慢特病结算单或病历）"]
    if claim.medfee_sumamt_fen <= 0:
        errors["medfee_sumamt_fen"] = ["请填写医疗费用总额"]
    if claim.source == "documents" and not claim.invoices:
        errors["invoices"] = ["请至少填写一张发票"]
    if errors:
        raise E.claim_incomplete(errors={"json": errors})
    _check_parts(claim)
    if claim.source == "documents":  # a bureau claim's lines are checked when fetched
        from app.claims.line_intake import check_stored  # imports the review side

        check_stored(get_session(), claim)
    missing = missing_documents(claim)
    if missing:
        labels = document_labels()
        raise E.claim_documents_missing(
            "缺少材料：" + "、".join(labels.get(m, m) for m in missing),
            errors={"json": {"documents": missing}},
        )


def _check_parts(claim: Claim) -> None:
    """A photographed claim's parts must add up to its total (a settlement record's do not
    always: there the mismatch is a review flag). The usual slip is typing the in-policy
    self-pay after medical assistance instead of before it, which would halve the payout."""
    from app.claims.adjudication_run import claim_amounts

    gap = rules.parts_mismatch(claim_amounts(claim))
    if claim.source == "documents" and gap:
        hint = "；政策范围内个人自付应填写医疗救助支付之前的金额" if claim.maf_pay_fen else ""
        raise E.claim_amounts_do_not_add_up(
            f"基本医保、大病保险、大额补助与个人负担各项合计与医疗费用总额相差 "
            f"{yuan_plain(abs(gap))} 元{hint}",
            errors={"json": {"medfee_sumamt_fen": ["与各项金额合计不一致"]}},
        )


def submit(member_id: int, claim_id: int) -> Claim:
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.status != ClaimStatus.DRAFT:
            return claim  # a repeated submit is an idempotent no-op
        privacy.refuse_if_withdrawn(*privacy.member_and_consent(s, member_id), "new_claim")
        check_complete(claim)
        transition(
            s, claim, "submit", actor_type="member", actor_id=member_id, submitted_at=utcnow()
        )
        disclose_received(s, claim)
    return process(claim.id)
