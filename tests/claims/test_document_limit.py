"""Document uploads under load.

- The documents-per-claim limit (CLAIM_DOCUMENTS_MAX) holds under concurrency: it is counted
  under the claim's row lock in the transaction that inserts, so 45 uploads at once store exactly
  the limit and the rest are refused with too_many_documents (PostgreSQL: SQLite serialises
  writers, and FOR UPDATE compiles to nothing there).
- Heavy document work is capped (app/documents/throttle.py): one member's uploads in work at
  once (429 document_upload_busy), and decodes at once per worker (503 document_processing_busy
  after DOCUMENT_WORK_WAIT_SECONDS). The decode is held open here by a sanitise that waits for
  the test, so "in work" is a fact, not a race."""

from __future__ import annotations

import io
import threading
import time

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
    # The caps on concurrent work would refuse most of these first (one member); lifted, as when
    # each worker counts alone (Redis down), so the database check alone is what is tested.
    app.config.update(DOCUMENT_WORK_PER_MEMBER=UPLOADS, DOCUMENT_WORK_SLOTS=UPLOADS)
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


class HeldSanitise:
    """The real sanitise, entered and then held until the test lets it go."""

    def __init__(self, real) -> None:
        self.real = real
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

        self.turns = threading.Semaphore(0)  # let_go_one: one held upload at a time

    def __call__(self, data, **kwargs):
        self.entered.release()
        deadline = time.monotonic() + 10  # bounded: without the cap, the test fails, not hangs
        while not self.release.is_set() and time.monotonic() < deadline:
            if self.turns.acquire(timeout=0.05):
                break
        return self.real(data, **kwargs)

    def let_go_one_by_one(self, answers: list, threads: list) -> None:
        """Each held upload finishes before the next goes on: the uploads' own writes do not
        race on SQLite (a deferred transaction upgrading to a writer gets SQLITE_BUSY at once,
        answered 503 database_unavailable), which is not what these tests are about."""
        for done in range(1, len(threads) + 1):
            self.turns.release()
            deadline = time.monotonic() + 10
            while len(answers) < done and time.monotonic() < deadline:
                time.sleep(0.01)
        for thread in threads:
            thread.join()


def _upload(client, token, claim_id):
    return client.post(
        f"/claims/{claim_id}/documents",
        headers=bearer(token),
        data={"doc_type": "invoice", "file": (io.BytesIO(factories.jpeg()), "p.jpg")},
        content_type="multipart/form-data",
    )


def _in_work(app, token, claim_id, held: HeldSanitise, count: int):
    """`count` uploads started in threads and held inside sanitise; their answers."""
    answers: list[int] = []

    def run() -> None:
        answers.append(_upload(app.test_client(), token, claim_id).status_code)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in range(count):
        assert held.entered.acquire(timeout=10), "an upload never reached sanitise"
    return threads, answers


@pytest.fixture
def held(monkeypatch):
    from app.documents import store

    holder = HeldSanitise(store.sanitise)
    monkeypatch.setattr(store, "sanitise", holder)
    yield holder
    holder.release.set()


def test_one_member_has_at_most_two_uploads_in_work(app, client, insured_family, held):
    member_id, claim_id = _draft(app, client, insured_family)
    app.config.update(DOCUMENT_WORK_PER_MEMBER=2, DOCUMENT_WORK_SLOTS=5)
    token = insured_family["token"]
    threads, answers = _in_work(app, token, claim_id, held, 2)

    busy = _upload(client, token, claim_id)
    assert busy.status_code == 429, busy.get_json()
    assert busy.get_json()["code"] == "document_upload_busy"
    assert int(busy.headers["Retry-After"]) >= 1

    held.release.set()
    for thread in threads:
        thread.join()
    assert answers == [201, 201]
    assert _upload(client, token, claim_id).status_code == 201  # the count was given back


def test_a_worker_decodes_at_most_its_slots_at_once(app, client, insured_family, held):
    member_id, claim_id = _draft(app, client, insured_family)
    app.config.update(
        DOCUMENT_WORK_PER_MEMBER=5, DOCUMENT_WORK_SLOTS=2, DOCUMENT_WORK_WAIT_SECONDS=0.2
    )
    token = insured_family["token"]
    threads, answers = _in_work(app, token, claim_id, held, 2)

    busy = _upload(client, token, claim_id)
    assert busy.status_code == 503, busy.get_json()
    assert busy.get_json()["code"] == "document_processing_busy"
    assert int(busy.headers["Retry-After"]) >= 1

    held.let_go_one_by_one(answers, threads)
    assert answers == [201, 201]
    with app.app_context(), read_scope() as s:
        stored = s.scalar(
            select(func.count())
            .select_from(ClaimDocument)
            .where(ClaimDocument.claim_id == claim_id)
        )
    assert stored == 2
