"""Fixtures for claims: the 张 family enrolled last December (cover 2026-01-01..2026-12-31,
paid from 张伟's personal account), then the clock moved to 2026-11-23, when the bureau holds
their 2026 settlements; a reviewer logged in. All made directly (tests/factories.py): enrolling
is tested in tests/enrollment."""

from __future__ import annotations

import uuid

import pytest
import time_machine

from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import NOW

ENROLLED_AT = "2025-12-15T02:00:00+00:00"


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def insured_family(client, catalogued, residents):
    seeded = catalogued  # the seeded app, with the demo catalogues in force
    with time_machine.travel(ENROLLED_AT, tick=True):
        made = factories.verified_member(seeded, "claims-zhang", residents["张伟"])
        member_id = made["member_id"]
        spouse = factories.relative(seeded, member_id, residents["李娜"], "spouse")
        child = factories.relative(seeded, member_id, residents["张小宝"], "child")
        order = factories.order(seeded, member_id, [spouse, child], pay=True)
        assert order["status"] == "paid", order
    with time_machine.travel(NOW, tick=True):
        token = factories.login(seeded, "claims-zhang")["access_token"]
        # The policies as the API lists them (the tests compare their own reads with these).
        policies = client.get("/policies", headers=bearer(token)).get_json()
        by_name = {p["insured_name_masked"]: p for p in policies}
        yield {"token": token, "policies": policies, "by_name": by_name}


@pytest.fixture
def reviewer(client, seeded):
    return factories.staff_token(seeded, "demo-reviewer")
