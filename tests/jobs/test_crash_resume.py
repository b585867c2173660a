"""A job whose worker dies mid-way resumes without duplicates.

The crash is simulated by raising `WorkerKilled`, a BaseException the runner does not catch (as
nothing runs when a process is killed), from inside a batch once k rows were recorded: that batch
rolls back, the job stays `running` with a heartbeat that goes stale. `flask jobs resume` (or a
worker starting) takes it over; rows already done are not done again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.database import get_session, utcnow
from app.jobs import roster_enrollment
from app.jobs import services as job_services
from app.jobs.models import Job, JobRow
from tests.jobs.support import (
    PREMIUM_FEN,
    counts,
    eligible,
    employer_programme,
    ledgers_consistent,
    read_job,
    roster_csv,
    start_job,
    upload,
)

STALE = 60


class WorkerKilled(BaseException):
    """The process died: no except clause of the app runs."""


def crash_after(monkeypatch, rows: int) -> list[int]:
    """Make the runner die inside the batch during which more than `rows` rows get recorded."""
    real_record = roster_enrollment.record
    recorded: list[int] = []

    def record_then_die(session, ctx, outcomes):
        real_record(session, ctx, outcomes)
        recorded.append(len(outcomes))
        if sum(recorded) > rows:
            raise WorkerKilled()

    monkeypatch.setattr(roster_enrollment, "record", record_then_die)
    return recorded


@pytest.fixture
def roster(sponsors, client):
    """12 eligible people on an employer's roster; batches of 4; a job is stale after 60 s."""
    sponsors.app.config.update(JOB_BATCH_SIZE=4, JOB_STALE_SECONDS=STALE)
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 20)
    upload(client, admin, programme["id"], roster_csv(eligible(12)))
    return admin, programme


def test_crashed_job_resumes_without_duplicates(sponsors, client, roster, monkeypatch, frozen):
    admin, programme = roster
    app = sponsors.app
    recorded = crash_after(monkeypatch, rows=5)
    with pytest.raises(WorkerKilled):
        start_job(client, admin, programme["id"])
    # Batch 1 (4 rows) committed; batch 2 recorded rows 5-8 and died before its commit.
    assert recorded == [4, 4]
    with app.app_context():
        job = get_session().scalar(select(Job))
        job_id = job.id
        assert (job.status, job.done, job.failed, job.runs) == ("running", 4, 0, 1)
        assert get_session().scalar(select(JobRow.id).where(JobRow.status == "pending").limit(1))
    assert counts(app)["policies"] == 4
    progress = read_job(client, admin, programme["id"], job_id)
    assert (progress["percent"], progress["processed"]) == (33.3, 4)  # 4 of 12
    assert progress["eta_seconds"] is not None and progress["eta_seconds"] >= 0

    monkeypatch.undo()  # the next worker does not die
    runner = app.test_cli_runner()
    # Not yet stale: nothing to resume, and a second runner cannot take it.
    assert runner.invoke(args=["jobs", "resume"]).output.strip() == "resumed: 0"
    with app.app_context():
        assert job_services.run_job(job_id) == "not_claimed"

    frozen.shift(timedelta(seconds=STALE + 1))
    result = runner.invoke(args=["jobs", "resume"])
    assert result.exit_code == 0 and result.output.strip() == f"resumed: 1 ({job_id})"
    job = read_job(client, admin, programme["id"], job_id)
    assert (job["status"], job["done"], job["failed"], job["runs"]) == ("succeeded", 12, 0, 2)
    # Every person once: 12 orders, items, ledger entries, reservations and policies.
    assert counts(app) == {
        "orders": 12,
        "items": 12,
        "ledger": 12,
        "programme_ledger": 12,
        "policies": 12,
        "people_insured": 12,
        "issued_audits": 12,
    }
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 20, PREMIUM_FEN * 12, 12)
    ledgers_consistent(app, programme["id"])


def test_crash_after_the_last_commit_resumes_to_succeeded(
    sponsors, client, roster, monkeypatch, frozen
):
    """Died after recording every row but before marking the job finished: resuming finds no
    pending row and finishes it; nothing is enrolled twice."""
    admin, programme = roster
    app = sponsors.app
    real_finish = job_services._finish

    def die_before_finishing(*args, **kwargs):
        raise WorkerKilled()

    monkeypatch.setattr(job_services, "_finish", die_before_finishing)
    with pytest.raises(WorkerKilled):
        start_job(client, admin, programme["id"])
    monkeypatch.setattr(job_services, "_finish", real_finish)
    assert counts(app)["policies"] == 12
    frozen.shift(timedelta(seconds=STALE + 1))
    with app.app_context():
        assert job_services.resume_stale() == [1]
    job = read_job(client, admin, programme["id"], 1)
    assert (job["status"], job["done"], job["runs"]) == ("succeeded", 12, 2)
    assert counts(app)["policies"] == 12


def test_a_runner_that_lost_the_job_commits_nothing(sponsors, client, roster, monkeypatch):
    """Runner A is slow, is declared dead, and B takes the job over (a new runner token). A's
    next batch is refused at its commit and rolled back; B finishes the job."""
    admin, programme = roster
    app = sponsors.app
    real_write = roster_enrollment.write
    calls = []

    def write_and_get_taken_over(ctx, batch):
        calls.append(ctx.token)
        if len(calls) == 2:  # between A's first and second batch, B claims the job
            session = get_session()
            session.execute(
                update(Job).values(heartbeat_at=utcnow() - timedelta(seconds=STALE + 5))
            )
            session.commit()
            assert job_services.claim(ctx.job_id) is not None
        real_write(ctx, batch)

    monkeypatch.setattr(roster_enrollment, "write", write_and_get_taken_over)
    import app.jobs.celery_app as celery_app

    monkeypatch.setattr(celery_app, "enqueue", lambda job_id: None)
    job = start_job(client, admin, programme["id"]).get_json()
    with app.app_context():
        assert job_services.run_job(job["id"]) == "lost"  # A gives up
    assert counts(app)["policies"] == 4  # only A's first batch
    with app.app_context():
        current = get_session().scalar(select(Job))
        assert (current.status, current.done, current.runs) == ("running", 4, 2)
        token = current.runner_token
        assert token != calls[0]
        # B (holding the new token) works through the rest.
        ctx = roster_enrollment.context(current, token)
        monkeypatch.setattr(roster_enrollment, "write", real_write)
        from app.jobs.throttle import bureau_throttle

        roster_enrollment.run(ctx, bureau_throttle())
        job_services._finish(current.id, token, "succeeded")
    final = read_job(client, admin, programme["id"], job["id"])
    assert (final["status"], final["done"]) == ("succeeded", 12)
    assert counts(app)["policies"] == counts(app)["people_insured"] == 12
    ledgers_consistent(app, programme["id"])
