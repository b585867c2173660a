"""The documents-per-claim limit (CLAIM_DOCUMENTS_MAX) holds under concurrency: it is counted
under the claim's row lock in the transaction that inserts, so 45 uploads at once store exactly
the limit and the rest are refused with too_many_documents (PostgreSQL: SQLite serialises
writers, and FOR UPDATE compiles to nothing there)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.claims import services
from app.claims.models import ClaimDocument
from app.database import get_session, read_scope
from app.errors import DomainError
from tests import factories
from tests.conftest import bearer

UPLOADS = 45


def _draft(app, client, insured_family) -> tuple[int, int]:
    token = insured_family["token"]
    member_id = client.get("/me", headers=bearer(token)).get_json()["member_id"]
    policy = insured_family["policies"][0]
    made = factories.claim(
        app,
        member_id,
        {
            "policy_id": policy["id"],
            "care_kind": "day_surgery",
            "hospital_name": "赣州市人民医院",
            "admitted_on": "2026-04-08",
            "discharged_on": "2026-04-08",
            "diagnosis": "乳腺良性肿瘤切除",
            "medfee_sumamt_fen": 800_000,
            "hifp_pay_fen": 400_000,
            "in_policy_self_pay_fen": 250_000,
            "out_of_policy_self_pay_fen": 150_000,
        },
    )
    assert made["status"] == "draft"
    return member_id, made["id"]


@pytest.mark.postgres
def test_concurrent_uploads_store_exactly_the_limit(app, client, insured_family):
    member_id, claim_id = _draft(app, client, insured_family)
    limit = app.config["CLAIM_DOCUMENTS_MAX"]
    assert limit == 30
    photo = factories.jpeg()
    start = threading.Barrier(UPLOADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def upload() -> None:
        with app.app_context():
            start.wait()
            try:
                services.upload_document(member_id, claim_id, "invoice", photo, "image/jpeg")
                outcome = "stored"
            except DomainError as exc:
                outcome = exc.code
            except Exception as exc:  # anything else is a defect the assertion shows
                outcome = repr(exc)
            finally:
                get_session().close()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=upload) for _ in range(UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(outcomes)) == ["stored", "too_many_documents"], outcomes
    assert outcomes.count("stored") == limit
    with app.app_context(), read_scope() as s:
        stored = s.scalar(
            select(func.count())
            .select_from(ClaimDocument)
            .where(ClaimDocument.claim_id == claim_id, ClaimDocument.deleted_at.is_(None))
        )
    assert stored == limit


def test_the_limit_counts_documents_still_on_the_claim(app, client, insured_family):
    member_id, claim_id = _draft(app, client, insured_family)
    app.config["CLAIM_DOCUMENTS_MAX"] = 2
    photo = factories.jpeg()
    with app.app_context():
        first = services.upload_document(member_id, claim_id, "invoice", photo, "image/jpeg")
        services.upload_document(member_id, claim_id, "invoice", photo, "image/jpeg")
        with pytest.raises(DomainError) as refused:
            services.upload_document(member_id, claim_id, "invoice", photo, "image/jpeg")
        assert refused.value.code == "too_many_documents"
        services.delete_document(member_id, claim_id, first.id)
        services.upload_document(member_id, claim_id, "invoice", photo, "image/jpeg")
        get_session().close()
