"""Role-matrix rows and requests for rosters and batch-enrollment jobs (merged into
test_role_matrix's MATRIX and REQUESTS). Only an organisation's admins run its programmes'
rosters and jobs; members, reviewers and operators are kept out."""

from __future__ import annotations

import contextlib
import io
import uuid
from unittest import mock

from tests.conftest import bearer
from tests.enrollment.conftest import key

P = "/staff/programmes/<int:programme_id>"

#                                                          anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    (f"{P}/roster/uploads", "POST"): (401, 401, 403, 403, 201),
    (f"{P}/roster", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/roster/entries", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/roster/uploads/<int:upload_id>/report.csv", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/enrollment-jobs", "POST"): (401, 401, 403, 403, 202),
    (f"{P}/enrollment-jobs", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/enrollment-jobs/<int:job_id>", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/enrollment-jobs/<int:job_id>/rows", "GET"): (401, 401, 403, 403, 200),
    (f"{P}/enrollment-jobs/<int:job_id>/cancel", "POST"): (401, 401, 403, 403, 200),
}


def _roster_csv(w) -> bytes:
    person = w.residents["周军"]
    return f"姓名,身份证号,类别\n{person.name},{person.certno},\n".encode()


def _programme(w) -> int:
    """A roster-only, full-premium programme of organisation 1 (the charity), funded."""

    def make() -> int:
        w.organisation()
        admin = bearer(w.tokens["charity_admin"])
        resp = w.client.post(
            "/staff/programmes",
            headers=admin,
            json={
                "name": "矩阵名单助保",
                "plan_year": 2026,
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
                "rule": {"kind": "full"},
                "eligibility": {"roster_only": True},
            },
        )
        assert resp.status_code == 201, resp.get_json()
        programme_id = resp.get_json()["id"]
        resp = w.client.post(
            f"/staff/programmes/{programme_id}/top-ups",
            headers={**admin, **key()},
            json={"amount_fen": 10 * 8900},
        )
        assert resp.status_code == 200, resp.get_json()
        return programme_id

    return w._once("roster_programme", make)


def _upload(w) -> int:
    def make() -> int:
        resp = w.client.post(
            f"/staff/programmes/{_programme(w)}/roster/uploads",
            headers=bearer(w.tokens["charity_admin"]),
            data={"file": (io.BytesIO(_roster_csv(w)), "roster.csv")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["id"]

    return w._once("roster_upload", make)


def _job(w, *, queued: bool = False) -> int:
    """A job of the programme: run to the end, or (`queued`) not yet taken by any worker."""

    def make() -> int:
        _upload(w)
        terms = w.client.get("/products/current").get_json()["terms_version"]
        with mock.patch("app.jobs.celery_app.enqueue") if queued else contextlib.nullcontext():
            resp = w.client.post(
                f"/staff/programmes/{_programme(w)}/enrollment-jobs",
                headers={**bearer(w.tokens["charity_admin"]), **key()},
                json={"terms": {"version": terms, "accepted": True}},
            )
        assert resp.status_code == 202, resp.get_json()
        return resp.get_json()["id"]

    return w._once("queued_job" if queued else "roster_job", make)


def _job_body(w) -> dict:
    _upload(w)
    terms = w.client.get("/products/current").get_json()["terms_version"]
    return {
        "programme_id": _programme(w),
        "headers": {"Idempotency-Key": uuid.uuid4().hex},
        "json": {"terms": {"version": terms, "accepted": True}},
    }


REQUESTS = {
    (f"{P}/roster/uploads", "POST"): lambda w: {
        "programme_id": _programme(w),
        "content_type": "multipart/form-data",
        "data": {"file": (io.BytesIO(_roster_csv(w)), "roster.csv")},
    },
    (f"{P}/roster", "GET"): lambda w: {"programme_id": _programme(w)},
    (f"{P}/roster/entries", "GET"): lambda w: {
        "programme_id": _programme(w),
        "query_string": {"page_size": 10},
    },
    (f"{P}/roster/uploads/<int:upload_id>/report.csv", "GET"): lambda w: {
        "programme_id": _programme(w),
        "upload_id": _upload(w),
    },
    (f"{P}/enrollment-jobs", "POST"): _job_body,
    (f"{P}/enrollment-jobs", "GET"): lambda w: {"programme_id": _programme(w)},
    (f"{P}/enrollment-jobs/<int:job_id>", "GET"): lambda w: {
        "programme_id": _programme(w),
        "job_id": _job(w),
    },
    (f"{P}/enrollment-jobs/<int:job_id>/rows", "GET"): lambda w: {
        "programme_id": _programme(w),
        "job_id": _job(w),
        "query_string": {"status": "succeeded"},
    },
    (f"{P}/enrollment-jobs/<int:job_id>/cancel", "POST"): lambda w: {
        "programme_id": _programme(w),
        "job_id": _job(w, queued=True),
    },
}
