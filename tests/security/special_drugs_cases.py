"""Cross-owner cases for the special-drug routes (registered into test_object_access's registry).

A member's special-drug applications, proofs and purchases are A's alone: B gets the same bare
404 as for an id that never existed, and A's application is unchanged. Staff routes are
reviewer (operator: read) work: a member token is 401, an organisation admin 403, an unknown id
or a draft (not yet submitted) a bare 404; a proof is read only through its own application.
"""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import bearer
from tests.enrollment.conftest import key
from tests.security.support import assert_leaks_nothing, assert_problem, assert_unauthorized
from tests.security.test_object_access import (
    UNKNOWN_ID,
    World,
    _intruder,
    cross_owner,
    in_enrollment_window,
)

A = "/special-drugs/applications"
S = "/staff/special-drugs/applications"
DRUG = "XL01XCE210B001010100731"  # the demo 特药目录 (app/catalogues/demo_data.py: 恩美曲妥珠单抗)
INDICATION = "HER2阳性晚期乳腺癌"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (70, 20, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _file(doc_type: str | None = None) -> dict:
    data: dict = {"file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg")}
    if doc_type:
        data["doc_type"] = doc_type
    return data


PURCHASE_FORM = {
    "pharmacy": "赣州国大药房(DTP专业药房)",
    "purchased_on": "2026-11-23",
    "quantity": "1",
    "amount_fen": "1500000",
    "invoice_no": "SD-INV-A-0001",
    "payee_name": "李娜",
    "payee_bank_name": "工商银行",
    "payee_bank_account": "6222020200112233777",
}


def seed_catalogues(world) -> None:
    from app.demo.catalogues import seed_catalogues as seed

    with world.app.app_context():
        seed()
    world.app.extensions["db_session"].remove()


def application_of_a(client, world: World, *, submitted: bool) -> tuple[str, dict, list[str]]:
    """A (张伟) applies for 李娜 (his spouse's policy) with a prescription and a pathology report."""
    seed_catalogues(world)
    a, order, policies = world.paid_family()
    spouse = [p for p in policies if p["insured_name_masked"].endswith("娜")][0]
    resp = client.post(
        A,
        headers=bearer(a),
        json={"policy_id": spouse["id"], "drug_code": DRUG, "indication": INDICATION},
    )
    assert resp.status_code == 201, resp.get_json()
    application = resp.get_json()
    for doc_type in ("prescription", "pathology"):
        up = client.post(
            f"{A}/{application['id']}/documents",
            headers=bearer(a),
            data=_file(doc_type),
            content_type="multipart/form-data",
        )
        assert up.status_code == 201, up.get_json()
    if submitted:
        resp = client.post(f"{A}/{application['id']}/submit", headers=bearer(a))
        assert resp.status_code == 200, resp.get_json()
    application = client.get(f"{A}/{application['id']}", headers=bearer(a)).get_json()
    secrets = world.object_secrets(order, *policies) + [application["application_no"]]
    return a, application, secrets


@cross_owner(f"{A}/<int:application_id>", "GET")
@cross_owner(f"{A}/<int:application_id>/documents", "POST")
@cross_owner(f"{A}/<int:application_id>/submit", "POST")
@cross_owner(f"{A}/<int:application_id>/purchases", "POST")
@in_enrollment_window
def _special_drug_application_of_another_member(client, world: World):
    a, application, secrets = application_of_a(client, world, submitted=False)
    b = _intruder(world)
    aid = application["id"]

    def both(method: str, suffix: str, **kwargs):
        def call(target):
            extra = kwargs.get("extra", dict)()
            return client.open(
                f"{A}/{target}{suffix}",
                method=method,
                headers={**bearer(b), **extra.pop("headers", {})},
                **extra,
            )

        return call(aid), call(UNKNOWN_ID)

    attempts = [
        ("GET", "", {}),
        ("POST", "/submit", {}),
        (
            "POST",
            "/documents",
            {"extra": lambda: {"data": _file("pathology"), "content_type": "multipart/form-data"}},
        ),
        (
            "POST",
            "/purchases",
            {
                "extra": lambda: {
                    "headers": key(),
                    "data": {**PURCHASE_FORM, **_file()},
                    "content_type": "multipart/form-data",
                }
            },
        ),
    ]
    for method, suffix, kwargs in attempts:
        resp, same = both(method, suffix, **kwargs)
        world.assert_hidden(
            resp, "special_drug_application_not_found", secrets=secrets, same_as=same
        )
    assert client.get(A, headers=bearer(b)).get_json() == []
    # A's application is unchanged: still a draft with its two proofs
    mine = client.get(f"{A}/{aid}", headers=bearer(a)).get_json()
    assert mine["status"] == "draft" and len(mine["documents"]) == 2


@cross_owner(f"{S}/<int:application_id>", "GET")
@cross_owner(f"{S}/<int:application_id>/approve", "POST")
@cross_owner(f"{S}/<int:application_id>/reject", "POST")
@cross_owner(f"{S}/<int:application_id>/documents/<int:document_id>", "GET")
@in_enrollment_window
def _special_drug_application_by_the_wrong_audience_role_or_id(client, world: World):
    a, application, secrets = application_of_a(client, world, submitted=True)
    aid, doc_id = application["id"], application["documents"][0]["id"]
    reviewer = world.staff("demo-reviewer")
    org_admin = world.org_admin()
    decisions = [
        ("POST", "/approve", {}),
        ("POST", "/reject", {"reason_code": "other", "reason": "x"}),
    ]
    for method, suffix, body in [
        ("GET", "", None),
        *decisions,
        ("GET", f"/documents/{doc_id}", None),
    ]:
        path = f"{S}/{aid}{suffix}"
        headers = key() if suffix == "/approve" else {}
        denied = client.open(path, method=method, headers={**bearer(a), **headers}, json=body)
        assert_unauthorized(denied, "token_audience")
        assert_leaks_nothing(denied, secrets)
        denied = client.open(
            path, method=method, headers={**bearer(org_admin), **headers}, json=body
        )
        assert_problem(denied, 403, "role_forbidden")
        assert_leaks_nothing(denied, secrets)
        unknown = client.open(
            f"{S}/{UNKNOWN_ID}{suffix}",
            method=method,
            headers={**bearer(reviewer), **(key() if suffix == "/approve" else {})},
            json=body,
        )
        assert_problem(unknown, 404, "special_drug_application_not_found")
    # a document id of another application is not found through this one
    other = client.get(f"{S}/{aid}/documents/{UNKNOWN_ID}", headers=bearer(reviewer))
    assert_problem(other, 404, "document_not_found")
    # the routes do work for the reviewer, so the denials above are about who asked
    assert client.get(f"{S}/{aid}/documents/{doc_id}", headers=bearer(reviewer)).status_code == 200
    resp = client.post(f"{S}/{aid}/approve", headers={**bearer(reviewer), **key()}, json={})
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
