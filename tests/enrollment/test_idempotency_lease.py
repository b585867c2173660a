"""An Idempotency-Key whose holder died is released as soon as a retry can see the holder is dead
(a worker killed mid-request on this host), or when its lease (the request timeout) ends; a live
holder within its lease keeps it (409)."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from app.common import idempotency
from app.common.idempotency import IdempotencyRecord
from app.common.liveness import known_dead, process_identity
from app.config import load_config
from app.database import get_session, transaction
from app.error_catalogue import E
from tests.conftest import bearer
from tests.enrollment.conftest import NOW, key, order_body

HOST = process_identity().rsplit("/", 2)[0]


def _exited_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def _our_start() -> str:
    return process_identity().rsplit("/", 1)[1]


HOLDERS = {
    "this very process": (lambda: process_identity(), False),
    "our pid, another start time: a reused pid": (lambda: f"{HOST}/{os.getpid()}/1", True),
    "a process that has exited": (lambda: f"{HOST}/{_exited_pid()}/{_our_start()}", True),
    "another host: cannot tell": (lambda: f"other-boot-id/pid:[1]/{_exited_pid()}/5", False),
    "start time unknown: cannot tell": (lambda: f"{HOST}/{os.getpid()}/-", False),
    "empty": (lambda: "", False),
    "none": (lambda: None, False),
}


@pytest.mark.parametrize("holder", list(HOLDERS))
def test_known_dead(holder):
    identity, dead = HOLDERS[holder]
    assert known_dead(identity()) is dead


def _left_in_progress(app, client, family, monkeypatch):
    """A POST /orders whose holder stopped before it could record or release its claim (as a
    worker killed mid-request does): the service refuses, and neither _complete nor _release
    runs."""
    from app.enrollment import services

    body = order_body(client, [family["spouse"]])
    headers = {**bearer(family["token"]), **key()}
    with monkeypatch.context() as patch:
        patch.setattr(idempotency, "_complete", lambda *a: None)
        patch.setattr(idempotency, "_release", lambda *a: None)
        patch.setattr(
            services, "create_order", lambda *a, **k: (_ for _ in ()).throw(E.order_not_found())
        )
        first = client.post("/orders", headers=headers, json=body)
    assert first.status_code == 404
    with app.app_context():
        record = get_session().scalar(select(IdempotencyRecord))
        assert record.state == "in_progress" and record.holder.startswith(process_identity())
    return headers, body


def _set_holder(app, holder: str) -> None:
    with app.app_context(), transaction() as s:
        s.execute(update(IdempotencyRecord).values(holder=holder))


def test_a_key_held_by_a_dead_worker_is_released_at_once(app, client, family, monkeypatch):
    headers, body = _left_in_progress(app, client, family, monkeypatch)
    busy = client.post("/orders", headers=headers, json=body)
    assert busy.status_code == 409 and busy.get_json()["code"] == "idempotency_in_progress"
    _set_holder(app, f"{HOST}/{_exited_pid()}/{_our_start()}#dead0001")
    retried = client.post("/orders", headers=headers, json=body)
    assert retried.status_code == 201, retried.get_json()
    replayed = client.post("/orders", headers=headers, json=body)
    assert replayed.status_code == 201 and replayed.get_json()["id"] == retried.get_json()["id"]
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_a_key_held_elsewhere_is_released_when_its_lease_ends(app, client, family, monkeypatch):
    headers, body = _left_in_progress(app, client, family, monkeypatch)
    _set_holder(app, "another-host/pid:[1]/4242/77#abcd0123")
    lease = app.config["IDEMPOTENCY_LEASE_SECONDS"]
    with time_machine.travel(NOW) as clock:
        clock.shift(timedelta(seconds=lease - 5))
        busy = client.post("/orders", headers=headers, json=body)
        assert busy.status_code == 409 and busy.get_json()["code"] == "idempotency_in_progress"
        clock.shift(timedelta(seconds=10))
        assert client.post("/orders", headers=headers, json=body).status_code == 201


def test_the_lease_is_the_request_timeout(monkeypatch):
    monkeypatch.delenv("IDEMPOTENCY_LEASE_SECONDS", raising=False)
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    assert load_config("development").IDEMPOTENCY_LEASE_SECONDS == 45
    monkeypatch.setenv("IDEMPOTENCY_LEASE_SECONDS", "20")
    assert load_config("development").IDEMPOTENCY_LEASE_SECONDS == 20
    monkeypatch.delenv("GUNICORN_TIMEOUT")
    monkeypatch.delenv("IDEMPOTENCY_LEASE_SECONDS")
    assert load_config("development").IDEMPOTENCY_LEASE_SECONDS == 30


def test_a_payment_retried_after_its_worker_died_answers_with_the_payment_it_started(
    app, client, family, monkeypatch
):
    """The first attempt debited (the bureau's answer was lost) and its worker died before
    recording the answer: the retry with the same key takes the key over and, instead of
    409 payment_in_progress, answers 202 with that payment and where to poll."""
    from app.integrations.bureau.sandbox import SandboxBureau
    from tests.enrollment.conftest import place_order

    order = place_order(client, family, [])
    headers = {**bearer(family["token"]), **key()}
    url = f"/orders/{order['id']}/payments"
    app.extensions["bureau"] = SandboxBureau(faults={"timeout_after_debit"})
    with monkeypatch.context() as patch:
        patch.setattr(idempotency, "_complete", lambda *a: None)
        first = client.post(url, headers=headers, json={"method": "personal_account"})
    assert first.get_json()["state"] == "processing"
    busy = client.post(url, headers=headers, json={"method": "personal_account"})
    assert busy.status_code == 409 and busy.get_json()["code"] == "idempotency_in_progress"
    _set_holder(app, f"{HOST}/{_exited_pid()}/{_our_start()}#dead0002")
    retried = client.post(url, headers=headers, json={"method": "personal_account"})
    assert retried.status_code == 202, retried.get_json()
    body = retried.get_json()
    assert body["state"] == "processing"
    assert body["payment"]["id"] == first.get_json()["payment"]["id"]
    assert retried.headers["Location"] == body["poll_url"]
    app.extensions["bureau"] = SandboxBureau()
    other_key = client.post(
        url, headers={**bearer(family["token"]), **key()}, json={"method": "personal_account"}
    )
    assert other_key.status_code == 409  # a new request (another key) is still refused
    assert other_key.get_json()["code"] == "payment_in_progress"
