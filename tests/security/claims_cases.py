"""Cross-owner cases for the claim routes (registered into test_object_access's registry).

A member's claims and documents are A's alone: B gets the same bare 404 as for an id that never
existed, and A's claim is unchanged. Staff claim routes are reviewer/operator reads: a member
token is 401, an organisation admin 403, an unknown id 404; a document goes only to the
reviewer the claim is assigned to (another reviewer gets the bare 404).
"""

from __future__ import annotations

import io

from PIL import Image

from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import key
from tests.security.support import assert_leaks_nothing, assert_problem
from tests.security.test_object_access import (
    UNKNOWN_ID,
    World,
    _intruder,
    cross_owner,
    in_enrollment_window,
)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _upload(client, token, claim_id, doc_type="invoice"):
    return client.post(
        f"/claims/{claim_id}/documents",
        headers=bearer(token),
        data={"doc_type": doc_type, "file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )


# One 甲类 line of 1,000 yuan, all in policy (A's claim adds up to it).
LINES = [
    {
        "med_list_codg": "003310000010000-331100001",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": 100_000,
    }
]


def _upload_lines(client, token, claim_id):
    csv = "项目编码,等级,金额\n003310000010000-331100001,甲,1000\n".encode()
    return client.post(
        f"/claims/{claim_id}/lines",
        headers=bearer(token),
        data={"file": (io.BytesIO(csv), "bill.csv", "text/csv")},
        content_type="multipart/form-data",
    )


def _claim_of_a(client, world: World, *, submitted: bool = False) -> tuple[str, dict, list]:
    """A (张伟) files a claim with documents for 李娜's policy (made directly: tests/factories.py)."""
    a, order, policies = world.paid_family()
    spouse = [
        p
        for p in policies
        if p["insured_name_masked"] != policies[0]["insured_name_masked"] or len(policies) == 1
    ][-1]
    body = {
        "policy_id": spouse["id"],
        "care_kind": "emergency",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-11-20",
        "discharged_on": "2026-11-20",
        "diagnosis": "急性胃肠炎",
        "medfee_sumamt_fen": 100_000,
        "hifp_pay_fen": 60_000,
        "in_policy_self_pay_fen": 40_000,
        "payee": {"name": "李娜", "bank_name": "工商银行", "bank_account": "6222020200112233999"},
        "invoices": [{"issuer": "赣州市人民医院", "number": "INV-A-0001", "amount_fen": 100_000}],
    }
    made = factories.claim(
        world.app,
        world.id_of(a),
        body,
        documents=("invoice", "settlement_sheet"),
        submit=submitted,
    )
    # The claim as the API shows it to A: the cases check it is unchanged afterwards.
    claim = client.get(f"/claims/{made['id']}", headers=bearer(a)).get_json()
    secrets = world.object_secrets(order, *policies) + [
        claim["claim_no"],
        "6222020200112233999",
        "INV-A-0001",
        "急性胃肠炎",
    ]
    return a, claim, secrets


@cross_owner("/policies/<int:policy_id>/settlement-records", "GET")
@in_enrollment_window
def _settlement_records_of_another_members_policy(client, world: World):
    a, order, policies = world.paid_family()
    b = _intruder(world)
    unknown = client.get(f"/policies/{UNKNOWN_ID}/settlement-records", headers=bearer(b))
    for policy in policies:
        resp = client.get(f"/policies/{policy['id']}/settlement-records", headers=bearer(b))
        world.assert_hidden(
            resp,
            "policy_not_found",
            secrets=world.object_secrets(order, *policies),
            same_as=unknown,
        )
        assert (
            client.get(
                f"/policies/{policy['id']}/settlement-records", headers=bearer(a)
            ).status_code
            == 200
        )


@cross_owner("/claims/<int:claim_id>", "GET", "PATCH", "DELETE")
@cross_owner("/claims/<int:claim_id>/submit", "POST")
@cross_owner("/claims/<int:claim_id>/documents", "POST")
@cross_owner("/claims/<int:claim_id>/answer", "POST")
@cross_owner("/claims/<int:claim_id>/human-review", "POST")
@cross_owner("/claims/<int:claim_id>/recheck", "POST")
@cross_owner("/claims/<int:claim_id>/payee", "POST")
@cross_owner("/claims/<int:claim_id>/lines", "POST", "PUT")
@in_enrollment_window
def _claim_of_another_member(client, world: World):
    a, claim, secrets = _claim_of_a(client, world)
    b = _intruder(world)
    cid = claim["id"]
    attempts = [
        ("GET", "", None),
        ("PATCH", "", {"diagnosis": "改掉"}),
        ("DELETE", "", None),
        ("POST", "/submit", None),
        ("POST", "/answer", {"message": "x"}),
        ("POST", "/human-review", {"reason": "x"}),
        ("POST", "/recheck", {"reason": "x"}),
        ("POST", "/payee", {"payee": PAYEE_B}),
        ("PUT", "/lines", {"lines": LINES}),
    ]
    keyed = ("/submit", "/payee")
    for method, suffix, body in attempts:
        headers = {**bearer(b), **(key() if suffix in keyed else {})}
        resp = client.open(f"/claims/{cid}{suffix}", method=method, headers=headers, json=body)
        same = client.open(
            f"/claims/{UNKNOWN_ID}{suffix}",
            method=method,
            headers={**bearer(b), **(key() if suffix in keyed else {})},
            json=body,
        )
        world.assert_hidden(resp, "claim_not_found", secrets=secrets, same_as=same)
    resp = _upload(client, b, cid)
    world.assert_hidden(resp, "claim_not_found", secrets=secrets)
    resp = _upload_lines(client, b, cid)
    world.assert_hidden(
        resp, "claim_not_found", secrets=secrets, same_as=_upload_lines(client, b, UNKNOWN_ID)
    )
    listed = client.get("/claims", headers=bearer(b))
    assert listed.get_json() == []
    assert_leaks_nothing(listed, secrets)
    own = client.get(f"/claims/{cid}", headers=bearer(a)).get_json()
    assert own == claim  # unchanged: same status, documents, diagnosis


@cross_owner("/claims/<int:claim_id>/documents/<int:document_id>", "GET", "DELETE")
@in_enrollment_window
def _document_of_another_member(client, world: World):
    a, claim, secrets = _claim_of_a(client, world)
    b = _intruder(world)
    doc_id = claim["documents"][0]["id"]
    for method in ("GET", "DELETE"):
        resp = client.open(
            f"/claims/{claim['id']}/documents/{doc_id}", method=method, headers=bearer(b)
        )
        world.assert_hidden(
            resp,
            "claim_not_found",
            secrets=secrets,
            same_as=client.open(
                f"/claims/{UNKNOWN_ID}/documents/{doc_id}", method=method, headers=bearer(b)
            ),
        )
    # A's own document under another claim id is not found either
    own = client.get(f"/claims/{claim['id']}/documents/{doc_id}", headers=bearer(a))
    assert own.status_code == 200 and own.data[:3] == b"\xff\xd8\xff"
    assert len(client.get(f"/claims/{claim['id']}", headers=bearer(a)).get_json()["documents"]) == 2


PAYEE_B = {"name": "李娜", "bank_name": "工商银行", "bank_account": "6222020200112238888"}

STAFF_ROUTES = [
    ("GET", "", None),
    ("POST", "/assign", {}),
    ("POST", "/approve", {"reason": "x"}),
    ("POST", "/reject", {"reason_code": "other", "reason": "x"}),
    ("POST", "/request-info", {"message": "x"}),
    ("POST", "/health-determination", {"health": "pre_existing", "reason": "x"}),
    ("POST", "/payee", {"payee": PAYEE_B}),
    ("PUT", "/lines", {"lines": LINES, "reason": "x"}),
]


@cross_owner("/staff/claims/<int:claim_id>", "GET")
@cross_owner("/staff/claims/<int:claim_id>/assign", "POST")
@cross_owner("/staff/claims/<int:claim_id>/approve", "POST")
@cross_owner("/staff/claims/<int:claim_id>/reject", "POST")
@cross_owner("/staff/claims/<int:claim_id>/request-info", "POST")
@cross_owner("/staff/claims/<int:claim_id>/health-determination", "POST")
@cross_owner("/staff/claims/<int:claim_id>/payee", "POST")
@cross_owner("/staff/claims/<int:claim_id>/lines", "PUT")
@in_enrollment_window
def _staff_claim_routes_by_role(client, world: World):
    """A member token is 401; an operator may read and assign but not decide (403); an unknown
    id is a bare 404 for a reviewer; the claim is unchanged by all of it."""
    a, claim, secrets = _claim_of_a(client, world, submitted=True)
    operator = world.staff("demo-operator")
    reviewer = world.staff("demo-reviewer")
    for method, suffix, body in STAFF_ROUTES:
        path = f"/staff/claims/{claim['id']}{suffix}"
        resp = client.open(path, method=method, headers={**bearer(a), **key()}, json=body)
        assert_problem(resp, 401)
        assert_leaks_nothing(resp, secrets)
        if suffix not in ("", "/assign"):
            resp = client.open(
                path, method=method, headers={**bearer(operator), **key()}, json=body
            )
            assert_problem(resp, 403)
            assert_leaks_nothing(resp, secrets)
        resp = client.open(
            f"/staff/claims/{UNKNOWN_ID}{suffix}",
            method=method,
            headers={**bearer(reviewer), **key()},
            json=body,
        )
        assert_problem(resp, 404, "claim_not_found")
    after = client.get(f"/claims/{claim['id']}", headers=bearer(a)).get_json()
    assert after["status"] == claim["status"] and after["transitions"] == claim["transitions"]


@cross_owner("/staff/claims/<int:claim_id>/documents/<int:document_id>", "GET")
@in_enrollment_window
def _claim_document_for_an_unassigned_reviewer(client, world: World):
    a, claim, secrets = _claim_of_a(client, world, submitted=True)
    doc_id = claim["documents"][0]["id"]
    factories.staff_account(world.app, "reviewer-two", "reviewer")
    other = world.staff("reviewer-two")
    reviewer = world.staff("demo-reviewer")
    factories.assign_claim(world.app, "demo-reviewer", claim["id"])
    reads = world.audit_count("claim.document.read")
    path = f"/staff/claims/{claim['id']}/documents/{doc_id}"
    resp = client.get(path, headers=bearer(other))
    world.assert_hidden(
        resp,
        "document_not_found",
        secrets=secrets,
        same_as=client.get(
            f"/staff/claims/{claim['id']}/documents/{UNKNOWN_ID}", headers=bearer(other)
        ),
    )
    assert world.audit_count("claim.document.read") == reads
    own = client.get(path, headers=bearer(reviewer))
    assert own.status_code == 200 and world.audit_count("claim.document.read") == reads + 1
