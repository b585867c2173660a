"""FHIR export (app/disclosure/fhir.py and GET /me/fhir): every resource validated by the
fhir.resources package, the required value sets of R4 checked, amounts exact in CNY, and no
ID number or name in clear."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.coverage import Coverage

from app.disclosure import fhir
from app.disclosure.services import register_fhir_claims_provider
from tests.conftest import bearer
from tests.enrollment.conftest import pay, place_order

# Required bindings in R4 (the package checks structure and types, not these codes).
COVERAGE_STATUS = {"active", "cancelled", "draft", "entered-in-error"}
CLAIM_STATUS = COVERAGE_STATUS
CLAIM_USE = {"claim", "preauthorization", "predetermination"}
OUTCOME = {"queued", "complete", "error", "partial"}
BUNDLE_TYPES = {
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
}

ZHANG = fhir.PatientRef(pseudonym="0f3a9c1e2b7d4a6f8e5c3b1a9d7f6e4c", display="*伟")
POLICY = fhir.PolicyView(
    policy_no="HMB20260000012345",
    status="active",
    plan_year=2026,
    product_code="ganzhou-demo-2026",
    product_name="赣州惠民保 2026（示范）",
    coverage_start=date(2026, 1, 1),
    coverage_end=date(2026, 12, 31),
    beneficiary=ZHANG,
    relationship="self",
    policy_holder=ZHANG,
)
CLAIM = fhir.ClaimView(
    claim_no="CLM2026000042",
    status="paid",
    created=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
    care_kind="in_patient",
    provider_name="赣州市人民医院",
    admission_date=date(2026, 2, 20),
    discharge_date=date(2026, 2, 27),
    policy_no=POLICY.policy_no,
    patient=ZHANG,
    items=(
        fhir.AmountLine(
            "in_policy_self_pay", "医保政策范围内个人自付", "In-policy self-pay", 3_000_000
        ),
        fhir.AmountLine(
            "out_of_policy_self_pay", "医保范围外自费", "Out-of-policy self-pay", 123_45
        ),
    ),
    total_fen=3_012_345,
)
ADJUDICATION = fhir.AdjudicationView(
    decided_at=datetime(2026, 3, 3, 1, 0, tzinfo=UTC),
    lines=(
        fhir.AdjudicationLine(
            "deductible",
            "起付线 15,000.00 元，本次计入 15,000.00 元",
            "Deductible 15,000.00, 15,000.00 applied",
            1_500_000,
        ),
        fhir.AdjudicationLine("ratio_applied", "按 75% 赔付", "Paid at 75%", 1_125_000),
        fhir.AdjudicationLine(
            "commercial_list_missing",
            "未提供费用明细，目录外费用不予赔付",
            "No itemised bill: out-of-policy amounts not paid",
            None,
        ),
    ),
    claimed_fen=3_012_345,
    payable_fen=1_125_000,
    paid_fen=1_125_000,
    paid_on=date(2026, 3, 4),
)


def _roundtrip(resource, model):
    """Serialise to FHIR JSON and validate it back with the package."""
    return model.model_validate_json(resource.model_dump_json())


def test_coverage_from_a_policy():
    resource = _roundtrip(fhir.coverage(POLICY), Coverage)
    data = json.loads(resource.model_dump_json())
    assert data["status"] in COVERAGE_STATUS and data["status"] == "active"
    assert data["identifier"] == [{"system": fhir.POLICY_NO_SYSTEM, "value": "HMB20260000012345"}]
    assert data["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert data["beneficiary"] == {
        "type": "Patient",
        "display": "*伟",
        "identifier": {"system": fhir.PATIENT_SYSTEM, "value": ZHANG.pseudonym},
    }
    assert data["payor"] == [{"type": "Organization", "display": "惠民保共保体"}]
    [plan] = data["class"]
    assert plan["type"]["coding"][0]["code"] == "plan"
    assert (plan["value"], plan["name"]) == ("ganzhou-demo-2026", "赣州惠民保 2026（示范）")
    assert data["relationship"]["coding"][0]["code"] == "self"


@pytest.mark.parametrize(
    "status, fhir_status",
    [("active", "active"), ("surrendered", "cancelled"), ("void", "cancelled")],
)
def test_coverage_status(status, fhir_status):
    from dataclasses import replace

    assert fhir.coverage(replace(POLICY, status=status)).status == fhir_status


def test_claim_and_its_response():
    claim = _roundtrip(fhir.claim(CLAIM), Claim)
    data = json.loads(claim.model_dump_json())
    assert data["status"] in CLAIM_STATUS and data["use"] in CLAIM_USE
    assert data["type"]["coding"][0]["code"] == "institutional"
    assert data["billablePeriod"] == {"start": "2026-02-20", "end": "2026-02-27"}
    assert [
        (i["sequence"], i["productOrService"]["coding"][0]["code"], i["net"]) for i in data["item"]
    ] == [
        (1, "in_policy_self_pay", {"value": 30000.0, "currency": "CNY"}),
        (2, "out_of_policy_self_pay", {"value": 123.45, "currency": "CNY"}),
    ]
    assert claim.total.value == Decimal("30123.45")
    assert data["insurance"][0]["coverage"]["identifier"]["value"] == POLICY.policy_no

    response = _roundtrip(fhir.claim_response(CLAIM, ADJUDICATION), ClaimResponse)
    data = json.loads(response.model_dump_json())
    assert data["outcome"] in OUTCOME and data["outcome"] == "complete"
    assert data["request"]["reference"] == f"urn:uuid:{claim.id}"
    # One adjudication per explanation step, in order, the amount where the step has one.
    steps = [
        (a["category"]["coding"][0]["code"], a["category"]["text"], a.get("amount"))
        for a in data["adjudication"]
    ]
    assert steps == [
        (
            "deductible",
            "起付线 15,000.00 元，本次计入 15,000.00 元",
            {"value": 15000.0, "currency": "CNY"},
        ),
        ("ratio_applied", "按 75% 赔付", {"value": 11250.0, "currency": "CNY"}),
        ("commercial_list_missing", "未提供费用明细，目录外费用不予赔付", None),
    ]
    assert data["adjudication"][0]["category"]["coding"][0]["display"] == (
        "Deductible 15,000.00, 15,000.00 applied"
    )
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in data["total"]}
    assert totals == {"submitted": 30123.45, "benefit": 11250.0}
    assert data["payment"]["amount"] == {"value": 11250.0, "currency": "CNY"}
    assert data["payment"]["date"] == "2026-03-04"


@pytest.mark.parametrize(
    "status, outcome",
    [
        ("submitted", "queued"),
        ("pending_review", "queued"),
        ("more_info_requested", "queued"),
        ("rejected", "complete"),
        ("closed", "complete"),
    ],
)
def test_claim_response_outcome(status, outcome):
    from dataclasses import replace

    assert fhir.claim_response(replace(CLAIM, status=status), ADJUDICATION).outcome == outcome


def test_a_draft_has_no_response_and_an_unknown_care_kind_is_refused():
    from dataclasses import replace

    assert fhir.claim(replace(CLAIM, status="draft")).status == "draft"
    with pytest.raises(ValueError):
        fhir.claim_response(replace(CLAIM, status="draft"), ADJUDICATION)
    with pytest.raises(ValueError):
        fhir.claim(replace(CLAIM, care_kind="dental"))


def test_bundle_is_a_collection_with_stable_full_urls():
    resources = [fhir.coverage(POLICY), fhir.claim(CLAIM), fhir.claim_response(CLAIM, ADJUDICATION)]
    bundle = Bundle.model_validate_json(fhir.bundle(resources).model_dump_json())
    assert bundle.type == "collection" and bundle.type in BUNDLE_TYPES
    assert [type(e.resource) for e in bundle.entry] == [Coverage, Claim, ClaimResponse]
    assert [e.fullUrl for e in bundle.entry] == [f"urn:uuid:{r.id}" for r in resources]
    again = fhir.bundle([fhir.coverage(POLICY)])
    assert again.entry[0].fullUrl == bundle.entry[0].fullUrl
    assert json.loads(fhir.bundle([]).model_dump_json()) == {
        "resourceType": "Bundle",
        "type": "collection",
    }


def test_member_export_over_http(client, family, residents, app):
    """张伟's family policies as Coverage, plus a claim from a registered provider."""
    order = place_order(client, family, [family["spouse"]])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    policies = client.get("/policies", headers=bearer(family["token"])).get_json()

    def provider(session, member_id):
        assert (
            member_id == client.get("/me", headers=bearer(family["token"])).get_json()["member_id"]
        )
        from dataclasses import replace

        return [(replace(CLAIM, policy_no=policies[0]["policy_no"]), ADJUDICATION)]

    register_fhir_claims_provider(app, provider)
    resp = client.get("/me/fhir", headers=bearer(family["token"]))
    assert resp.status_code == 200 and resp.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate_json(resp.get_data())
    coverages = [e.resource for e in bundle.entry if isinstance(e.resource, Coverage)]
    assert sorted(c.identifier[0].value for c in coverages) == sorted(
        p["policy_no"] for p in policies
    )
    assert {c.beneficiary.display for c in coverages} == {"*伟", "*娜"}
    assert {c.relationship.coding[0].code for c in coverages} == {"self", "spouse"}
    # The holder of both is 张伟: one pseudonym; the spouse has another.
    assert len({c.policyHolder.identifier.value for c in coverages}) == 1
    assert len({c.beneficiary.identifier.value for c in coverages}) == 2
    assert [type(e.resource).__name__ for e in bundle.entry][-2:] == ["Claim", "ClaimResponse"]
    text = resp.get_data(as_text=True)
    for name in ("张伟", "李娜"):
        assert residents[name].certno not in text and name not in text
        assert residents[name].certno[:17] not in text

    register_fhir_claims_provider(app, None)
    plain = Bundle.model_validate_json(
        client.get("/me/fhir", headers=bearer(family["token"])).get_data()
    )
    assert [type(e.resource) for e in plain.entry] == [Coverage, Coverage]


def test_member_without_policies_gets_an_empty_collection(client, family):
    resp = client.get("/me/fhir", headers=bearer(family["token"]))
    assert resp.status_code == 200
    assert resp.get_json(force=True) == {"resourceType": "Bundle", "type": "collection"}
