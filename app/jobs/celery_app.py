"""The Celery application: jobs run as tasks on Redis when CELERY_BROKER_URL is set, and eagerly
in-process (task_always_eager) otherwise, so the embedded default needs no broker.

Each task runs inside the Flask app's context (the pattern of Flask's Celery guide). A task may
be delivered twice (acks late: a worker that dies mid-task leaves its message to be delivered
again); that is safe because a job is claimed by a conditional UPDATE (app/jobs/services.py).
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from celery.signals import worker_init
from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)

RUN_JOB = "huimin.jobs.run_job"
RESUME_STALE = "huimin.jobs.resume_stale"


def make_celery(flask_app: Flask) -> Celery:
    cfg = flask_app.config
    broker = cfg["CELERY_BROKER_URL"]

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # Eager inside a request: that app context is already there; a nested one would
            # remove the request's database session when it ends.
            if has_app_context() and current_app._get_current_object() is flask_app:
                return self.run(*args, **kwargs)
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(
        "huimin", broker=broker or "memory://", task_cls=FlaskTask, set_as_current=False
    )
    celery.conf.update(
        task_always_eager=not broker,
        task_eager_propagates=False,
        task_default_queue=cfg["CELERY_QUEUE"],
        task_ignore_result=True,
        # A task is acknowledged when it ends, and given back if its worker dies, so a crash
        # mid-job is redelivered (the claim makes the repeat harmless).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # Give up publishing after a few tries instead of blocking a request for long: the job
        # stays queued and `flask jobs resume` queues it again.
        broker_transport_options={"visibility_timeout": 3600, "max_retries": 2},
    )

    @celery.task(name=RUN_JOB, shared=False)
    def run_job(job_id: int) -> str:
        from app.jobs.services import run_job as run

        return run(job_id)

    @celery.task(name=RESUME_STALE, shared=False)
    def resume_stale() -> list[int]:
        from app.jobs.services import resume_stale as resume

        return resume()

    def resume_on_start(sender=None, **_kwargs) -> None:
        """A worker starting (after a crash, say) queues the stale jobs again: at once, and once
        more when the dead runner's heartbeat has surely gone stale."""
        if getattr(sender, "app", None) is not celery:
            return
        resume_stale.apply_async()
        resume_stale.apply_async(countdown=cfg["JOB_STALE_SECONDS"] + 1)

    # Connected weakly (an app that goes away takes its handler with it), so keep it alive here.
    celery.huimin_resume_on_start = resume_on_start
    worker_init.connect(resume_on_start)
    flask_app.extensions["celery"] = celery
    return celery


def celery_for(flask_app: Flask) -> Celery:
    return flask_app.extensions.get("celery") or make_celery(flask_app)


def enqueue(job_id: int) -> None:
    """Queue the job's task (or, with no broker, run it now). A broker that cannot be reached
    leaves the job queued; `flask jobs resume` queues it again."""
    celery = celery_for(current_app._get_current_object())  # type: ignore[attr-defined]  # proxy
    task = celery.tasks[RUN_JOB]
    if celery.conf.task_always_eager:
        task.apply(args=(job_id,))  # in this process, now: no broker is touched
        return
    try:
        task.apply_async(args=(job_id,), retry=False)
    except Exception as exc:
        log.warning(
            "could not queue job; it stays queued for `flask jobs resume`",
            extra={"job_id": job_id, "error_type": type(exc).__name__},
        )
