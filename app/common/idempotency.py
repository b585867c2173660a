"""Idempotency keys for every money-moving POST (IETF draft "Idempotency-Key" header).

- same key + same request  -> the stored answer is replayed, the effect happened once;
- same key + other request -> 422 idempotency_key_reused;
- same key while the first request still runs -> 409 idempotency_in_progress (one effect);
- a key whose first attempt died (5xx, crash) is released, so a retry runs again: on a 5xx at
  once; when the process holding it died (a worker killed mid-request), as soon as a retry sees
  that the holder is dead (app/common/liveness.py); when the holder cannot be judged (another
  host), when its lease ends, IDEMPOTENCY_LEASE_SECONDS (the request timeout) after the claim.
Keys are scoped to the caller (member or staff account): two members may use the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, current_app, g, make_response, request
from sqlalchemy import (
    JSON,
    Integer,
    String,
    UniqueConstraint,
    delete,
    event,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException

from app.common.liveness import known_dead, process_identity
from app.database import (
    Base,
    end_transaction,
    get_session,
    is_outage,
    request_unit,
    rowcount,
    utcnow,
)
from app.error_catalogue import E
from app.errors import DomainError

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | list | None] = mapped_column(JSON)
    response_mimetype: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # The in-progress claim's holder (process identity + claim token) and the end of its lease.
    holder: Mapped[str | None] = mapped_column(String(160))
    lease_until: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("scope", "key"),)


def _fingerprint() -> str:
    raw = request.get_data(cache=True) or b""
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = raw.decode("utf-8", "replace")
    material = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _lease() -> dict:
    """A new holder (this process, and a token for this claim) and its lease."""
    seconds = current_app.config["IDEMPOTENCY_LEASE_SECONDS"]
    return {
        "holder": f"{process_identity()}#{secrets.token_hex(4)}",
        "lease_until": utcnow() + timedelta(seconds=seconds),
    }


def _abandoned(row) -> bool:
    """The claim's holder is known dead, or its lease has ended. Rows from before leases were
    recorded count from their creation."""
    holder = (row["holder"] or "").partition("#")[0]
    if known_dead(holder):
        return True
    seconds = current_app.config["IDEMPOTENCY_LEASE_SECONDS"]
    ends = row["lease_until"] or row["created_at"] + timedelta(seconds=seconds)
    return utcnow() > ends  # UTCDateTime: always aware


def _claim(session, scope: str, key: str, fingerprint: str, *, commit: bool):
    """Insert the claim on the request's session, committed at once when `commit` (else by the
    request's own commit, and a duplicate's INSERT waits on the unique key until then). Returns
    (record_id, holder) for a new claim, or (None, record) for a completed one to replay."""
    lease = _lease()
    try:
        result = session.execute(
            IdempotencyRecord.__table__.insert().values(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                state="in_progress",
                created_at=utcnow(),
                **lease,
            )
        )
        inserted = result.inserted_primary_key
        assert inserted is not None  # a single-row INSERT always reports its key
        if commit:
            end_transaction(session, keep=True)
        return inserted[0], lease["holder"]
    except IntegrityError:
        end_transaction(session, keep=False)
    row = (
        session.execute(
            select(IdempotencyRecord.__table__).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
        .mappings()
        .first()
    )
    if row is None:  # released between our insert and this read: try once more
        end_transaction(session, keep=False)
        return _claim(session, scope, key, fingerprint, commit=commit)
    if row["fingerprint"] != fingerprint:
        end_transaction(session, keep=False)
        raise E.idempotency_key_reused()
    if row["state"] == "completed":
        end_transaction(session, keep=False)
        return None, row
    if _abandoned(row):
        # Conditional on the holder we judged: of two retries racing, one takes it over.
        taken = rowcount(
            session.execute(
                update(IdempotencyRecord.__table__)
                .where(
                    IdempotencyRecord.id == row["id"],
                    IdempotencyRecord.state == "in_progress",
                    IdempotencyRecord.created_at == row["created_at"],
                    IdempotencyRecord.holder.is_(None)
                    if row["holder"] is None
                    else IdempotencyRecord.holder == row["holder"],
                )
                .values(created_at=utcnow(), **lease)
            )
        )
        if taken == 1:
            if commit:
                end_transaction(session, keep=True)
            log.warning("idempotency key taken over from an abandoned claim")
            g.idempotency_resumed = True
            g.idempotency_taken_from = row["holder"]
            return row["id"], lease["holder"]
    end_transaction(session, keep=False)
    raise E.idempotency_in_progress()


def resumed() -> bool:
    """This request retries one whose holder died: its effect may be half-way (a payment
    started, an outside system called), so a route may answer with where that effect stands
    instead of refusing what the first attempt already began."""
    return bool(g.get("idempotency_resumed"))


def _twice(write) -> None:
    """Run a short write on the request's session and commit it; once more after a dropped
    connection (the session gives it up and the pool opens another), so one killed backend does
    not strand a key."""
    session = get_session()
    try:
        write(session)
        end_transaction(session, keep=True)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        _drop_connection(session)
        write(session)
        end_transaction(session, keep=True)


def _drop_connection(session) -> None:
    with contextlib.suppress(DBAPIError):
        end_transaction(session, keep=False)
    with contextlib.suppress(DBAPIError):
        session.close()


def _complete(record_id: int, holder: str, response: Response, unit: bool = False) -> None:
    """Write the response as the answer on the request's session (its caller commits)."""
    _write_answer(
        get_session(),
        record_id,
        holder,
        response.status_code,
        response.get_json(silent=True),
        response.mimetype,
        unit,
    )


def _write_answer(session, record_id, holder, status, body, mimetype, unit) -> bool:
    """Write the answer if the claim is still ours (a claim whose lease ended may have been
    taken over by a retry, whose answer is the one to keep). A claim written in the request's
    own transaction may have gone with a rollback (in-memory SQLite shares one connection with
    the sandbox bureau's session, whose end rolls it back): it is written again, as the claim
    would be now, unless a retry holds the key; in a `unit` the effect then cannot stand either
    (IdempotencyInProgress)."""
    answer = {
        "state": "completed",
        "response_status": status,
        "response_body": body,
        "response_mimetype": mimetype,
        "completed_at": utcnow(),
        "holder": None,
        "lease_until": None,
    }
    table = IdempotencyRecord.__table__
    mine = [IdempotencyRecord.holder == holder]
    if "idempotency_taken_from" in g:  # the claim we took over, if our takeover went too
        taken_from = g.idempotency_taken_from
        mine.append(
            IdempotencyRecord.holder.is_(None)
            if taken_from is None
            else IdempotencyRecord.holder == taken_from
        )
    written = rowcount(
        session.execute(
            update(table)
            .where(
                IdempotencyRecord.id == record_id,
                IdempotencyRecord.state == "in_progress",
                or_(*mine),
            )
            .values(**answer)
        )
    )
    if written == 1:
        return True
    if "idempotency_record" not in g:
        return False
    scope, key, fingerprint = g.idempotency_record
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    inserted = session.execute(
        dialect_insert(table)
        .values(scope=scope, key=key, fingerprint=fingerprint, created_at=utcnow(), **answer)
        .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
        .returning(table.c.id)
    ).scalar()
    if inserted is not None:
        return True
    # Another request holds the key now: its answer is the one kept. Nothing else in the
    # transaction is undone here (a payment's settlement stays: record_answer's caller); only a
    # `unit`, whose effect cannot stand without its record, gives way.
    if unit:
        end_transaction(session, keep=False)
        raise E.idempotency_in_progress()
    return False


def record_answer(session, status: int, body: dict) -> None:
    """For a route whose last transaction is its effect (a payment settled after the bureau's
    answer): write the keyed request's answer (JSON `body` with `status`, as the route will
    respond) in that transaction, so one commit records both. The decorator then writes nothing
    more, once that transaction has committed and the response is this answer (otherwise it
    records the response as usual). Outside a keyed request it does nothing."""
    claim = g.get("idempotency_claim")
    if claim is None:
        return
    record_id, holder = claim
    if not _write_answer(session, record_id, holder, status, body, "application/json", False):
        return  # a retry took the key over: its answer is kept, ours is not the stored one
    pending = (status, body)

    def committed(_session) -> None:
        g.idempotency_answered = pending

    event.listen(session, "after_commit", committed, once=True)


def _answered(response: Response) -> bool:
    """The answer was committed with the effect (`record_answer`) and is this response."""
    answered = g.pop("idempotency_answered", None)
    return answered is not None and answered == (
        response.status_code,
        response.get_json(silent=True),
    )


def _release(record_id: int, holder: str) -> None:
    _twice(
        lambda session: session.execute(
            delete(IdempotencyRecord.__table__).where(
                IdempotencyRecord.id == record_id, IdempotencyRecord.holder == holder
            )
        )
    )


def _replay(row) -> Response:
    body = row["response_body"]
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False) if body is not None else "",
        status=row["response_status"],
        mimetype=row["response_mimetype"] or "application/json",
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


# How a keyed request's record is written (`idempotent(mode=...)`):
OWN = "own"  # the claim committed on its own before the route runs, the answer after it
FIRST_COMMIT = "first_commit"  # the claim committed by the route's first commit, the answer after
UNIT = "unit"  # claim, effect and answer in one transaction (the request's, `request_unit`)


def idempotent(scope_of, *, mode: str = OWN):
    """Decorator factory; `scope_of()` names the caller (e.g. "member:12").

    Every mode works on the request's own session and connection (no second pool checkout).
    UNIT is for routes that call no outside system between their transactions: the record is
    inserted in the request's transaction, so a duplicate's INSERT waits on the unique key until
    the first commits (then replays its answer), and the answer is written by the same commit as
    the effect; a crash leaves nothing to release. An outside read before the route's writes
    (POST /orders: the bureau's balance, a re-verification, which commits on its own) then runs
    with that transaction open: it holds no row lock then, only the claim's key, which only a
    duplicate of the same request waits for. FIRST_COMMIT is for routes that call an
    outside system after their first commit (a payment): the claim is durable, with the
    payment it starts, before anyone is called. OWN is for any other keyed route."""
    if mode not in (OWN, FIRST_COMMIT, UNIT):
        raise ValueError(f"unknown idempotency mode {mode!r}")

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER, "")
            if not key:
                raise E.idempotency_key_required()
            if not _KEY.match(key):
                raise E.idempotency_key_invalid()
            session = get_session()
            scope, fingerprint = scope_of(), _fingerprint()
            record_id, claimed = _claim(session, scope, key, fingerprint, commit=mode == OWN)
            if record_id is None:
                return _replay(claimed)
            g.idempotency_record = (scope, key, fingerprint)
            g.idempotency_claim = (record_id, claimed)
            api = current_app.extensions["huimin_api"]
            unit = request_unit() if mode == UNIT else contextlib.nullcontext()
            try:
                with unit:
                    try:
                        response = make_response(func(*args, **kwargs))
                    except DomainError as exc:
                        response = api.handle_domain_error(exc)
                    except HTTPException as exc:
                        response = api.handle_http_exception(exc)
            except BaseException:
                _drop_connection(session)
                _release(record_id, claimed)
                raise
            if response.status_code >= 500:
                _drop_connection(session)
                _release(record_id, claimed)
                return response
            if mode == UNIT:
                # The effect and its answer commit together; a database that fails now took the
                # effect with it, so the request fails (503) and a retry runs it again.
                try:
                    _complete(record_id, claimed, response, True)
                    end_transaction(session, keep=True)
                except DBAPIError:
                    # Nothing committed, unless an earlier durable commit took the claim along
                    # (a re-verification): free it, so a retry runs again instead of 409.
                    _drop_connection(session)
                    with contextlib.suppress(DBAPIError):
                        _release(record_id, claimed)
                    raise
                return response
            if _answered(response):
                return response
            # The effect is committed. OWN: end whatever reads the route left open, then record
            # the answer. FIRST_COMMIT: a route that committed nothing (a refusal, a payment
            # already started) still holds the claim uncommitted: the answer commits with it.
            if mode == OWN:
                end_transaction(session, keep=False)
            try:
                _twice(lambda _session: _complete(record_id, claimed, response))
            except DBAPIError as exc:
                # The effect happened and its answer is built: a database that fails now must
                # not turn it into an error. The claim stays in progress until its lease ends.
                if not is_outage(exc):
                    raise
                log.warning("idempotency record not written: database unavailable")
            return response

        return wrapper

    return decorator


def once(scope: str, key: str, fingerprint: str, run: Callable[[], dict]) -> dict:
    """The same record for a page's form (its one-time form key, a hidden input): `run` runs
    once per (scope, key) and its outcome (a JSON object) is recorded; the key again with the
    same fingerprint returns that outcome without running; with another fingerprint 422
    idempotency_key_reused, while the first still runs 409 idempotency_in_progress. `run`
    raising records nothing and frees the key."""
    if not _KEY.match(key):
        raise E.idempotency_key_invalid("表单已失效，请刷新页面后重新提交")
    session = get_session()
    record_id, claimed = _claim(session, scope, key, fingerprint, commit=True)
    if record_id is None:
        return claimed["response_body"]
    try:
        outcome = run()
    except BaseException:
        _drop_connection(session)
        _release(record_id, claimed)
        raise
    end_transaction(session, keep=False)
    _twice(lambda s: _write_answer(s, record_id, claimed, 200, outcome, "application/json", False))
    return outcome
