"""`database.autocommit_read` and the pre-ping that replaced `pool_pre_ping` (issue 13).

On PostgreSQL an autocommit read sends its statement alone (no BEGIN, no ROLLBACK, no pre-ping),
leaves the request's connection transactional again for the next unit of work, and survives a
killed backend by reading again on a fresh connection; every other checkout is still pinged, so
a unit of work after the backends were killed still gets a live connection. Elsewhere it is a
read that ends with a rollback."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import func, select, text

from app.database import autocommit_read, get_engine, get_session, transaction
from app.members.models import Member
from tests.conftest import ON_POSTGRES, PG_URL


class Pings:
    """Counts the pre-pings the engine's checkout listener sends (dialect.do_ping)."""

    def __init__(self, engine, monkeypatch) -> None:
        self.count = 0
        real = engine.dialect.do_ping

        def counted(dbapi_connection):
            self.count += 1
            return real(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)


def _members(app) -> int:
    with app.app_context():
        return autocommit_read(lambda s: s.scalar(select(func.count()).select_from(Member)))


def _kill(pid: int) -> None:
    """pg_terminate_backend, then wait until the backend is gone."""
    url = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        for _ in range(100):
            gone = admin.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", (pid,)
            ).fetchone()[0]
            if gone:
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def _pooled_backend_killed(app, monkeypatch) -> tuple[int, Pings]:
    """The pool reduced to one connection, returned to it, whose backend is then killed: the
    dead backend's pid, and the pre-pings counted from now on."""
    with app.app_context():
        engine = get_engine()
        engine.dispose()
        pid = autocommit_read(lambda s: s.scalar(text("SELECT pg_backend_pid()")))
    _kill(pid)
    return pid, Pings(engine, monkeypatch)


def test_a_read_ends_its_transaction_and_sees_what_was_committed(app):
    """On every database: the read's session is left with no transaction, and it sees rows
    committed by a unit of work before it."""
    with app.app_context():
        with transaction() as session:
            session.add(Member(openid="autocommit-read-1"))
        assert (
            autocommit_read(
                lambda s: s.scalar(
                    select(Member.openid).where(Member.openid == "autocommit-read-1")
                )
            )
            == "autocommit-read-1"
        )
        assert not get_session().in_transaction()


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
def test_on_postgres_the_read_sends_no_begin_and_the_next_unit_of_work_is_atomic(app):
    with app.app_context():

        def read(session):
            session.execute(text("SELECT 1"))
            raw = session.connection().connection.dbapi_connection
            return raw.autocommit, raw.info.transaction_status

        autocommit, status = autocommit_read(read)
        # Autocommit: after a statement the connection is idle, not inside a BEGIN.
        assert autocommit is True
        assert status == psycopg.pq.TransactionStatus.IDLE
        # The same request's next unit of work is a transaction again: a failure undoes it.
        with pytest.raises(RuntimeError), transaction() as session:
            session.add(Member(openid="autocommit-read-2"))
            session.flush()
            assert session.connection().connection.dbapi_connection.autocommit is False
            raise RuntimeError("undo")
    assert _members(app) == 0


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
def test_a_read_skips_the_ping_and_reads_again_after_its_backend_was_killed(app, monkeypatch):
    pid, pings = _pooled_backend_killed(app, monkeypatch)
    with app.app_context():
        again = autocommit_read(lambda s: s.scalar(text("SELECT pg_backend_pid()")))
    assert again != pid  # read on a fresh connection, after the dead one failed
    assert pings.count == 0


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
def test_a_unit_of_work_is_pinged_and_gets_a_live_connection_after_a_kill(app, monkeypatch):
    pid, pings = _pooled_backend_killed(app, monkeypatch)
    with app.app_context(), transaction() as session:
        session.add(Member(openid="autocommit-read-3"))
        assert session.scalar(text("SELECT pg_backend_pid()")) != pid
    assert pings.count == 1  # the dead connection's ping; the new one is fresh, not pinged
    assert _members(app) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="kills a PostgreSQL backend")
def test_a_sandbox_read_joining_a_dead_transaction_is_the_requests_outage(app):
    """The sandbox bureau's balance read joins the request's open transaction; when that
    backend was killed the request's transaction is gone too, so the read raises the database's
    outage (503 for the request), not BureauUnavailable, which callers swallow and then meet a
    rolled-back session on their next statement (a 500)."""
    from sqlalchemy.exc import DBAPIError

    from app.database import is_outage
    from app.integrations.bureau.sandbox import SandboxBureau

    with app.test_request_context("/x"):
        session = get_session()
        session.add(Member(openid="joined-read"))
        session.flush()
        _kill(session.scalar(text("SELECT pg_backend_pid()")))
        with pytest.raises(DBAPIError) as raised:
            SandboxBureau().balance("nobody")
        assert is_outage(raised.value)
        session.rollback()
