"""A real Celery worker (celery.contrib.testing.worker.start_worker, in a thread of this process)
on the real Redis at redis://127.0.0.1:6379/11 runs the batch enrollment: the HTTP request only
queues the job, the worker enrolls the roster, and a worker that starts picks up a job whose
previous worker died. Skipped when that Redis is not reachable.

The database is one both threads can share: PostgreSQL when TEST_DATABASE_URL is set, otherwise
an SQLite file (the in-memory test database lives on one connection)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.database import get_session, utcnow
from app.jobs.models import Job
from tests.conftest import ON_POSTGRES
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
from tests.sponsors.conftest import Sponsors

BROKER = "redis://127.0.0.1:6379/11"


def redis_reachable() -> bool:
    import redis

    try:
        return bool(
            redis.Redis.from_url(BROKER, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
        )
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_reachable(), reason=f"needs Redis at {BROKER}")


@pytest.fixture
def worker_app(app_factory, tmp_path, fast_password_hashing, frozen):
    settings = {
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": f"huimin-test-{uuid.uuid4().hex[:8]}",
        "JOB_STALE_SECONDS": 10,
    }
    if not ON_POSTGRES:
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    app = app_factory(**settings)
    from app.demo.seed import seed_demo

    with app.app_context():
        seed_demo()
    yield app
    from app.jobs.celery_app import celery_for

    celery_for(app).control.purge()  # the delayed resume check a stopped worker handed back


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_real_worker_enrolls_the_roster_and_resumes_a_dead_workers_job(worker_app):
    from celery.contrib.testing.worker import start_worker

    import app.jobs.celery_app as celery_app

    app, client = worker_app, worker_app.test_client()
    sponsors = Sponsors(app, client)
    celery = celery_app.celery_for(app)
    assert celery.conf.task_always_eager is False and celery.conf.broker_url == BROKER

    # Before any worker runs: a job whose worker died mid-way (running, heartbeat long stale).
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 20)
    upload(client, admin, programme["id"], roster_csv(eligible(4)))
    orphan = start_job(client, admin, programme["id"]).get_json()
    assert (orphan["status"], orphan["total"]) == ("queued", 4)  # queued on Redis, nobody took it
    with app.app_context():
        session = get_session()
        session.execute(
            update(Job)
            .where(Job.id == orphan["id"])
            .values(
                status="running",
                runs=1,
                runner_token="dead-worker",
                started_at=utcnow() - timedelta(minutes=5),
                heartbeat_at=utcnow() - timedelta(minutes=5),
            )
        )
        session.commit()
    celery.control.purge()  # its message died with the worker

    with start_worker(
        celery, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
    ):
        # The starting worker queued the stale-job check, which queued the orphan again.
        done = wait_for(
            lambda: (lambda j: j if j["status"] == "succeeded" else None)(
                read_job(client, admin, programme["id"], orphan["id"])
            )
        )
        assert (done["done"], done["failed"], done["runs"]) == (4, 0, 2)

        # A new roster through HTTP: the request only queues; the worker does the work.
        upload(client, admin, programme["id"], roster_csv(eligible(6)))  # 2 new people
        queued = start_job(client, admin, programme["id"])
        assert queued.status_code == 202 and queued.get_json()["total"] == 2
        finished = wait_for(
            lambda: (lambda j: j if j["status"] == "succeeded" else None)(
                read_job(client, admin, programme["id"], queued.get_json()["id"])
            )
        )
        assert (finished["done"], finished["runs"]) == (2, 1)

    assert counts(app)["policies"] == counts(app)["people_insured"] == 6
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 20, PREMIUM_FEN * 6, 6)
    ledgers_consistent(app, programme["id"])
    with app.app_context():
        assert get_session().scalars(select(Job.status)).all() == ["succeeded", "succeeded"]
