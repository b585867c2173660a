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

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, current_app, g, make_response, request
from sqlalchemy import JSON, Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException

from app.common.liveness import known_dead, process_identity
from app.database import Base, get_engine, get_session, is_outage, utcnow
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


def _claim(scope: str, key: str, fingerprint: str):
    """Insert the claim in its own short transaction. Returns (record_id, holder) for a new
    claim, or (None, record) for a completed one to replay."""
    engine = get_engine()
    lease = _lease()
    try:
        with engine.begin() as conn:
            result = conn.execute(
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
            return inserted[0], lease["holder"]
    except IntegrityError:
        pass
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(IdempotencyRecord.__table__).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )
            .mappings()
            .first()
        )
        if row is None:  # released between our insert and this read: try once more
            return _claim(scope, key, fingerprint)
        if row["fingerprint"] != fingerprint:
            raise E.idempotency_key_reused()
        if row["state"] == "completed":
            return None, row
        if _abandoned(row):
            # Conditional on the holder we judged: of two retries racing, one takes it over.
            taken = conn.execute(
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
            ).rowcount
            if taken == 1:
                log.warning("idempotency key taken over from an abandoned claim")
                g.idempotency_resumed = True
                return row["id"], lease["holder"]
        raise E.idempotency_in_progress()


def resumed() -> bool:
    """This request retries one whose holder died: its effect may be half-way (a payment
    started, an outside system called), so a route may answer with where that effect stands
    instead of refusing what the first attempt already began."""
    return bool(g.get("idempotency_resumed"))


def _twice(write) -> None:
    """Run a short write on its own connection; once more after a dropped connection (the pool
    discards it and opens another), so one killed backend does not strand a key."""
    try:
        write()
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        write()


def _complete(record_id: int, holder: str, response: Response) -> None:
    """Record the answer, if the claim is still ours (a claim whose lease ended may have been
    taken over by a retry, whose answer is the one to keep)."""
    body = response.get_json(silent=True)
    _twice(lambda: _record_answer(record_id, holder, response.status_code, body, response.mimetype))


def _record_answer(record_id: int, holder: str, status: int, body, mimetype: str | None) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            update(IdempotencyRecord.__table__)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.holder == holder)
            .values(
                holder=None,
                lease_until=None,
                state="completed",
                response_status=status,
                response_body=body,
                response_mimetype=mimetype,
                completed_at=utcnow(),
            )
        )


def _release(record_id: int, holder: str) -> None:
    def delete_claim() -> None:
        with get_engine().begin() as conn:
            conn.execute(
                delete(IdempotencyRecord.__table__).where(
                    IdempotencyRecord.id == record_id, IdempotencyRecord.holder == holder
                )
            )

    _twice(delete_claim)


def _replay(row) -> Response:
    body = row["response_body"]
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False) if body is not None else "",
        status=row["response_status"],
        mimetype=row["response_mimetype"] or "application/json",
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(scope_of):
    """Decorator factory; `scope_of()` names the caller (e.g. "member:12")."""

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER, "")
            if not key:
                raise E.idempotency_key_required()
            if not _KEY.match(key):
                raise E.idempotency_key_invalid()
            record_id, claimed = _claim(scope_of(), key, _fingerprint())
            if record_id is None:
                return _replay(claimed)
            api = current_app.extensions["huimin_api"]
            try:
                response = make_response(func(*args, **kwargs))
            except DomainError as exc:
                response = api.handle_domain_error(exc)
            except HTTPException as exc:
                response = api.handle_http_exception(exc)
            except BaseException:
                get_session().close()
                _release(record_id, claimed)
                raise
            # The answer is built: give the request's connection back before recording it on a
            # second one, so concurrent requests never hold two connections each (pool safety).
            get_session().close()
            try:
                if response.status_code >= 500:
                    _release(record_id, claimed)
                else:
                    _complete(record_id, claimed, response)
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
    record_id, claimed = _claim(scope, key, fingerprint)
    if record_id is None:
        return claimed["response_body"]
    try:
        outcome = run()
    except BaseException:
        get_session().close()
        _release(record_id, claimed)
        raise
    get_session().close()
    _twice(lambda: _record_answer(record_id, claimed, 200, outcome, "application/json"))
    return outcome
