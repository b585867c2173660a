"""Fixtures for enrollment: demo data seeded (residents, staff, products), a member verified as
张伟 (employee, personal account 3,560.00 yuan) with 李娜 (spouse) and 张小宝 (child) added (made
directly, tests/factories.py: logging in, verifying and adding relatives are tested in
tests/members and tests/identity, not here)."""

from __future__ import annotations

import uuid

import pytest
import time_machine

from app.config import Config
from tests import factories
from tests.conftest import bearer

GUARDIAN = {"accepted": True, "text_version": Config.GUARDIAN_CONSENT_TEXT_VERSION}
# 2026-11-23 10:00 in Asia/Shanghai: the demo product's window is open.
NOW = "2026-11-23T02:00:00+00:00"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def family(client, seeded, residents, frozen):
    tokens = factories.verified_member(seeded, "family-zhang", residents["张伟"])
    member_id = tokens["member_id"]
    return {
        "token": tokens["access_token"],
        "spouse": factories.relative(seeded, member_id, residents["李娜"], "spouse"),
        # under 14: with the guardian's consent (GUARDIAN's text version), as the API asks
        "child": factories.relative(seeded, member_id, residents["张小宝"], "child"),
        "refresh": tokens["refresh_token"],
        "traveller": frozen,  # the clock, to move on (time-machine)
    }


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


def terms_version(client) -> str:
    return client.get("/products/current").get_json()["terms_version"]


def order_body(client, relative_ids, include_self=True, method="personal_account", **extra):
    body = {
        "include_self": include_self,
        "relative_ids": relative_ids,
        "terms": {"version": terms_version(client), "accepted": True},
    }
    if method:
        body["payment_method"] = method
    body.update(extra)
    return body


def place_order(client, family, relative_ids, include_self=True, method="personal_account"):
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, relative_ids, include_self, method),
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def pay(client, family, order_id, method="personal_account"):
    return client.post(
        f"/orders/{order_id}/payments",
        headers={**bearer(family["token"]), **key()},
        json={"method": method},
    )
