"""Races that must have one effect, on PostgreSQL (SQLite serialises writers, which would hide
them): a double-tapped enroll with one Idempotency-Key, taps with different keys, and a
double-tapped personal-account payment."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.database import get_session
from app.enrollment.models import Order, Payment
from app.policies.models import Policy
from tests.conftest import bearer
from tests.enrollment.conftest import order_body, place_order
from tests.enrollment.test_orders import balance

pytestmark = pytest.mark.postgres


def _count(app, model, *where):
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def test_double_tapped_enroll_with_one_key_makes_one_order(app, client, family):
    body = order_body(client, [family["spouse"], family["child"]])
    headers = {**bearer(family["token"]), "Idempotency-Key": "double-tap-" + uuid.uuid4().hex[:8]}

    def tap(_):
        resp = app.test_client().post("/orders", headers=headers, json=body)
        return resp.status_code, (resp.get_json() or {}).get("id")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(tap, range(8)))
    assert {code for code, _ in results} <= {201, 409}
    ids = {oid for code, oid in results if code == 201}
    assert len(ids) == 1 and _count(app, Order) == 1


def test_taps_with_different_keys_still_enroll_each_person_once(app, client, family):
    body = order_body(client, [family["spouse"]])

    def tap(_):
        headers = {**bearer(family["token"]), "Idempotency-Key": uuid.uuid4().hex}
        return app.test_client().post("/orders", headers=headers, json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(tap, range(8)))
    assert codes.count(201) == 1
    assert set(codes) - {201} <= {409, 422}
    assert _count(app, Order) == 1


def test_double_tapped_payment_debits_once_and_issues_one_policy_per_person(app, client, family):
    order = place_order(client, family, [family["spouse"], family["child"]])
    before = balance(app)

    def tap(_):
        headers = {**bearer(family["token"]), "Idempotency-Key": uuid.uuid4().hex}
        return (
            app.test_client()
            .post(
                f"/orders/{order['id']}/payments",
                headers=headers,
                json={"method": "personal_account"},
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(tap, range(8)))
    assert codes.count(200) == 1 and set(codes) - {200} <= {409}
    assert _count(app, Payment, Payment.status == "succeeded") == 1
    assert _count(app, Policy) == 3
    assert before - balance(app) == 3 * 8900
