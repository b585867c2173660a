"""Long work that runs outside a request: batch enrollment of a programme's roster.

A job's state and its per-row outcomes live in the database (`models`), so progress survives
restarts and is shown to the organisation. Jobs run as Celery tasks on Redis when
CELERY_BROKER_URL is set and eagerly in-process otherwise (`celery_app`); `flask jobs resume` and
a starting worker pick up jobs whose runner died (`services.resume_stale`).
"""
