"""What other packages read from claims, registered as providers in app/__init__.py: the
refund rule's "no claim filed" check, the FHIR export's views and the sponsor reports' paid
outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.claims import rules
from app.claims.common import existing
from app.claims.models import Claim
from app.claims.statuses import ClaimStatus
from app.claims.workflow import FILED
from app.common.clock import SHANGHAI
from app.members.models import Person
from app.policies.models import Policy

if TYPE_CHECKING:
    from app.disclosure.fhir import AdjudicationView, ClaimView
    from app.sponsors.reports import ClaimsPaid


def claims_filed_on(session: Session, policy: Policy) -> list[date | None]:
    """The refund rule's hook: when care began (admission; None when not stated) for each claim
    filed on this policy."""
    return list(
        session.scalars(
            select(Claim.admitted_on).where(Claim.policy_id == policy.id, Claim.status.in_(FILED))
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


def fhir_claims(
    session: Session, member_id: int
) -> Iterator[tuple[ClaimView, AdjudicationView | None]]:
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
        policy = existing(session, Policy, claim.policy_id)
        assert claim.care_kind is not None  # a filed claim passed the completeness check
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
            patient=patient_ref(existing(session, Person, claim.person_id)),
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
                claimed_fen=sum(getattr(claim, k) for k in rules.MEMBER_AMOUNTS)
                + sum((claim.other_amounts or {}).values()),
                payable_fen=payable or 0,
                paid_fen=claim.paid_fen if claim.status == ClaimStatus.PAID else None,
                paid_on=claim.paid_at.astimezone(SHANGHAI).date() if claim.paid_at else None,
                payor_name=_lead_insurer_name(claim.product_id),
            )
        yield view, adjudication


def _lead_insurer_name(product_id: int) -> str:
    """A ClaimResponse's insurer: the lead of the co-insurance group, which settles claims for
    the group (or the generic name when the product names none)."""
    from app.disclosure import fhir
    from app.products.services import definition_of, get_product_by_id

    lead = definition_of(get_product_by_id(product_id)).lead_insurer()
    return lead.name if lead is not None else fhir.INSURER_NAME


def claims_paid_on(session: Session, policy_ids: Iterable[int]) -> ClaimsPaid:
    """Sponsor reports' anonymised outcomes: how many claims were paid on these policies and how
    much, with nothing else about them (app/sponsors/reports.py suppresses small counts)."""
    from app.sponsors.reports import ClaimsPaid

    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Claim.paid_fen), 0)).where(
            Claim.policy_id.in_(policy_ids), Claim.status == ClaimStatus.PAID
        )
    ).one()
    return ClaimsPaid(int(count), int(total))
