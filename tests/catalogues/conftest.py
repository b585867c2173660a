from __future__ import annotations

import pytest

from app.demo.seed import DEMO_STAFF_PASSWORD
from tests.security.support import staff_login


@pytest.fixture
def operator(seeded):
    """(client, the demo operator's access token) on the seeded app."""
    client = seeded.test_client()
    return client, staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)["access_token"]
