"""Role-matrix rows and requests for the special-drug routes (merged into test_role_matrix's
MATRIX and REQUESTS). Members apply and claim purchases; reviewers decide; operators may read the
queue and an application; an organisation admin is kept out of all of it.

One live application per person and drug, and the demo 特药目录 lists three drugs, so the
member's own policy (cover from tomorrow) carries a draft, a pending one and the row's new one;
the approved one, claimed against today, is for the spouse (enrolled last December)."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import bearer
from tests.enrollment.conftest import key
from tests.security.claims_matrix import _backdated_policy

A = "/special-drugs/applications"
S = "/staff/special-drugs/applications"
TRASTUZUMAB = ("XL01XCE210B001010100731", "HER2阳性晚期乳腺癌")
OSIMERTINIB = ("XL01XEA318A001010100931", "EGFR T790M突变阳性的局部晚期或转移性非小细胞肺癌")
PEMBROLIZUMAB = ("XL01XCP137B002010100631", "黑色素瘤")

#                                                          anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("/special-drugs/catalogue", "GET"): (401, 200, 401, 401, 401),
    (A, "POST"): (401, 201, 401, 401, 401),
    (A, "GET"): (401, 200, 401, 401, 401),
    (f"{A}/<int:application_id>", "GET"): (401, 200, 401, 401, 401),
    (f"{A}/<int:application_id>/documents", "POST"): (401, 201, 401, 401, 401),
    (f"{A}/<int:application_id>/submit", "POST"): (401, 200, 401, 401, 401),
    (f"{A}/<int:application_id>/purchases", "POST"): (401, 201, 401, 401, 401),
    (S, "GET"): (401, 401, 200, 200, 403),
    (f"{S}/<int:application_id>", "GET"): (401, 401, 200, 200, 403),
    (f"{S}/<int:application_id>/approve", "POST"): (401, 401, 200, 403, 403),
    (f"{S}/<int:application_id>/reject", "POST"): (401, 401, 200, 403, 403),
    (f"{S}/<int:application_id>/documents/<int:document_id>", "GET"): (401, 401, 200, 403, 403),
}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (30, 90, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _file(doc_type: str | None = None) -> dict:
    data: dict = {"file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg")}
    if doc_type:
        data["doc_type"] = doc_type
    return data


def _member(w) -> dict:
    return bearer(w.tokens["member"])


def _catalogues(w) -> int:
    def make() -> int:
        from app.demo.catalogues import seed_catalogues

        with w.app.app_context():
            seed_catalogues()
        w.app.extensions["db_session"].remove()
        return 1

    return w._once("special_drug_catalogues", make)


def _application(w, drug: tuple[str, str], *, policy_id: int | None = None) -> dict:
    _catalogues(w)
    code, indication = drug
    resp = w.client.post(
        A,
        headers=_member(w),
        json={"policy_id": policy_id or w.policy(), "drug_code": code, "indication": indication},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _spouse_policy(w) -> int:
    return w._once("spouse_policy", lambda: _backdated_policy(w, w.spouse_id))


def _submitted(w, drug: tuple[str, str], policy_id: int | None = None) -> int:
    app_id = _application(w, drug, policy_id=policy_id)["id"]
    for doc_type in ("prescription", "pathology"):
        resp = w.client.post(
            f"{A}/{app_id}/documents",
            headers=_member(w),
            data=_file(doc_type),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_json()
    resp = w.client.post(f"{A}/{app_id}/submit", headers=_member(w))
    assert resp.status_code == 200, resp.get_json()
    return app_id


def _draft(w) -> int:
    return w._once("sd_draft", lambda: _application(w, PEMBROLIZUMAB)["id"])


def _pending(w) -> int:
    return w._once("sd_pending", lambda: _submitted(w, TRASTUZUMAB))


def _approved(w) -> int:
    """Approved by the reviewer (submit and approve again are no-ops that answer 200)."""

    def make() -> int:
        app_id = _submitted(w, OSIMERTINIB, _spouse_policy(w))
        resp = w.client.post(
            f"{S}/{app_id}/approve", headers={**bearer(w.tokens["reviewer"]), **key()}, json={}
        )
        assert resp.status_code == 200, resp.get_json()
        return app_id

    return w._once("sd_approved", make)


def _document(w) -> int:
    app_id = _approved(w)
    found = w.client.get(f"{A}/{app_id}", headers=_member(w)).get_json()
    return found["documents"][0]["id"]


def _purchase(w) -> dict:
    return {
        "application_id": _approved(w),
        "headers": key(),
        "data": {
            "pharmacy": "赣州市人民医院",
            "purchased_on": "2026-11-23",
            "quantity": "1",
            "amount_fen": "1600000",
            "invoice_no": f"SD-M-{len(w.numbers):04d}",
            "payee_name": "李娜",
            "payee_bank_name": "工商银行",
            "payee_bank_account": "6222020200112233445",
            **_file(),
        },
        "content_type": "multipart/form-data",
    }


REQUESTS = {
    ("/special-drugs/catalogue", "GET"): lambda w: {
        "query_string": {"policy_id": w.policy() + 0 * _catalogues(w)}
    },
    (A, "POST"): lambda w: {
        "json": {
            "policy_id": w.policy() + 0 * _catalogues(w),
            "drug_code": OSIMERTINIB[0],
            "indication": OSIMERTINIB[1],
        }
    },
    (A, "GET"): lambda w: {},
    (f"{A}/<int:application_id>", "GET"): lambda w: {"application_id": _draft(w)},
    (f"{A}/<int:application_id>/documents", "POST"): lambda w: {
        "application_id": _draft(w),
        "data": _file("prescription"),
        "content_type": "multipart/form-data",
    },
    (f"{A}/<int:application_id>/submit", "POST"): lambda w: {"application_id": _approved(w)},
    (f"{A}/<int:application_id>/purchases", "POST"): _purchase,
    (S, "GET"): lambda w: {"query_string": {"status": "pending_review"}},
    (f"{S}/<int:application_id>", "GET"): lambda w: {"application_id": _approved(w)},
    (f"{S}/<int:application_id>/approve", "POST"): lambda w: {
        "application_id": _approved(w),
        "headers": key(),
        "json": {},
    },
    (f"{S}/<int:application_id>/reject", "POST"): lambda w: {
        "application_id": _pending(w),
        "json": {"reason_code": "proof_insufficient", "reason": "病理报告不清晰"},
    },
    (f"{S}/<int:application_id>/documents/<int:document_id>", "GET"): lambda w: {
        "application_id": _approved(w),
        "document_id": _document(w),
    },
}
