"""Engine, session registry and the two session scopes.

One `scoped_session` per application, removed at the end of every request (BEMServer style).
Services own the transaction; routes never commit. SQLAlchemy begins a transaction implicitly at
the first statement, so every use of the session goes through one of two scopes that say how it
ends (no bare `commit()` / `rollback()` outside this module):

- `transaction()`: the unit of work. Use it for anything that writes: it commits once when the
  block ends normally and rolls back on any exception.
- `read_scope()`: a read. Use it for reads whose results leave the block as plain data or as
  already-loaded objects (reports, checks, "is there already ...?" before a unit of work, reads
  before calling an outside system): it always ends the implicit transaction at exit (rolled
  back: nothing was written), on success or error, so no transaction is held open across a
  bureau call, a long computation or the next unit of work.
- `autocommit_read(run)`: a read of a statement or two that needs no transaction around it (one
  statement is a consistent snapshot by itself). On PostgreSQL it runs in autocommit mode: no
  BEGIN and no ROLLBACK round trip, and no pre-ping; if the connection turns out dead, `run` is
  called once more on a fresh one (a read has nothing to undo). Elsewhere it is a `read_scope()`.

Pre-ping: a connection taken from the pool is pinged first (one round trip) unless it was just
opened, as SQLAlchemy's `pool_pre_ping` does, so a request after the database restarted or
killed its backends does not fail on a dead connection. `_ping_on_checkout` does it instead of
`pool_pre_ping`, so that `autocommit_read` alone can skip it: it has a cheaper remedy.

A request may instead run as one unit (`request_unit()`, used by the idempotency decorator for
routes that call no outside system between their transactions): its scopes then end nothing
(`transaction()` flushes, `read_scope()` keeps the transaction) and the unit commits once, with
the request's idempotency record. `transaction(durable=True)` commits even there (work that must
stay whatever the rest of the request does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from flask import Flask, current_app
from sqlalchemy import DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}

    if TYPE_CHECKING:
        # Every model here is declared with its own table (none is mapped onto a join or a
        # select), so `Model.__table__` is a Table, as Core statements and app/common/bulk.py
        # take it; SQLAlchemy types it as the wider FromClause.
        __table__: ClassVar[Table]


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through `Session.execute` matched. The session
    types every result as `Result`; a DML statement's is a `CursorResult`, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def is_outage(exc: BaseException) -> bool:
    """The database could not be reached, or dropped the connection mid-statement (a restart, a
    failover, pg_terminate_backend, a lock or serialization abort): the statement's transaction
    was rolled back whole, and the same request a moment later may well succeed. Not a bug in
    the request, so it is answered 503 with Retry-After rather than 500 (app/api.py)."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def utcnow() -> datetime:
    from app.common.clock import now_utc  # one clock (the demo seed may backdate it)

    return now_utc()


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One shared in-memory database for the whole process (tests).
            kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if not url.startswith("sqlite"):
        _ping_on_checkout(engine)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # Readers never block the writer (the sandbox bureau writes in its own session
                # while a request may hold a read transaction); wait rather than fail on a lock.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


# False while `autocommit_read` takes a connection from the pool: it skips the pre-ping.
_PING: ContextVar[bool] = ContextVar("huimin_pre_ping", default=True)


def _ping_on_checkout(engine: Engine) -> None:
    """The pool's pre-ping (what `pool_pre_ping=True` does), skipped while `_PING` is False: a
    connection that is not fresh is pinged when checked out; when the ping finds it dead, every
    pooled connection older than now is dropped and a new one is opened (the pool retries the
    checkout on InvalidatePoolError), so the caller gets a live connection."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection, record) -> None:
        record.info["huimin_fresh"] = True

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy) -> None:
        if record.info.pop("huimin_fresh", False) or not _PING.get():
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"pre-ping failed: {type(exc).__name__}") from exc
            raise


class ScopeSession(Session):
    """The session of one request (or app context): it checks one connection out of the pool
    when first used and keeps it until it is closed (at teardown, `registry.remove()`), so the
    request's scopes (each `transaction()` and `read_scope()` ends its transaction) cost one pool
    checkout and one pre-ping in all, not one each. Transactions are the session's own: it is
    bound to a connection outside any transaction, so commit and rollback work as on an engine."""

    def __init__(self, *args: Any, engine: Engine, **kwargs: Any) -> None:
        self._engine = engine
        self._own_connection: Connection | None = None
        super().__init__(*args, **kwargs)

    def get_bind(self, *args: Any, **kwargs: Any):
        if self._own_connection is None or self._own_connection.closed:
            self._own_connection = self._engine.connect()
        return self._own_connection

    def close(self) -> None:
        connection, self._own_connection = self._own_connection, None
        try:
            super().close()
        finally:
            if connection is not None:
                connection.close()


def init_app(app: Flask) -> None:
    """Create the engine lazily-connecting (no connection is opened here), so `create_app()`
    works without a reachable database (e.g. `flask openapi write`)."""
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
    factory = sessionmaker(class_=ScopeSession, engine=engine, expire_on_commit=False)
    registry = scoped_session(factory)
    app.extensions["db_engine"] = engine
    app.extensions["db_session"] = registry

    @app.teardown_appcontext
    def _remove_session(_exc):
        try:
            registry.remove()
        except DBAPIError as exc:
            # The connection died after the answer was decided (ending a read transaction on a
            # killed backend fails): nothing is lost, since whatever was not committed is gone
            # with the backend. Drop the session and its connection; the answer stands.
            if not is_outage(exc):
                raise
            with contextlib.suppress(DBAPIError):
                registry().invalidate()
            registry.registry.clear()


def request_connection(*, join: bool = False) -> Connection | None:
    """The request's own connection, for an adapter that stands in for another system (the
    sandbox bureau) to work on instead of checking out a second one: when the request's session
    has no transaction open (between its scopes), the adapter's session begins and ends its own
    transaction on it, exactly as on a connection of its own; with `join` (reads only) also
    when a transaction is open, which the adapter's session then joins without ending it. None
    when there is no such connection (no request session yet, or one in a transaction without
    `join`): the adapter checks out its own."""
    registry = current_app.extensions.get("db_session")
    if registry is None or not registry.registry.has():
        return None
    session = registry()
    if not isinstance(session, ScopeSession):
        return None
    connection = session._own_connection
    if connection is None or connection.closed or connection.invalidated:
        return None
    if connection.in_transaction() and not join:
        return None
    return connection


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    return current_app.extensions["db_session"]()


# Session.info key: the session's scopes are part of one unit that its owner commits.
_IN_UNIT = "huimin.request_unit"


@contextlib.contextmanager
def request_unit() -> Iterator[Session]:
    """Run the block as one unit of work on the request's session: `transaction()` scopes inside
    flush instead of committing and `read_scope()` scopes keep the transaction open, so the
    caller commits (or rolls back) all of it once. A scope that fails still rolls back, and
    then the whole unit so far is gone (the caller sees the exception)."""
    session = get_session()
    session.info[_IN_UNIT] = True
    try:
        yield session
    finally:
        session.info.pop(_IN_UNIT, None)


def _in_unit(session: Session) -> bool:
    return bool(session.info.get(_IN_UNIT))


def end_transaction(session: Session, *, keep: bool) -> None:
    """Commit (`keep`) or roll back the session's transaction where no scope can hold it: the
    idempotency decorator (app/common/idempotency.py) writes a keyed request's record around the
    route's own scopes (its claim before them, its answer after them, or both with the route's
    effect in one `request_unit`)."""
    if keep:
        session.commit()
    else:
        session.rollback()


@contextlib.contextmanager
def read_scope() -> Iterator[Session]:
    """A read: yields the request's session and ends its transaction at exit, always (a rollback:
    a read has nothing to keep). Objects loaded inside stay usable afterwards only for the
    attributes already loaded (the rollback expires them), so turn results into plain data, or
    read what you need, inside the block. Never use it for writes: they would be discarded."""
    session = get_session()
    try:
        yield session
    finally:
        if not _in_unit(session):
            session.rollback()


T = TypeVar("T")


def autocommit_read(run: Callable[[Session], T], session: Session | None = None) -> T:
    """`run(session)` for a read that needs no transaction around it, e.g. one statement (each is
    its own snapshot) whose result it turns into plain data. `session` is the request's unless
    given (the sandbox bureau passes its own). On PostgreSQL: the session's connection in
    autocommit mode (no BEGIN, no ROLLBACK), taken from the pool without a pre-ping; when the
    connection turns out dead (a restart, a killed backend), SQLAlchemy drops it and the pool's
    older connections, and `run` is called once more on a fresh one. `run` must only read: in
    autocommit mode a write would stay written. Inside an open transaction it joins it, and on
    other databases it is a read that ends with a rollback, like `read_scope()`."""
    if session is None:
        session = get_session()
    if session.in_transaction():
        return run(session)
    if get_engine().dialect.name != "postgresql":
        try:
            return run(session)
        finally:
            session.rollback()
    return _autocommit(run, session)


def autocommit_write(run: Callable[[Session], T]) -> T:
    """`run(session)` for ONE write statement that stands alone (it is its own transaction): on
    PostgreSQL in autocommit mode on the request's connection, one round trip (no BEGIN, no
    COMMIT; the pool's pre-ping skipped, as for `autocommit_read`), elsewhere in a transaction of
    its own. The request's session must have no transaction open. A connection found dead is
    dropped and `run` is sent once more on a fresh one: `run` must be a statement that is safe to
    send again (an insert of a unique key, say, whose second attempt then fails on the key)."""
    session = get_session()
    if session.in_transaction() or _in_unit(session):
        # it would commit (PostgreSQL) or be rolled back (the finally below) with the caller's
        raise RuntimeError("autocommit_write inside a transaction or a request unit")
    if get_engine().dialect.name != "postgresql":
        with transaction() as own:
            return run(own)
    return _autocommit(run, session)


def _autocommit(run: Callable[[Session], T], session: Session) -> T:
    for attempt in (1, 2):
        ping = _PING.set(attempt > 1)
        try:
            connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        finally:
            _PING.reset(ping)
        try:
            return run(session)
        except DBAPIError as exc:
            if attempt > 1 or not exc.connection_invalidated:
                raise
        finally:
            session.rollback()  # ends the session's transaction: no round trip in autocommit
            if not connection.invalidated and not connection.closed:
                # The request's own connection stays with the session: its next transaction
                # must be one again.
                connection.execution_options(isolation_level=connection.default_isolation_level)
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def transaction(*, durable: bool = False) -> Iterator[Session]:
    """The unit of work: commit on success, roll back on any exception (cosmicpython style).
    Inside `request_unit()` it only flushes (the unit commits), unless `durable`."""
    session = get_session()
    try:
        yield session
        if durable or not _in_unit(session):
            session.commit()
        else:
            session.flush()
    except BaseException:
        session.rollback()
        raise
