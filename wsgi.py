"""WSGI entry point: `gunicorn wsgi:app` (profile from HUIMIN_PROFILE)."""

from app import create_app

app = create_app()
