"""Claims in the public figures: after the disclosure scenario (enrollments, a sponsor, a
surrender) a one-tap claim is paid and a claim with documents waits for a reviewer; the published
statistics equal a recomputation from the claim tables, and the FHIR export carries the claim
with its adjudication."""

from __future__ import annotations

import io

import time_machine
from PIL import Image
from sqlalchemy import select

from app.database import get_session
from app.products.models import Product
from tests.claims.conftest import key
from tests.conftest import bearer, login, seed_app, seed_catalogues_on
from tests.disclosure.conftest import Scenario, published, recompute
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)

MARCH = "2026-03-20T02:00:00+00:00"
PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, "JPEG")
    return buf.getvalue()


def test_claims_in_the_statistics_and_the_fhir_export(
    fast_password_hashing,
    app_factory,
    residents,
):
    app = seed_catalogues_on(seed_app(app_factory(DISCLOSURE_MIN_CELL=1)))
    client = app.test_client()
    Scenario(app, client, residents).run()
    with time_machine.travel(MARCH, tick=True):
        token = login(client, "disclosure-zhang")["access_token"]
        policies = {
            p["insured_name_masked"]: p
            for p in client.get("/policies", headers=bearer(token)).get_json()
        }
        mine = policies["*伟"]
        records = client.get(
            f"/policies/{mine['id']}/settlement-records", headers=bearer(token)
        ).get_json()
        [february] = [r for r in records if r["claimable"]]  # the stay of 2026-02-10..16
        paid = client.post(
            "/claims/from-settlement",
            headers={**bearer(token), **key()},
            json={"policy_id": mine["id"], "setl_id": february["setl_id"], "payee": PAYEE},
        ).get_json()
        assert paid["status"] in ("paid", "closed"), paid
        draft = client.post(
            "/claims",
            headers=bearer(token),
            json={
                "policy_id": policies["*娜"]["id"],
                "care_kind": "emergency",
                "hospital_name": "赣州市人民医院",
                "admitted_on": "2026-03-01",
                "discharged_on": "2026-03-01",
                "diagnosis": "急性胃肠炎",
                "medfee_sumamt_fen": 100_000,
                "hifp_pay_fen": 60_000,
                "in_policy_self_pay_fen": 40_000,
                "payee": {**PAYEE, "name": "李娜"},
                "invoices": [
                    {"issuer": "赣州市人民医院", "number": "D0001", "amount_fen": 100_000}
                ],
            },
        ).get_json()
        for doc_type in ("invoice", "settlement_sheet"):
            assert (
                client.post(
                    f"/claims/{draft['id']}/documents",
                    headers=bearer(token),
                    data={
                        "doc_type": doc_type,
                        "file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg"),
                    },
                    content_type="multipart/form-data",
                ).status_code
                == 201
            )
        waiting = client.post(f"/claims/{draft['id']}/submit", headers={**bearer(token), **key()})
        assert waiting.get_json()["status"] == "pending_review"

        with app.app_context():
            product_id = get_session().scalar(
                select(Product.id).where(Product.code == "ganzhou-demo-2026")
            )
        expected = recompute(app, product_id)
        resp = client.get("/public/statistics", query_string={"product": "ganzhou-demo-2026"})
        [stats] = resp.get_json()["products"]
        months = {p["period"]: p for p in stats["months"]}
        assert published(months["2026-03"]) == expected["2026-03"]
        assert published(stats["year"]) == expected["year"]
        assert expected["2026-03"]["claims_received"] == 2
        assert expected["2026-03"]["claims_settled"] == 1
        assert expected["year"]["amount_paid_fen"] == paid["paid_fen"]

        bundle = client.get("/me/fhir", headers=bearer(token))
        assert bundle.status_code == 200
        resources = [e["resource"] for e in bundle.get_json()["entry"]]
        kinds = [r["resourceType"] for r in resources]
        assert kinds.count("Claim") == 2 and kinds.count("ClaimResponse") == 2
        assert "360702198503120119" not in bundle.get_data(as_text=True)
        from fhir.resources.R4B.claim import Claim as FhirClaim
        from fhir.resources.R4B.claimresponse import ClaimResponse

        for resource in resources:
            if resource["resourceType"] == "Claim":
                FhirClaim.model_validate(resource)
            elif resource["resourceType"] == "ClaimResponse":
                ClaimResponse.model_validate(resource)
        # 共保体: a Coverage names every insurer, lead first; a ClaimResponse names the lead,
        # which settles claims for the group
        for resource in resources:
            if resource["resourceType"] == "Coverage" and resource["class"][0]["value"] == (
                "ganzhou-demo-2026"
            ):
                assert resource["payor"] == [
                    {"type": "Organization", "display": "示范人寿赣州分公司（演示）"},
                    {"type": "Organization", "display": "示范财险赣州分公司（演示）"},
                ]
            if resource["resourceType"] == "ClaimResponse":
                assert resource["insurer"] == {
                    "type": "Organization",
                    "display": "示范人寿赣州分公司（演示）",
                }
        assert any(r["resourceType"] == "Coverage" for r in resources)
