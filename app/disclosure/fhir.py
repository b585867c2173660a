"""A member's records as FHIR R4 resources: pure mappers from plain views (no Flask, no database).

Coverage (a policy), Claim (what was claimed, in the bureau's settlement amounts) and
ClaimResponse (the adjudication: one header-level adjudication per explanation step, with the
totals and the payment), collected in a Bundle of type "collection". Every resource is built
and validated by the `fhir.resources` package; a view that cannot make a valid resource raises.

FHIR version: the issue asks for R4 (4.0.1). `fhir.resources` 8 ships R5, R4B (4.3.0) and STU3,
not R4 itself, so the models are its R4B ones. R4B changed no element of Coverage, Claim,
ClaimResponse or Bundle from R4 (its changes are to medication definitions, evidence and
subscriptions), and every element used here exists in R4 with the same cardinality.

Privacy: no ID number, no name in clear, no diagnosis. People are logical references by a keyed
pseudonym (`PatientRef.pseudonym`, made by the caller) with the masked name as display; the
policy and claim numbers are the business identifiers.

For the claims capability: build a ClaimView and an AdjudicationView from a claim and its engine
result (amounts in fen; `lines` one per explanation step, amount None where a step has none)
and register a provider with services.register_fhir_claims_provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.resource import Resource

BASE = "https://huimin.example/fhir"
POLICY_NO_SYSTEM = f"{BASE}/sid/policy-no"
CLAIM_NO_SYSTEM = f"{BASE}/sid/claim-no"
PATIENT_SYSTEM = f"{BASE}/sid/patient-pseudonym"
COVERAGE_TYPE_SYSTEM = f"{BASE}/CodeSystem/coverage-type"
CARE_KIND_SYSTEM = f"{BASE}/CodeSystem/care-kind"
CLAIM_AMOUNT_SYSTEM = f"{BASE}/CodeSystem/claim-amount"
ADJUDICATION_STEP_SYSTEM = f"{BASE}/CodeSystem/adjudication-step"
HL7 = "http://terminology.hl7.org/CodeSystem"
# The payor when a product names no insurers of its own ([[insurers]] in its definition).
INSURER_NAME = "惠民保共保体"
# Bundle entries are urn:uuid:s derived from the business number, so one record always has the
# same fullUrl across exports.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)

COVERAGE_STATUS = {"active": "active", "surrendered": "cancelled", "void": "cancelled"}
RELATIONSHIP = {
    "self": "self",
    "spouse": "spouse",
    "child": "child",
    "parent": "parent",
    "grandparent": "other",
    "grandchild": "other",
    "sibling": "other",
}
# Claim.type (HL7 claim-type) by our kind of care, with the kind itself as subType.
CLAIM_TYPE = {
    "in_patient": "institutional",
    "emergency": "institutional",
    "day_surgery": "institutional",
    "chronic_outpatient": "professional",
    "special_drug": "pharmacy",
}
CARE_KIND_LABELS = {
    "in_patient": "住院",
    "emergency": "急诊",
    "day_surgery": "日间手术",
    "chronic_outpatient": "一类门诊慢特病",
    "special_drug": "特药",
}
# Our claim statuses (app/claims/workflow.py) -> Claim.status and ClaimResponse.outcome.
CLAIM_STATUS = {
    "draft": "draft",
    "submitted": "active",
    "pending_review": "active",
    "more_info_requested": "active",
    "approved": "active",
    "rejected": "active",
    "paid": "active",
    "closed": "active",
}
RESPONSE_OUTCOME = {
    "submitted": "queued",
    "pending_review": "queued",
    "more_info_requested": "queued",
    "approved": "complete",
    "rejected": "complete",
    "paid": "complete",
    "closed": "complete",
}


@dataclass(frozen=True)
class PatientRef:
    pseudonym: str  # keyed, stable per person, not reversible without the key
    display: str | None = None  # the masked name, e.g. "*伟"


@dataclass(frozen=True)
class PolicyView:
    policy_no: str
    status: str  # active | surrendered | void
    plan_year: int
    product_code: str
    product_name: str
    coverage_start: date
    coverage_end: date  # inclusive
    beneficiary: PatientRef
    relationship: str  # the insured person to the policy holder: self, spouse, ...
    policy_holder: PatientRef | None
    # The co-insurance group, lead first (the product's [[insurers]]).
    payor_names: tuple[str, ...] = (INSURER_NAME,)


@dataclass(frozen=True)
class AmountLine:
    code: str  # e.g. in_policy_self_pay
    zh: str
    en: str
    amount_fen: int


@dataclass(frozen=True)
class ClaimView:
    claim_no: str
    status: str  # app/claims/workflow.py STATUSES
    created: datetime  # aware
    care_kind: str  # app/products/definition.py CARE_KINDS
    provider_name: str  # the hospital
    admission_date: date | None
    discharge_date: date | None
    policy_no: str
    patient: PatientRef
    items: tuple[AmountLine, ...]
    total_fen: int


@dataclass(frozen=True)
class AdjudicationLine:
    code: str  # the engine's stable step / reason code
    zh: str
    en: str
    amount_fen: int | None


@dataclass(frozen=True)
class AdjudicationView:
    decided_at: datetime  # aware
    lines: tuple[AdjudicationLine, ...]
    claimed_fen: int  # what was submitted
    payable_fen: int  # the engine's (or reviewer's) result
    paid_fen: int | None = None
    paid_on: date | None = None
    payor_name: str = INSURER_NAME


def money(fen: int) -> dict:
    """Integer fen -> FHIR Money in yuan (CNY), exact to the fen."""
    return {"value": (Decimal(fen) / 100).quantize(Decimal("0.01")), "currency": "CNY"}


def resource_uuid(resource_type: str, business_no: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{resource_type}/{business_no}"))


def _patient(ref: PatientRef) -> dict:
    out: dict = {
        "type": "Patient",
        "identifier": {"system": PATIENT_SYSTEM, "value": ref.pseudonym},
    }
    if ref.display:
        out["display"] = ref.display
    return out


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def _claim_type(care_kind: str) -> dict:
    if care_kind not in CLAIM_TYPE:
        raise ValueError(f"unknown kind of care {care_kind!r}")
    return _concept(f"{HL7}/claim-type", CLAIM_TYPE[care_kind])


def coverage(view: PolicyView) -> Coverage:
    data: dict = {
        "id": resource_uuid("Coverage", view.policy_no),
        "identifier": [{"system": POLICY_NO_SYSTEM, "value": view.policy_no}],
        "status": COVERAGE_STATUS[view.status],
        "type": _concept(
            COVERAGE_TYPE_SYSTEM,
            "huiminbao",
            "City-customised supplementary medical insurance",
            "惠民保（城市定制型商业补充医疗保险）",
        ),
        "beneficiary": _patient(view.beneficiary),
        "relationship": _concept(f"{HL7}/subscriber-relationship", RELATIONSHIP[view.relationship]),
        "period": {"start": view.coverage_start.isoformat(), "end": view.coverage_end.isoformat()},
        "payor": [{"type": "Organization", "display": name} for name in view.payor_names],
        "class": [
            {
                "type": _concept(f"{HL7}/coverage-class", "plan"),
                "value": view.product_code,
                "name": view.product_name,
            }
        ],
    }
    if view.policy_holder is not None:
        data["policyHolder"] = _patient(view.policy_holder)
    return Coverage.model_validate(data)


def claim(view: ClaimView) -> Claim:
    data: dict = {
        "id": resource_uuid("Claim", view.claim_no),
        "identifier": [{"system": CLAIM_NO_SYSTEM, "value": view.claim_no}],
        "status": CLAIM_STATUS[view.status],
        "type": _claim_type(view.care_kind),
        "subType": _concept(
            CARE_KIND_SYSTEM, view.care_kind, text=CARE_KIND_LABELS.get(view.care_kind)
        ),
        "use": "claim",
        "patient": _patient(view.patient),
        "created": view.created.isoformat(),
        "provider": {"type": "Organization", "display": view.provider_name},
        "priority": _concept(f"{HL7}/processpriority", "normal"),
        "insurance": [
            {
                "sequence": 1,
                "focal": True,
                "coverage": {
                    "type": "Coverage",
                    "identifier": {"system": POLICY_NO_SYSTEM, "value": view.policy_no},
                },
            }
        ],
        "item": [
            {
                "sequence": n,
                "productOrService": _concept(CLAIM_AMOUNT_SYSTEM, line.code, line.en, line.zh),
                "net": money(line.amount_fen),
            }
            for n, line in enumerate(view.items, start=1)
        ],
        "total": money(view.total_fen),
    }
    if view.admission_date or view.discharge_date:
        data["billablePeriod"] = {
            k: d.isoformat()
            for k, d in (("start", view.admission_date), ("end", view.discharge_date))
            if d
        }
    if not data["item"]:
        del data["item"]
    return Claim.model_validate(data)


def claim_response(view: ClaimView, adjudication: AdjudicationView) -> ClaimResponse:
    if view.status not in RESPONSE_OUTCOME:
        raise ValueError(f"a {view.status} claim has no adjudication to export")
    data: dict = {
        "id": resource_uuid("ClaimResponse", view.claim_no),
        "identifier": [{"system": CLAIM_NO_SYSTEM, "value": view.claim_no}],
        "status": "active",
        "type": _claim_type(view.care_kind),
        "use": "claim",
        "patient": _patient(view.patient),
        "created": adjudication.decided_at.isoformat(),
        "insurer": {"type": "Organization", "display": adjudication.payor_name},
        "request": {
            "reference": f"urn:uuid:{resource_uuid('Claim', view.claim_no)}",
            "type": "Claim",
        },
        "outcome": RESPONSE_OUTCOME[view.status],
        "adjudication": [
            {
                "category": _concept(ADJUDICATION_STEP_SYSTEM, line.code, line.en, line.zh),
                **({"amount": money(line.amount_fen)} if line.amount_fen is not None else {}),
            }
            for line in adjudication.lines
        ],
        "total": [
            {
                "category": _concept(f"{HL7}/adjudication", "submitted"),
                "amount": money(adjudication.claimed_fen),
            },
            {
                "category": _concept(f"{HL7}/adjudication", "benefit"),
                "amount": money(adjudication.payable_fen),
            },
        ],
    }
    if adjudication.paid_fen is not None:
        payment: dict = {
            "type": _concept(f"{HL7}/ex-paymenttype", "complete"),
            "amount": money(adjudication.paid_fen),
        }
        if adjudication.paid_on is not None:
            payment["date"] = adjudication.paid_on.isoformat()
        data["payment"] = payment
    if not data["adjudication"]:
        del data["adjudication"]
    return ClaimResponse.model_validate(data)


def bundle(resources: Iterable[Resource]) -> Bundle:
    """A Bundle of type "collection"; each entry's fullUrl is the urn:uuid of its resource id."""
    entries = [
        {"fullUrl": f"urn:uuid:{resource.id}", "resource": resource} for resource in resources
    ]
    return Bundle.model_validate({"type": "collection", **({"entry": entries} if entries else {})})
