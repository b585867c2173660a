"""The Celery worker's entry point: `celery -A app.jobs.worker worker --loglevel=INFO`.

Builds the Flask app from the environment (HUIMIN_PROFILE, DATABASE_URL, CELERY_BROKER_URL ...)
and exports its Celery application. When the worker starts it queues again every job whose
runner died (app/jobs/celery_app.py, `resume_on_start`).
"""

from __future__ import annotations

from app import create_app
from app.jobs.celery_app import celery_for

flask_app = create_app()
celery = celery_for(flask_app)

# `celery -A app.jobs.worker` looks for an attribute named `app` first, then `celery`.
app = celery
