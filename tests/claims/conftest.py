"""Fixtures for claims: the 张 family enrolled last December (cover 2026-01-01..2026-12-31,
paid from 张伟's personal account), then the clock moved to 2026-11-23, when the bureau holds
their 2026 settlements; a reviewer logged in."""

from __future__ import annotations

import uuid

import pytest
import time_machine

from tests.conftest import add_relative, bearer, login, verify
from tests.enrollment.conftest import GUARDIAN, NOW, order_body

ENROLLED_AT = "2025-12-15T02:00:00+00:00"


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def insured_family(client, catalogued, residents):
    with time_machine.travel(ENROLLED_AT, tick=True):
        token = login(client, "claims-zhang")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        spouse = add_relative(client, token, residents["李娜"], "spouse").get_json()["id"]
        child = add_relative(
            client, token, residents["张小宝"], "child", guardian_consent=GUARDIAN
        ).get_json()["id"]
        order = client.post(
            "/orders", headers={**bearer(token), **key()}, json=order_body(client, [spouse, child])
        )
        assert order.status_code == 201, order.get_json()
        paid = client.post(
            f"/orders/{order.get_json()['id']}/payments",
            headers={**bearer(token), **key()},
            json={"method": "personal_account"},
        )
        assert paid.status_code == 200, paid.get_json()
    with time_machine.travel(NOW, tick=True):
        token = login(client, "claims-zhang")["access_token"]
        policies = client.get("/policies", headers=bearer(token)).get_json()
        by_name = {p["insured_name_masked"]: p for p in policies}
        yield {"token": token, "policies": policies, "by_name": by_name}


@pytest.fixture
def reviewer(client, seeded):
    resp = client.post(
        "/auth/staff/login", json={"username": "demo-reviewer", "password": "huimin-demo-2026"}
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["access_token"]
