"""The Celery application: eager without a broker, on the broker otherwise; production takes
its Redis; the worker module exports the app `celery -A app.jobs.worker` looks for."""

from __future__ import annotations

import importlib

from celery import Celery

from app.jobs.celery_app import RESUME_STALE, RUN_JOB, celery_for
from tests.security.test_jwt import production_env  # noqa: F401  (fixture)


def test_eager_without_a_broker_and_queued_with_one(app_factory):
    eager = celery_for(app_factory())
    assert eager.conf.task_always_eager is True
    queued = celery_for(
        app_factory(CELERY_BROKER_URL="redis://127.0.0.1:6379/11", CELERY_QUEUE="huimin-test-q")
    )
    assert queued.conf.task_always_eager is False
    assert (queued.conf.broker_url, queued.conf.task_default_queue) == (
        "redis://127.0.0.1:6379/11",
        "huimin-test-q",
    )
    # A worker that dies mid-task gives the message back (the job's claim makes a repeat safe).
    assert queued.conf.task_acks_late and queued.conf.task_reject_on_worker_lost
    assert {RUN_JOB, RESUME_STALE} <= set(queued.tasks) and eager is not queued


def test_production_runs_jobs_on_its_redis(production_env):
    from app.config import load_config

    assert load_config("production").CELERY_BROKER_URL == "redis://redis.invalid:6379/0"
    production_env.setenv("CELERY_BROKER_URL", "redis://jobs.invalid:6379/3")
    assert load_config("production").CELERY_BROKER_URL == "redis://jobs.invalid:6379/3"


def test_worker_module_exports_the_celery_app(monkeypatch):
    monkeypatch.setenv("HUIMIN_PROFILE", "testing")
    worker = importlib.import_module("app.jobs.worker")
    assert isinstance(worker.app, Celery) and worker.app is worker.celery
    assert worker.flask_app.extensions["celery"] is worker.celery
    assert RUN_JOB in worker.celery.tasks
