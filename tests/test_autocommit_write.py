"""`database.autocommit_write` (the counter's nonce and trial inserts): on PostgreSQL one
statement in autocommit mode on the request's connection. The statement stays written, the
request's next unit of work is a transaction again (also after the write failed on a key), and
a write whose pooled backend was killed is sent once more on a fresh connection."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from app.database import autocommit_write, get_session, transaction
from app.members.models import Member
from tests.conftest import ON_POSTGRES
from tests.test_autocommit_read import _members, _pooled_backend_killed

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL"),
]


def _add(openid: str):
    return lambda s: s.execute(insert(Member.__table__).values(openid=openid))


def _next_unit_is_atomic(openid: str) -> None:
    with pytest.raises(RuntimeError), transaction() as session:
        session.add(Member(openid=openid))
        session.flush()
        assert session.connection().connection.dbapi_connection.autocommit is False
        raise RuntimeError("undo")


def test_the_write_stays_and_the_next_unit_of_work_is_atomic(app):
    with app.app_context():

        def write(session):
            _add("acw-1")(session)
            raw = session.connection().connection.dbapi_connection
            return raw.autocommit, raw.info.transaction_status

        autocommit, status = autocommit_write(write)
        assert autocommit is True and status == psycopg.pq.TransactionStatus.IDLE
        assert not get_session().in_transaction()
        _next_unit_is_atomic("acw-2")
    assert _members(app) == 1


def test_a_write_refused_on_its_key_leaves_the_connection_transactional(app):
    with app.app_context():
        autocommit_write(_add("acw-3"))
        with pytest.raises(IntegrityError):
            autocommit_write(_add("acw-3"))
        assert not get_session().in_transaction()
        _next_unit_is_atomic("acw-4")
    assert _members(app) == 1


def test_a_write_on_a_killed_backend_is_sent_once_more_on_a_fresh_connection(app, monkeypatch):
    pid, _ = _pooled_backend_killed(app, monkeypatch)
    with app.app_context():

        def write(session):
            _add("acw-5")(session)
            return session.scalar(text("SELECT pg_backend_pid()"))

        assert autocommit_write(write) != pid
        _next_unit_is_atomic("acw-6")
    assert _members(app) == 1
