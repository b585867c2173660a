"""Batch enrollment of a roster (no broker configured: the job runs in-process when started).

Every eligible person ends with exactly one paid order, one policy and the ledger entries the
member flow writes; the others fail with the bureau's or the quote's stable code; the budget and
the quota are never overspent; a second job, or a re-uploaded roster, enrolls nobody twice."""

from __future__ import annotations

from sqlalchemy import select

from app.database import get_session
from app.enrollment import writer
from app.enrollment.models import Order, OrderItem
from app.jobs import roster_enrollment
from app.jobs.models import Job, JobRow
from app.policies.models import Policy
from tests.conftest import bearer
from tests.jobs.support import (
    PREMIUM_FEN,
    by_name,
    counts,
    eligible,
    employer_programme,
    job_rows,
    ledgers_consistent,
    read_job,
    roster_csv,
    start_job,
    upload,
)


def test_roster_enrolled_with_outcomes_per_row(sponsors, client, seeded):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 50)
    ok = eligible(8)
    suspended, outside = by_name("王芳"), by_name("赵敏")  # 暂停参保; insured in 南昌
    wrong_name = eligible(1, skip=8)[0]
    data = roster_csv(
        ok + [suspended, outside], f"{wrong_name.name}某,{wrong_name.certno},"
    )  # the bureau knows another name
    assert upload(client, admin, programme["id"], data).get_json()["added"] == 11

    resp = start_job(client, admin, programme["id"])
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert {k: job[k] for k in ("status", "total", "done", "failed", "processed", "percent")} == {
        "status": "completed_with_errors",
        "total": 11,
        "done": 8,
        "failed": 3,
        "processed": 11,
        "percent": 100.0,
    }
    assert job["eta_seconds"] is None and job["finished_at"] and job["runs"] == 1
    assert read_job(client, admin, programme["id"], job["id"]) == job

    failed = job_rows(client, admin, programme["id"], job["id"], status="failed")
    assert sorted((r["code"], r["id_number_masked"][-4:]) for r in failed["items"]) == sorted(
        [
            ("basic_insurance_suspended", suspended.certno[-4:]),
            ("region_not_covered", outside.certno[-4:]),
            ("identity_not_matched", wrong_name.certno[-4:]),
        ]
    )
    assert all(r["message"] and r["policy_id"] is None for r in failed["items"])
    # each failed row points at the HR clerk's own file: its line and the name written there
    lines = {
        r["id_number_masked"][-4:]: (r["line"], r["uploaded_name_masked"]) for r in failed["items"]
    }
    order = [p.certno[-4:] for p in [*ok, suspended, outside, wrong_name]]
    for certno_tail, (line, uploaded) in lines.items():
        assert line == order.index(certno_tail) + 2  # the header is line 1
        assert uploaded and "*" in uploaded
    # the name as written in the file (here with a stray character), not the bureau's
    assert lines[wrong_name.certno[-4:]][1].endswith("某")
    assert all(r["upload_id"] for r in failed["items"])
    enrolled = job_rows(client, admin, programme["id"], job["id"], status="succeeded")
    assert enrolled["total"] == 8 and all(
        r["code"] == "enrolled" and r["policy_id"] for r in enrolled["items"]
    )

    # 8 people x 89 yuan: 8 paid sponsor orders, each with its item, ledger entries and policy.
    assert counts(seeded) == {
        "orders": 8,
        "items": 8,
        "ledger": 8,
        "programme_ledger": 8,
        "policies": 8,
        "people_insured": 8,
        "issued_audits": 8,
    }
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 50, PREMIUM_FEN * 8, 8)
    with seeded.app_context():
        orders = list(get_session().scalars(select(Order)))
        assert {
            (o.status, o.payment_method, o.member_id, o.total_pay_fen, o.total_subsidy_fen)
            for o in orders
        } == {("paid", "sponsor", None, 0, PREMIUM_FEN)}
        policy_ids = {r["policy_id"] for r in enrolled["items"]}
        assert {p.id for p in get_session().scalars(select(Policy))} == policy_ids
    ledgers_consistent(seeded, programme["id"])
    report = client.get(
        f"/staff/programmes/{programme['id']}/report", headers=bearer(admin)
    ).get_json()
    assert (report["spent_fen"], report["active_policies_funded"]) == (PREMIUM_FEN * 8, 8)
    summary = client.get(
        f"/staff/programmes/{programme['id']}/roster", headers=bearer(admin)
    ).get_json()
    assert (summary["entries"], summary["insured"]) == (11, 8)
    # The public figures count the batch like any enrollment: 8 people, all funded by the employer.
    with seeded.app_context():
        from app.disclosure.aggregates import counters_for
        from app.products.models import Product

        s = get_session()
        product = s.scalar(select(Product).where(Product.code == "ganzhou-demo-2026"))
        cells = counters_for(s, [(product.id, product.plan_year)])[(product.id, product.plan_year)]
    assert (
        sum(
            v
            for (month, metric, dim), v in cells.items()
            if metric == "enrolled_by_funding_source" and dim == "employer"
        )
        == 8
    )


def test_second_job_and_reupload_enroll_nobody_twice(sponsors, client, seeded):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 50)
    people = eligible(5) + [by_name("王芳")]
    upload(client, admin, programme["id"], roster_csv(people))
    first = start_job(client, admin, programme["id"]).get_json()
    assert (first["done"], first["failed"]) == (5, 1)
    before = counts(seeded)

    # The same roster again, plus two new people: only they (and the one who failed) are taken.
    newcomers = eligible(2, skip=5)
    again = upload(client, admin, programme["id"], roster_csv(people + newcomers)).get_json()
    assert (again["added"], again["already_listed"]) == (2, 6)
    second = start_job(client, admin, programme["id"]).get_json()
    assert (second["total"], second["done"], second["failed"]) == (3, 2, 1)
    after = counts(seeded)
    assert after["policies"] == after["people_insured"] == before["policies"] + 2 == 7
    assert after["orders"] == after["items"] == 7

    third = start_job(client, admin, programme["id"]).get_json()
    assert (third["status"], third["total"], third["done"]) == ("completed_with_errors", 1, 0)
    assert counts(seeded) == after
    assert sponsors.figures(programme["id"])[1:] == (PREMIUM_FEN * 7, 7)
    ledgers_consistent(seeded, programme["id"])


def test_budget_runs_out_mid_batch_and_is_never_overspent(sponsors, client):
    """Budget for 5 premiums (5 x 8,900 = 44,500 fen), 7 people, batches of 3: the first batch
    fits, the second reserves 2 then refuses 1 row by row, the third refuses its only row."""
    sponsors.app.config["JOB_BATCH_SIZE"] = 3
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5)
    upload(client, admin, programme["id"], roster_csv(eligible(7)))
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["done"], job["failed"]) == ("completed_with_errors", 5, 2)
    rows = job_rows(client, admin, programme["id"], job["id"], status="failed")["items"]
    assert [r["code"] for r in rows] == ["budget_exhausted", "budget_exhausted"]
    assert sponsors.figures(programme["id"]) == (44_500, 44_500, 5)  # reserved == total
    # The refused people's orders (placed before the reservation was refused) are gone.
    assert counts(sponsors.app) == {
        "orders": 5,
        "items": 5,
        "ledger": 5,
        "programme_ledger": 5,
        "policies": 5,
        "people_insured": 5,
        "issued_audits": 5,
    }
    ledgers_consistent(sponsors.app, programme["id"])


def test_quota_limits_the_people_funded(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10, quota=3)
    upload(client, admin, programme["id"], roster_csv(eligible(5)))
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["done"], job["failed"]) == (3, 2)
    codes = {
        r["code"]
        for r in job_rows(client, admin, programme["id"], job["id"], status="failed")["items"]
    }
    assert codes == {"quota_exhausted"}
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 10, PREMIUM_FEN * 3, 3)


def test_partial_funding_and_paused_programmes_cannot_batch_enroll(sponsors, client):
    admin, programme = employer_programme(
        sponsors, budget_fen=PREMIUM_FEN * 10, rule={"kind": "percentage", "basis_points": 5000}
    )
    upload(client, admin, programme["id"], roster_csv(eligible(2)))
    resp = start_job(client, admin, programme["id"])
    assert resp.status_code == 422 and resp.get_json()["code"] == "programme_partial_funding"

    employer = sponsors.admin(programme["organisation_id"], "employer_admin")
    fixed = sponsors.programme(
        employer,
        rule={"kind": "fixed", "amount_fen": 5000},
        roster_only=True,
        budget_fen=PREMIUM_FEN * 10,
        name="定额资助",
    )
    upload(client, employer, fixed["id"], roster_csv(eligible(2)))
    # 50 of 89 yuan pays nobody's premium in full: refused before a job is made, saying why
    resp = start_job(client, employer, fixed["id"])
    assert resp.status_code == 422 and resp.get_json()["code"] == "programme_partial_funding"
    assert "50.00 元" in resp.get_json()["detail"] and "89.00 元" in resp.get_json()["detail"]
    jobs = client.get(f"/staff/programmes/{fixed['id']}/enrollment-jobs", headers=bearer(employer))
    assert jobs.status_code == 200 and jobs.get_json() == []

    client.post(
        f"/staff/programmes/{fixed['id']}/status",
        headers=bearer(employer),
        json={"action": "pause"},
    )
    resp = start_job(client, employer, fixed["id"])
    assert resp.status_code == 409 and resp.get_json()["code"] == "programme_not_active"


def test_terms_must_be_the_current_ones(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN)
    resp = start_job(client, admin, programme["id"], version="2020.1")
    assert resp.status_code == 422 and resp.get_json()["code"] == "terms_version_outdated"


def test_programme_paused_while_the_job_runs(sponsors, client, monkeypatch):
    """Paused after the first batch: the job stops (failed, programme_not_active), the rest
    stay pending, and a new job after the programme resumes enrolls them."""
    app = sponsors.app
    app.config["JOB_BATCH_SIZE"] = 2
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    upload(client, admin, programme["id"], roster_csv(eligible(5)))
    real_write = roster_enrollment.write
    batches = []

    def write_then_pause(ctx, batch):
        real_write(ctx, batch)
        batches.append(len(batch))
        if len(batches) == 1:
            from sqlalchemy import update

            from app.sponsors.models import Programme

            session = get_session()
            session.execute(
                update(Programme).where(Programme.id == ctx.programme_id).values(status="paused")
            )
            session.commit()

    monkeypatch.setattr(roster_enrollment, "write", write_then_pause)
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["error_code"], job["done"], job["failed"]) == (
        "failed",
        "programme_not_active",
        2,
        0,
    )
    assert job_rows(client, admin, programme["id"], job["id"], status="pending")["total"] == 3

    monkeypatch.setattr(roster_enrollment, "write", real_write)
    client.post(
        f"/staff/programmes/{programme['id']}/status",
        headers=bearer(admin),
        json={"action": "resume"},
    )
    second = start_job(client, admin, programme["id"]).get_json()
    assert (second["total"], second["done"]) == (3, 3)
    assert counts(app)["people_insured"] == 5


def test_someone_enrolled_between_the_check_and_the_insert(sponsors, client, family, monkeypatch):
    """张伟 enrolls himself through the member flow after the job looked (on the roster, his
    quote is paid by the employer there too): the batch INSERT hits the one-open-item index, the
    batch is redone row by row, and his row fails as already insured; the others go in."""
    from app.jobs import services as job_services
    from tests.enrollment.conftest import place_order

    app = sponsors.app
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    people = [by_name("张伟")] + eligible(3, skip=10)
    upload(client, admin, programme["id"], roster_csv(people))
    import app.jobs.celery_app as celery_app

    monkeypatch.setattr(celery_app, "enqueue", lambda job_id: None)  # queued, not run yet
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["total"]) == ("queued", 4)
    order = place_order(client, family, [], method=None)  # 张伟 insures himself meanwhile
    assert (order["status"], order["total_pay_fen"]) == ("paid", 0), order
    # The job's own check does not see him (as if it had looked just before he paid).
    monkeypatch.setattr(roster_enrollment, "standing_person_ids", lambda *a, **k: set())
    with app.app_context():
        assert job_services.run_job(job["id"]) == "completed_with_errors"
    done = read_job(client, admin, programme["id"], job["id"])
    assert (done["done"], done["failed"]) == (3, 1)
    [row] = job_rows(client, admin, programme["id"], job["id"], status="failed")["items"]
    assert (row["code"], row["id_number_masked"][-4:]) == (
        "already_insured",
        by_name("张伟").certno[-4:],
    )
    with app.app_context():
        insured = get_session().scalars(select(Policy.person_id)).all()
        assert len(insured) == len(set(insured)) == 4
        open_items = get_session().scalars(select(OrderItem.person_id).where(OrderItem.open)).all()
        assert len(open_items) == len(set(open_items)) == 4
    assert sponsors.figures(programme["id"])[1:] == (PREMIUM_FEN * 4, 4)  # his order + 3
    ledgers_consistent(app, programme["id"])


def test_bureau_down_fails_the_rows_and_each_person_counts_against_the_rate(
    sponsors, client, monkeypatch
):
    from app.integrations import registry
    from app.integrations.bureau.port import BureauUnavailable
    from app.jobs import throttle

    app = sponsors.app
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    upload(client, admin, programme["id"], roster_csv(eligible(4)))

    class DownBureau:
        calls = 0

        def lookup_person(self, certno, name):
            DownBureau.calls += 1
            raise BureauUnavailable("timeout")

    class CountingThrottle(throttle.Throttle):
        acquired = 0

        def acquire(self):
            CountingThrottle.acquired += 1

    app.extensions["bureau"] = DownBureau()
    app.extensions["bureau_throttle"] = CountingThrottle(5)
    monkeypatch.setattr(roster_enrollment, "BUREAU_RETRY_PAUSE", 0)
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["done"], job["failed"]) == ("completed_with_errors", 0, 4)
    assert {r["code"] for r in job_rows(client, admin, programme["id"], job["id"])["items"]} == {
        "bureau_unavailable"
    }
    # 4 people x 3 attempts each, every attempt within the rate.
    assert DownBureau.calls == CountingThrottle.acquired == 12
    assert counts(app)["policies"] == 0 and sponsors.figures(programme["id"])[1] == 0
    del app.extensions["bureau"]
    with app.app_context():
        assert registry.bureau().__class__.__name__ == "SandboxBureau"


def test_cancel_a_queued_job(sponsors, client, monkeypatch):
    import app.jobs.celery_app as celery_app
    from app.jobs import services as job_services

    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    upload(client, admin, programme["id"], roster_csv(eligible(3)))
    monkeypatch.setattr(celery_app, "enqueue", lambda job_id: None)
    job = start_job(client, admin, programme["id"]).get_json()
    again = start_job(client, admin, programme["id"])  # one active job per programme
    assert again.status_code == 409 and again.get_json()["code"] == "job_already_active"
    path = f"/staff/programmes/{programme['id']}/enrollment-jobs/{job['id']}/cancel"
    resp = client.post(path, headers=bearer(admin))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert client.post(path, headers=bearer(admin)).get_json()["code"] == "job_finished"
    with sponsors.app.app_context():
        assert job_services.run_job(job["id"]) == "not_claimed"
        assert get_session().scalar(select(Job.done).where(Job.id == job["id"])) == 0
        statuses = set(get_session().scalars(select(JobRow.status)))
    assert statuses == {"pending"} and counts(sponsors.app)["policies"] == 0
    listed = client.get(
        f"/staff/programmes/{programme['id']}/enrollment-jobs", headers=bearer(admin)
    )
    assert [j["status"] for j in listed.get_json()] == ["cancelled"]


def test_policy_numbers_already_taken_are_drawn_again(sponsors, client, monkeypatch):
    """The random number generator offers a number a policy already has, and one twice: the
    batch skips them instead of colliding on the unique index."""
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    upload(client, admin, programme["id"], roster_csv(eligible(1)))
    start_job(client, admin, programme["id"])
    with sponsors.app.app_context():
        taken = get_session().scalar(select(Policy.policy_no))
    offered = iter([taken, "HMB20269999999991", "HMB20269999999991", "HMB20269999999992"])
    monkeypatch.setattr(writer, "new_policy_no", lambda plan_year: next(offered))
    upload(client, admin, programme["id"], roster_csv(eligible(3)))
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["done"], job["failed"]) == (2, 0)
    with sponsors.app.app_context():
        numbers = set(get_session().scalars(select(Policy.policy_no)))
    assert numbers == {taken, "HMB20269999999991", "HMB20269999999992"}


def test_each_programme_checks_the_name_its_own_roster_gave(sponsors, client, seeded):
    """A charity's roster names someone wrongly; an employer's then lists them rightly. The
    person's own name became the right one, but the charity's job asks the bureau with the
    name the charity wrote and is refused; the employer's job enrolls them. A re-upload with
    the name corrected is what the charity's next job checks."""
    employer, at_work = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5)
    charity, relief = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5, kind="charity")
    person, other = eligible(2, skip=20)
    wrong = f"{person.name}某,{person.certno},"
    assert upload(client, charity, relief["id"], roster_csv([], wrong)).get_json()["added"] == 1
    assert upload(client, employer, at_work["id"], roster_csv([person])).get_json()["added"] == 1

    job = start_job(client, charity, relief["id"]).get_json()
    [row] = job_rows(client, charity, relief["id"], job["id"])["items"]
    assert (row["status"], row["code"]) == ("failed", "identity_not_matched")
    job = start_job(client, employer, at_work["id"]).get_json()
    [row] = job_rows(client, employer, at_work["id"], job["id"])["items"]
    assert (row["status"], row["code"]) == ("succeeded", "enrolled")

    # the charity corrects its file for someone else: the re-upload's name is the one checked
    wrong = f"{other.name}某,{other.certno},"
    assert upload(client, charity, relief["id"], roster_csv([], wrong)).get_json()["added"] == 1
    assert (
        upload(client, charity, relief["id"], roster_csv([other])).get_json()["already_listed"] == 1
    )
    job = start_job(client, charity, relief["id"]).get_json()
    rows = job_rows(client, charity, relief["id"], job["id"])["items"]
    assert [(r["status"], r["code"]) for r in rows] == [("succeeded", "enrolled")], rows
