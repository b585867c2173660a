"""Purchases claimed against a special-drug approval.

A purchase (pharmacy, date, quantity, amount, invoice) is matched as one fee line against the
特药目录 in force on its date with the member's approval (app.catalogues.matching.match_lines):
inside the approval's period, for its indication, at a designated pharmacy, it is special-drug
money; otherwise it is not counted, and the reasons say why. What counts is limited by the
drug's annual cap: the person's use of it in the plan year is a SpecialDrugUsage row moved only
by a conditional UPDATE on the value read, so two purchases at once cannot both take the last of
it. The purchase becomes an ordinary claim (care kind special_drug) filed and submitted through
app.claims.services; its itemised lines reach the engine through the hook point
`claims.claim_lines` (app/common/hooks.py), answered here by `claim_lines_for`.

The reservation stays while the claim's rejection is not final (复核 or a human review may still
approve it). `release_final_rejections` (`flask claims release-final-rejections`, run daily)
gives it back once the rejection is final (app.claims.recheck.final_rejection); a claim approved
later (a human review of an automatic rejection has no window) takes it again within what is
left of the cap (`retake_for_claim`, hook `claims.special_drug_retake`), never more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.adjudication.model import ClaimLine
from app.audit.services import record as audit
from app.catalogues.matching import FeeLine, match_lines
from app.catalogues.models import CatalogueKind
from app.catalogues.rules import CommercialCatalogue, SpecialDrugCatalogue
from app.catalogues.services import entries_in_force
from app.claims import services as claims
from app.claims.accumulators import StaleAccumulators
from app.claims.common import rows_changed
from app.claims.models import Claim
from app.claims.recheck import final_rejection
from app.claims.statuses import ClaimStatus
from app.common.clock import today_shanghai
from app.database import read_scope, transaction, utcnow
from app.error_catalogue import E
from app.policies.models import Policy
from app.special_drugs import rules
from app.special_drugs.models import (
    ApplicationStatus,
    PurchaseStatus,
    SpecialDrugApplication,
    SpecialDrugDocument,
    SpecialDrugPurchase,
    SpecialDrugUsage,
)
from app.special_drugs.services import blob, own_application
from app.special_drugs.usage import approval_of, open_usage, take

log = logging.getLogger(__name__)

RESERVE_ATTEMPTS = 8
# A purchase whose reservation is held: submitted, or left `reserved` by a crash after its
# claim was submitted (a rejected claim was submitted).
HELD = (PurchaseStatus.RESERVED, PurchaseStatus.SUBMITTED)


@dataclass(frozen=True)
class PurchaseInput:
    pharmacy: str
    purchased_on: date
    quantity: int
    amount_fen: int
    invoice_no: str
    payee: dict
    invoice: bytes
    invoice_media_type: str | None


def _match(session: Session, application: SpecialDrugApplication, p: PurchaseInput) -> Any:
    special = entries_in_force(
        application.product_id, CatalogueKind.SPECIAL_DRUG, p.purchased_on, session=session
    )
    commercial = entries_in_force(
        application.product_id, CatalogueKind.COMMERCIAL, p.purchased_on, session=session
    )
    assert special is None or isinstance(special, SpecialDrugCatalogue)
    assert commercial is None or isinstance(commercial, CommercialCatalogue)
    approval = approval_of(application)
    line = FeeLine(
        feedetl_sn="1",
        med_list_codg=application.drug_code,
        chrgitm_lv="03",  # a special drug is outside the basic list: wholly self-paid
        cnt=Decimal(p.quantity),
        pric_fen=p.amount_fen // p.quantity,
        det_item_fee_sumamt_fen=p.amount_fen,
        fulamt_ownpay_amt_fen=p.amount_fen,
        name=application.drug_name,
        fee_ocur_date=p.purchased_on,
        approval_no=application.drug_code,
    )
    return match_lines(
        [line],
        care_date=p.purchased_on,
        commercial=commercial,
        special_drugs=special,
        approvals=(approval,) if approval is not None else (),
        dispensed_at=(p.pharmacy,),
        expect_commercial=False,
    )


class _CapMoved(Exception):
    """Another purchase changed the cap's use between our read and our update."""


def _reserve(member_id: int, application_id: int, p: PurchaseInput) -> SpecialDrugPurchase:
    """Match the purchase and take what counts from the drug's annual cap, with the purchase
    row, in one transaction; a concurrent use of the cap re-reads and re-computes."""
    for _ in range(RESERVE_ATTEMPTS):
        try:
            with transaction() as s:
                application = own_application(s, member_id, application_id)
                usage = open_usage(
                    s,
                    application.person_id,
                    application.product_id,
                    application.plan_year,
                    application.drug_code,
                    application.annual_cap_fen,
                )
                outcome = rules.purchase_outcome(
                    _match(s, application, p),
                    drug_code=application.drug_code,
                    drug_name=application.drug_name,
                    amount_fen=p.amount_fen,
                    room_fen=rules.cap_room(usage.cap_fen, usage.used_fen),
                )
                if outcome.counted_fen and not take(
                    s, usage.id, usage.used_fen, outcome.counted_fen
                ):
                    raise _CapMoved  # rolls the transaction back
                purchase = SpecialDrugPurchase(
                    application_id=application.id,
                    usage_id=usage.id,
                    pharmacy=p.pharmacy,
                    purchased_on=p.purchased_on,
                    quantity=p.quantity,
                    amount_fen=p.amount_fen,
                    counted_fen=outcome.counted_fen,
                    invoice_no=p.invoice_no,
                    status=PurchaseStatus.RESERVED,
                    lines=[rules.line_json(line) for line in outcome.lines],
                    reasons=[{"code": r.code, "zh": r.zh, "en": r.en} for r in outcome.reasons],
                )
                s.add(purchase)
            return purchase
        except _CapMoved:
            continue  # another purchase used the cap: read it again
    raise E.special_drug_cap_busy()


def _give_back(session: Session, purchase: SpecialDrugPurchase) -> None:
    if purchase.counted_fen:
        session.execute(
            update(SpecialDrugUsage)
            .where(SpecialDrugUsage.id == purchase.usage_id)
            .values(used_fen=SpecialDrugUsage.used_fen - purchase.counted_fen)
        )


def _release(purchase_id: int) -> None:
    """Give the reservation back (the claim could not be filed)."""
    with transaction() as s:
        purchase = s.get(SpecialDrugPurchase, purchase_id)
        assert purchase is not None
        if purchase.status != PurchaseStatus.RESERVED:
            return
        purchase.status = PurchaseStatus.FAILED
        purchase.claim_id = None  # the draft claim is deleted next
        _give_back(s, purchase)


def release_final_rejections(now: datetime | None = None) -> int:
    """Give back the reservations of purchases whose claim's rejection is final (a recheck
    upheld it, or the 复核 period passed with nothing asked); how many. Idempotent: each is
    given back once (a conditional UPDATE on the purchase's status), under a lock on the claim,
    so a request for review at the same moment either comes first (nothing is given back) or
    after (its approval takes it again)."""
    now = now or utcnow()
    with read_scope() as s:
        candidates = list(
            s.scalars(
                select(SpecialDrugPurchase.id)
                .join(Claim, Claim.id == SpecialDrugPurchase.claim_id)
                .where(
                    SpecialDrugPurchase.status.in_(HELD),
                    Claim.status == ClaimStatus.REJECTED,
                )
                .order_by(SpecialDrugPurchase.id)
            )
        )
    released = 0
    for purchase_id in candidates:
        with transaction() as s:
            purchase = s.get(SpecialDrugPurchase, purchase_id)
            assert purchase is not None and purchase.claim_id is not None
            claim = s.scalar(select(Claim).where(Claim.id == purchase.claim_id).with_for_update())
            if claim is None or not final_rejection(claim, now):
                continue
            s.refresh(purchase)  # as it is now, under the claim's lock
            moved = rows_changed(
                s,
                update(SpecialDrugPurchase)
                .where(
                    SpecialDrugPurchase.id == purchase_id,
                    SpecialDrugPurchase.status.in_(HELD),
                )
                .values(status=PurchaseStatus.RELEASED),
            )
            if moved != 1:
                continue  # given back already
            _give_back(s, purchase)
            audit(
                s,
                actor_type="system",
                actor_id=None,
                action="special_drug.reservation_released",
                object_type="claim",
                object_id=claim.id,
                detail={"purchase_id": purchase_id, "amount_fen": purchase.counted_fen},
            )
            released += 1
    return released


def retake_for_claim(session: Session, claim: Any) -> tuple[dict, ...]:
    """Hook `claims.special_drug_retake`: the claim of a purchase whose reservation was given
    back (its rejection became final) is being approved: it takes the reservation again within
    what is left of the cap (rules.retaken); the claim's amounts and the purchase's lines
    become what counts. The explanation lines of what no longer counts; StaleAccumulators when
    the cap moved since it was read (the approval runs again)."""
    row = session.scalar(
        select(SpecialDrugPurchase)
        .where(SpecialDrugPurchase.claim_id == claim.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None or row.status != PurchaseStatus.RELEASED:
        return ()
    application = session.get(SpecialDrugApplication, row.application_id)
    usage = session.scalar(
        select(SpecialDrugUsage)
        .where(SpecialDrugUsage.id == row.usage_id)
        .execution_options(populate_existing=True)
    )
    assert application is not None and usage is not None
    outcome = rules.retaken(
        row.counted_fen,
        drug_code=application.drug_code,
        drug_name=application.drug_name,
        amount_fen=row.amount_fen,
        room_fen=rules.cap_room(usage.cap_fen, usage.used_fen),
    )
    if outcome.counted_fen and not take(session, usage.id, usage.used_fen, outcome.counted_fen):
        raise StaleAccumulators()  # another purchase or claim used the cap: read it again
    row.status, row.counted_fen = PurchaseStatus.SUBMITTED, outcome.counted_fen
    row.lines = [rules.line_json(line) for line in outcome.lines]
    row.reasons = [
        *row.reasons,
        *({"code": r.code, "zh": r.zh, "en": r.en} for r in outcome.reasons),
    ]
    for field, fen in outcome.amounts(row.amount_fen).items():
        setattr(claim, field, fen)
    return tuple(
        {
            "code": r.code,
            # no invoice number: the claim is this one purchase, and the explanation outlives
            # the number (flask members purge-retained erases it, keeps the adjudication)
            "zh": f"特药 {application.drug_name} 购药：{r.zh}",
            "en": f"special drug {application.drug_code} purchase: {r.en}",
            "bucket": None,  # the purchase as a whole, not one bucket's figure
        }
        for r in outcome.reasons
    )


def _check(member_id: int, application_id: int, p: PurchaseInput) -> list[tuple[str, str, str]]:
    """Refusals before anything is written; returns the application's documents to copy."""
    with read_scope() as s:
        application = own_application(s, member_id, application_id)
        if application.status != ApplicationStatus.APPROVED:
            raise E.special_drug_not_approved()
        policy = s.get(Policy, application.policy_id)
        assert policy is not None
        if p.purchased_on > today_shanghai() or not (
            policy.coverage_start <= p.purchased_on <= policy.coverage_end
        ):
            raise E.special_drug_purchase_date_invalid(
                f"购药日期应在保障期间 {policy.coverage_start.isoformat()} 至 "
                f"{policy.coverage_end.isoformat()} 内且不晚于今天"
            )
        return [
            (d.doc_type, d.storage_key, d.media_type)
            for d in s.scalars(
                select(SpecialDrugDocument)
                .where(SpecialDrugDocument.application_id == application.id)
                .order_by(SpecialDrugDocument.id)
            )
        ]


def purchase(member_id: int, application_id: int, p: PurchaseInput) -> SpecialDrugPurchase:
    """Record a purchase and claim it: reserve the cap, file the claim (the invoice and the
    application's proofs as its documents), submit it. If filing fails before the claim is
    submitted, the reservation is given back and the draft removed."""
    from app.documents.sanitise import sanitise
    from app.documents.throttle import heavy_document_work

    docs = _check(member_id, application_id, p)
    with heavy_document_work(f"member:{member_id}"):  # refused early
        invoice = sanitise(p.invoice, declared_media_type=p.invoice_media_type)
    reserved = _reserve(member_id, application_id, p)
    claim_id: int | None = None
    try:
        with read_scope() as s:
            application = own_application(s, member_id, application_id)
            policy_id, indication = application.policy_id, application.indication
        amounts = rules.PurchaseOutcome(reserved.counted_fen, (), ()).amounts(p.amount_fen)
        claim = claims.create_claim(
            member_id,
            policy_id=policy_id,
            fields={
                "care_kind": "special_drug",
                "hospital_name": p.pharmacy[:100],
                "admitted_on": p.purchased_on,
                "discharged_on": p.purchased_on,
                "diagnosis": indication,
                **amounts,
                "payee": p.payee,
                "invoices": [
                    {"issuer": p.pharmacy[:100], "number": p.invoice_no, "amount_fen": p.amount_fen}
                ],
            },
        )
        claim_id = claim.id
        with transaction() as s:
            row = s.get(SpecialDrugPurchase, reserved.id)
            assert row is not None
            row.claim_id = claim_id
        claims.upload_document(member_id, claim_id, "invoice", invoice.content, invoice.media_type)
        for doc_type, key, media_type in docs:
            claims.upload_document(
                member_id, claim_id, rules.CLAIM_DOC_TYPE[doc_type], blob(key), media_type
            )
        claims.submit(member_id, claim_id)  # the engine reads the lines (claim_lines_for)
    except Exception:
        if not _submitted(claim_id):
            _release(reserved.id)
            if claim_id is not None:
                try:
                    claims.delete_draft(member_id, claim_id)
                except Exception:
                    log.warning("could not remove the draft of a failed special-drug purchase")
        raise
    with transaction() as s:
        found = s.get(SpecialDrugPurchase, reserved.id)
        assert found is not None
        found.status = PurchaseStatus.SUBMITTED
    return found


def _submitted(claim_id: int | None) -> bool:
    if claim_id is None:
        return False
    with read_scope() as s:
        claim = s.get(Claim, claim_id)
        return claim is not None and claim.status != ClaimStatus.DRAFT


def claim_lines_for(session: Session, claim: Any) -> tuple[ClaimLine, ...]:
    """Hook `claims.claim_lines`: the itemised lines of a claim filed for a purchase (none for
    any other claim)."""
    row = session.scalar(
        select(SpecialDrugPurchase).where(
            SpecialDrugPurchase.claim_id == claim.id,
            SpecialDrugPurchase.status != PurchaseStatus.FAILED,
        )
    )
    if row is None:
        return ()
    return tuple(rules.line_from_json(line) for line in row.lines)
