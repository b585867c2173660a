"""Cross-owner cases for the roster and batch-enrollment routes (registered into
test_object_access's registry). Employer A owns a roster-only programme with an uploaded roster
and an enrollment job; B, another employer's admin, gets the same bare 404 as for an id that
never existed, whether it names A's programme or its own programme with A's upload or job id;
it learns nothing of A's people, roster or job, and changes nothing."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from unittest import mock

from sqlalchemy import func, select

from app.database import get_session
from tests.conftest import bearer
from tests.jobs.support import employer_programme_via, roster_csv, start_job, upload
from tests.security.test_object_access import UNKNOWN_ID, World, cross_owner, in_enrollment_window


@dataclass
class RosterWorld:
    admin_a: str
    admin_b: str
    programme_a: int
    programme_b: int
    upload_a: int
    upload_b: int
    job_a: int
    job_b: int
    secrets: list[str]
    object_a: int | None = None  # the object (upload, job) a case asks about
    object_b: int | None = None


def _roster_world(client, world: World) -> RosterWorld:
    from tests.security.support import create_organisation

    people = [world.residents["张伟"], world.residents["李娜"]]
    ids = {}
    for side, name in (("a", "赣州甲科技有限公司"), ("b", "赣州乙贸易有限公司")):
        org = create_organisation(world.app, "employer", name)
        admin = world.org_admin(organisation_id=org, role="employer_admin")
        programme = employer_programme_via(
            client, admin, name=f"员工保障{side.upper()}专属", budget_fen=10 * 8900
        )
        uploaded = upload(
            client, admin, programme, roster_csv(people if side == "a" else people[:1])
        )
        assert uploaded.status_code == 201, uploaded.get_json()
        job = start_job(client, admin, programme)
        assert job.status_code == 202, job.get_json()
        ids[side] = (admin, programme, uploaded.get_json()["id"], job.get_json()["id"])
    (admin_a, programme_a, upload_a, job_a), (admin_b, programme_b, upload_b, job_b) = (
        ids["a"],
        ids["b"],
    )
    secrets = (
        ["赣州甲科技有限公司", "员工保障A专属"] + world.secrets("张伟") + world.secrets("李娜")
    )
    return RosterWorld(
        admin_a, admin_b, programme_a, programme_b, upload_a, upload_b, job_a, job_b, secrets
    )


def _roster_state(world: World) -> tuple:
    from app.jobs.models import Job, JobRow
    from app.sponsors.roster_models import RosterEntry, RosterUpload

    with world.app.app_context():
        s = get_session()
        state = tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (RosterUpload, RosterEntry, Job, JobRow)
        )
        jobs = tuple(s.execute(select(Job.id, Job.status).order_by(Job.id)).all())
        s.rollback()
        return state + jobs


def _hidden_both_ways(
    client, world: World, rw: RosterWorld, method: str, suffix_of, code: str, **kwargs
) -> None:
    """B asks with A's programme id (programme_not_found), and with its own programme id and A's
    object id (`code`); both answers are the bare 404 of an id that never existed."""

    def ask(programme_id, object_id):
        # A multipart body is read once and an idempotency key serves one request: fresh ones.
        extra = {k: v() if callable(v) else v for k, v in kwargs.items()}
        return client.open(
            f"/staff/programmes/{programme_id}{suffix_of(object_id)}",
            method=method,
            headers={**bearer(rw.admin_b), **extra.pop("headers", {})},
            **extra,
        )

    world.assert_hidden(
        ask(rw.programme_a, rw.object_a),
        "programme_not_found",
        secrets=rw.secrets,
        same_as=ask(UNKNOWN_ID, rw.object_b),
    )
    if rw.object_a is not None:
        world.assert_hidden(
            ask(rw.programme_b, rw.object_a),
            code,
            secrets=rw.secrets,
            same_as=ask(rw.programme_b, UNKNOWN_ID),
        )


@cross_owner("/staff/programmes/<int:programme_id>/roster", "GET")
@cross_owner("/staff/programmes/<int:programme_id>/roster/entries", "GET")
@cross_owner("/staff/programmes/<int:programme_id>/enrollment-jobs", "GET")
@in_enrollment_window
def _read_the_roster_or_jobs_of_another_organisation(client, world: World):
    rw = _roster_world(client, world)
    for suffix in ("/roster", "/roster/entries", "/enrollment-jobs"):
        resp = client.get(f"/staff/programmes/{rw.programme_a}{suffix}", headers=bearer(rw.admin_b))
        world.assert_hidden(
            resp,
            "programme_not_found",
            secrets=rw.secrets,
            same_as=client.get(
                f"/staff/programmes/{UNKNOWN_ID}{suffix}", headers=bearer(rw.admin_b)
            ),
        )
        own = client.get(f"/staff/programmes/{rw.programme_a}{suffix}", headers=bearer(rw.admin_a))
        assert own.status_code == 200, own.get_json()
    entries = client.get(
        f"/staff/programmes/{rw.programme_a}/roster/entries", headers=bearer(rw.admin_a)
    ).get_json()
    assert entries["total"] == 2  # A's roster is there for A


@cross_owner(
    "/staff/programmes/<int:programme_id>/roster/uploads/<int:upload_id>/report.csv", "GET"
)
@in_enrollment_window
def _report_of_another_organisations_upload(client, world: World):
    rw = _roster_world(client, world)
    rw.object_a, rw.object_b = rw.upload_a, rw.upload_b
    _hidden_both_ways(
        client,
        world,
        rw,
        "GET",
        lambda upload_id: f"/roster/uploads/{upload_id}/report.csv",
        "roster_upload_not_found",
    )
    own = client.get(
        f"/staff/programmes/{rw.programme_a}/roster/uploads/{rw.upload_a}/report.csv",
        headers=bearer(rw.admin_a),
    )
    assert own.status_code == 200 and own.mimetype == "text/csv"


@cross_owner("/staff/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>", "GET")
@cross_owner("/staff/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>/rows", "GET")
@in_enrollment_window
def _job_of_another_organisation(client, world: World):
    rw = _roster_world(client, world)
    rw.object_a, rw.object_b = rw.job_a, rw.job_b
    for tail in ("", "/rows"):
        _hidden_both_ways(
            client,
            world,
            rw,
            "GET",
            lambda job_id, tail=tail: f"/enrollment-jobs/{job_id}{tail}",
            "job_not_found",
        )
        own = client.get(
            f"/staff/programmes/{rw.programme_a}/enrollment-jobs/{rw.job_a}{tail}",
            headers=bearer(rw.admin_a),
        )
        assert own.status_code == 200, own.get_json()


@cross_owner("/staff/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>/cancel", "POST")
@in_enrollment_window
def _cancel_the_job_of_another_organisation(client, world: World):
    """A's second job is still queued (no worker took it yet): B cannot cancel it, A can."""
    rw = _roster_world(client, world)
    more = upload(client, rw.admin_a, rw.programme_a, roster_csv([world.residents["陈静"]]))
    assert more.status_code == 201
    with mock.patch("app.jobs.celery_app.enqueue"):
        queued = start_job(client, rw.admin_a, rw.programme_a).get_json()
    assert queued["status"] == "queued"
    rw.object_a, rw.object_b = queued["id"], rw.job_b
    before = _roster_state(world)
    _hidden_both_ways(
        client,
        world,
        rw,
        "POST",
        lambda job_id: f"/enrollment-jobs/{job_id}/cancel",
        "job_not_found",
    )
    assert _roster_state(world) == before
    resp = client.post(
        f"/staff/programmes/{rw.programme_a}/enrollment-jobs/{queued['id']}/cancel",
        headers=bearer(rw.admin_a),
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"


@cross_owner("/staff/programmes/<int:programme_id>/roster/uploads", "POST")
@cross_owner("/staff/programmes/<int:programme_id>/enrollment-jobs", "POST")
@in_enrollment_window
def _upload_to_or_enroll_the_programme_of_another_organisation(client, world: World):
    rw = _roster_world(client, world)
    rw.object_a = rw.object_b = None
    newcomer = world.residents["陈静"]
    before = _roster_state(world)
    csv = roster_csv([newcomer])
    _hidden_both_ways(
        client,
        world,
        rw,
        "POST",
        lambda _: "/roster/uploads",
        "",
        data=lambda: {"file": (io.BytesIO(csv), "roster.csv")},
        content_type="multipart/form-data",
    )
    terms = client.get("/products/current").get_json()["terms_version"]
    _hidden_both_ways(
        client,
        world,
        rw,
        "POST",
        lambda _: "/enrollment-jobs",
        "",
        headers=lambda: {"Idempotency-Key": uuid.uuid4().hex},
        json={"terms": {"version": terms, "accepted": True}},
    )
    assert _roster_state(world) == before  # no upload, no entry, no job, no row
    # A's own upload and job work (the 404 above was about ownership).
    assert upload(client, rw.admin_a, rw.programme_a, csv).get_json()["added"] == 1
    assert start_job(client, rw.admin_a, rw.programme_a).get_json()["done"] == 1
