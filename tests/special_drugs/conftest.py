"""Fixtures for the special-drug service: the 张 family insured for 2026 (tests/claims), the demo
product's catalogues imported (as `flask demo seed` does), a reviewer logged in."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import pytest
from PIL import Image

from tests.claims.conftest import insured_family, key, reviewer  # noqa: F401


@pytest.fixture
def catalogues(seeded):
    from app.demo.catalogues import seed_catalogues

    with seeded.app_context():
        seed_catalogues()
    seeded.extensions["db_session"].remove()
    return seeded


def jpeg(shade: int = 40) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, shade, shade)).save(buf, "JPEG")
    return buf.getvalue()


def at_once(app, **calls: Callable) -> dict:
    """Run each call (given its own test client) in its own thread, all released together by a
    barrier; their answers by name."""
    start = threading.Barrier(len(calls))
    answers: dict = {}

    def run(name, call):
        with app.test_client() as c:
            start.wait()
            answers[name] = call(c)

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers
