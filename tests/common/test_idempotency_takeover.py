"""A keyed request whose claim a retry took over (its lease ended while the first still ran)
keeps its own effect but not its answer: the retry's answer is the one stored. Before, the
settling transaction that tried to record the first request's answer rolled back whole (the
answer's INSERT met the retry's key), while the route answered as if it had committed: a
payment answered "paid" with its settlement silently undone."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.common import idempotency
from app.common.idempotency import FIRST_COMMIT, IdempotencyRecord, idempotent
from app.database import get_engine, get_session, transaction
from app.members.models import Member


def _taken_over() -> None:
    with get_engine().begin() as other:  # the retry, on its own connection
        other.execute(update(IdempotencyRecord.__table__).values(holder="retry#1"))


def _count(app, openid: str) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(Member).where(Member.openid == openid)
        )


def _call(app, route, mode, key):
    wrapped = idempotent(lambda: "member:1", mode=mode)(route)
    with app.test_request_context(
        "/x", method="POST", json={"a": 1}, headers={"Idempotency-Key": key}
    ):
        response = wrapped()
        get_session().close()
    return response


def test_a_settlement_recording_its_answer_after_a_takeover_still_commits(app):
    def route():
        with transaction() as s:  # the first commit: the claim with the payment it starts
            s.add(Member(openid="takeover-started"))
        _taken_over()
        with transaction() as s:  # the settling transaction, with the answer
            s.add(Member(openid="takeover-settled"))
            s.flush()
            idempotency.record_answer(s, 200, {"state": "paid"})
        return {"state": "paid"}, 200

    response = _call(app, route, FIRST_COMMIT, "takeover-key-1")
    assert response.status_code == 200
    assert _count(app, "takeover-settled") == 1
    with app.app_context():
        record = get_session().scalars(select(IdempotencyRecord)).one()
        assert (record.state, record.holder) == ("in_progress", "retry#1")  # the retry's


def test_a_unit_that_committed_durably_and_then_lost_the_database_frees_its_key(app, monkeypatch):
    """A unit whose route committed early (`transaction(durable=True)`, a re-verification that
    must stay) carries its claim into that commit; when recording the answer then meets an
    outage, the claim is freed, so a retry runs again instead of waiting out the lease (409)."""
    from sqlalchemy.exc import OperationalError

    from app.common.idempotency import UNIT

    def route():
        with transaction(durable=True) as s:
            s.add(Member(openid="durable-before-outage"))
        return {"ok": True}, 201

    def outage(*args, **kwargs):
        raise OperationalError("UPDATE idempotency_records", {}, Exception("server closed"))

    monkeypatch.setattr(idempotency, "_complete", outage)
    try:
        _call(app, route, UNIT, "durable-key-1")
    except OperationalError:
        pass
    else:
        raise AssertionError("the outage should reach the request (503)")
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    assert _count(app, "durable-before-outage") == 1
