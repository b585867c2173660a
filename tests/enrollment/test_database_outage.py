"""The database fails after the bureau debited the personal account (or WeChat Pay made a prepay
order): the member gets 202 with the payment's pending state and where to poll, never a 500; the
money is not lost, reconciliation settles it once. A database failure anywhere else is a 503 with
Retry-After, with nothing half-written."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from app.database import get_engine, get_session
from app.enrollment.models import Order, Payment
from app.enrollment.statuses import OrderStatus, PaymentStatus
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from tests.conftest import bearer
from tests.enrollment.conftest import key, order_body, pay, place_order

PREMIUM = 8900


class DatabaseDies:
    """After `armed`, the next `failures` statements fail the way a killed backend does (the
    driver's OperationalError, which SQLAlchemy wraps), then the database answers again."""

    def __init__(self, app, failures: int):
        self.app, self.failures, self.armed, self.failed = app, failures, False, 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.armed and self.failed < self.failures:
            self.failed += 1
            dbapi = conn.dialect.loaded_dbapi
            raise dbapi.OperationalError("server closed the connection unexpectedly")

    @contextmanager
    def listening(self):
        with self.app.app_context():
            engine = get_engine()
        event.listen(engine, "before_cursor_execute", self)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", self)


def _after(app, port_name: str, method: str, dies: DatabaseDies) -> None:
    """Arm `dies` once the adapter's `method` (the outside call) has answered."""
    from app.integrations import registry

    with app.app_context():
        adapter = getattr(registry, port_name)()
    real = getattr(adapter, method)

    def call_then_arm(*args, **kwargs):
        result = real(*args, **kwargs)
        dies.armed = True
        return result

    app.extensions.setdefault("_test_patched", []).append((adapter, method, real))
    setattr(adapter, method, call_then_arm)


@pytest.fixture
def restore_adapters(app):
    yield
    for adapter, method, real in app.extensions.pop("_test_patched", []):
        setattr(adapter, method, real)


def _balance(app) -> int:
    from tests.enrollment.test_orders import balance

    return balance(app)


def count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("failures", [2, 10])
def test_database_dies_after_the_debit_answers_202_and_reconciliation_settles(
    app, client, family, restore_adapters, failures
):
    from app.payments.services import reconcile

    before = _balance(app)
    order = place_order(client, family, [family["spouse"]])
    dies = DatabaseDies(app, failures)
    _after(app, "bureau", "debit", dies)
    with dies.listening():
        resp = pay(client, family, order["id"])
    assert dies.failed >= 2  # the database did fail after the debit, twice or more
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "processing" and body["order_id"] == order["id"]
    assert body["payment"]["status"] == "pending" and body["payment"]["amount_fen"] == 2 * PREMIUM
    assert resp.headers["Location"] == body["poll_url"]
    assert _balance(app) == before - 2 * PREMIUM  # the money moved
    polled = client.get(body["poll_url"], headers=bearer(family["token"]))
    assert polled.status_code == 200 and polled.get_json()["state"] == "processing"
    assert polled.get_json()["order"]["status"] == OrderStatus.PAYING
    with app.app_context():
        assert reconcile(min_age_seconds=0)["paid"] == 1
        assert check_ledger() == []
    polled = client.get(body["poll_url"], headers=bearer(family["token"])).get_json()
    assert polled["state"] == "paid" and polled["order"]["status"] == OrderStatus.PAID
    assert count(app, Policy) == 2
    assert _balance(app) == before - 2 * PREMIUM  # debited once


def test_one_dropped_connection_after_the_debit_is_retried_and_settles_at_once(
    app, client, family, restore_adapters
):
    order = place_order(client, family, [])
    dies = DatabaseDies(app, 1)
    _after(app, "bureau", "debit", dies)
    with dies.listening():
        resp = pay(client, family, order["id"])
    assert dies.failed == 1
    assert resp.status_code == 200 and resp.get_json()["state"] == "paid", resp.get_json()
    assert count(app, Payment, Payment.status == PaymentStatus.SUCCEEDED) == 1


def test_database_dies_after_the_wechat_prepay_order_answers_202_with_the_js_params(
    app, client, family, restore_adapters
):
    order = place_order(client, family, [], method="wechat")
    dies = DatabaseDies(app, 10)
    _after(app, "wechat_pay", "create_jsapi_order", dies)
    with dies.listening():
        resp = pay(client, family, order["id"], method="wechat")
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "awaiting_wechat" and body["wechat_js_params"]["package"]
    polled = client.get(resp.headers["Location"], headers=bearer(family["token"])).get_json()
    assert polled["state"] == "awaiting_wechat"


def test_a_retry_with_the_same_key_replays_the_202(app, client, family, restore_adapters):
    order = place_order(client, family, [])
    dies = DatabaseDies(app, 2)  # both attempts to record the debit; the key's record is written
    _after(app, "bureau", "debit", dies)
    headers = {**bearer(family["token"]), **key()}
    with dies.listening():
        first = client.post(
            f"/orders/{order['id']}/payments", headers=headers, json={"method": "personal_account"}
        )
    again = client.post(
        f"/orders/{order['id']}/payments", headers=headers, json={"method": "personal_account"}
    )
    assert first.status_code == again.status_code == 202
    assert again.get_json()["payment"]["id"] == first.get_json()["payment"]["id"]


def test_database_down_before_any_outside_call_is_503_and_writes_nothing(app, client, family):
    body = order_body(client, [family["spouse"]])
    dies = DatabaseDies(app, 1000)
    with dies.listening():
        dies.armed = True
        resp = client.post("/orders", headers={**bearer(family["token"]), **key()}, json=body)
        dies.armed = False
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["code"] == "database_unavailable"
    assert resp.headers["Retry-After"] == "1"
    assert count(app, Order) == 0


def test_polling_another_members_payment_is_404(app, client, family):
    from tests.conftest import login

    order = place_order(client, family, [])
    payment = pay(client, family, order["id"]).get_json()["payment"]
    stranger = login(client, "someone-else")["access_token"]
    url = f"/orders/{order['id']}/payments/{payment['id']}"
    assert client.get(url, headers=bearer(stranger)).status_code == 404
    own = client.get(url, headers=bearer(family["token"]))
    assert own.status_code == 200 and own.get_json()["state"] == "paid"
    missing = client.get(f"/orders/{order['id']}/payments/999999", headers=bearer(family["token"]))
    assert missing.status_code == 404 and missing.get_json()["code"] == "payment_not_found"


def test_database_dies_after_the_authorisation_answers_202_and_reconciles_to_payable(
    app, client, family, restore_adapters
):
    """The bureau authorised the debit, then the database failed: the payment is pending (no
    money moved), the member gets 202, reconciliation finds no debit and the order is payable
    again."""
    from app.payments.services import reconcile

    before = _balance(app)
    order = place_order(client, family, [])
    dies = DatabaseDies(app, 10)
    _after(app, "bureau", "authorise_debit", dies)
    with dies.listening():
        resp = pay(client, family, order["id"])
    assert dies.failed >= 1
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["state"] == "processing"
    with app.app_context():
        assert reconcile(min_age_seconds=0)["failed"] == 1
    assert _balance(app) == before
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    assert _balance(app) == before - PREMIUM


def test_a_connection_killed_before_the_request_ends_does_not_turn_its_answer_into_a_500(
    app, client, family
):
    """The answer is built; ending the request's read transaction fails because the backend was
    killed meanwhile (pg_terminate_backend): the member still gets the answer."""
    from sqlalchemy.exc import OperationalError

    order = place_order(client, family, [])
    with app.app_context():
        engine = get_engine()
    failed = []
    read = []  # the route's read of the order ran (the member session's check comes before it)

    def order_read(conn, cursor, statement, *args):
        if "FROM orders" in statement:
            read.append(True)

    def rollback_fails(conn):
        if read and not failed:
            failed.append(True)
            dbapi = conn.dialect.loaded_dbapi
            raise OperationalError("ROLLBACK", {}, dbapi.OperationalError("terminating connection"))

    event.listen(engine, "before_cursor_execute", order_read)
    event.listen(engine, "rollback", rollback_fails)
    try:
        resp = client.get(f"/orders/{order['id']}", headers=bearer(family["token"]))
    finally:
        event.remove(engine, "rollback", rollback_fails)
        event.remove(engine, "before_cursor_execute", order_read)
    assert failed
    assert resp.status_code == 200 and resp.get_json()["id"] == order["id"]
    again = client.get(f"/orders/{order['id']}", headers=bearer(family["token"]))
    assert again.status_code == 200
