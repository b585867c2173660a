"""The engine's accumulators in the database: read one person-year, apply one claim's deltas.

Concurrency by design: `apply` first bumps AccumulatorYear.version with a conditional UPDATE
(WHERE version = the version that was read). If another claim of the same person-year settled
in between, the UPDATE matches no row and the caller re-reads and re-runs the engine, so two
claims can never both consume the same deductible. On PostgreSQL the UPDATE waits for the other
transaction and then sees the new version; on SQLite writers are serialised by the database lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.adjudication.model import AccumulatorDeltas, Accumulators, SubCapKey
from app.claims.common import rows_changed
from app.claims.models import AccumulatorEntry, AccumulatorYear

KINDS = {
    "paid": "paid_fen",
    "eligible": "eligible_fen",
    "deductible": "deductible_used_fen",
    "sub_cap": "sub_cap_used_fen",
    "above_ded": "above_deductible_fen",
}


class StaleAccumulators(Exception):
    """Another claim of the same person-year settled since the accumulators were read."""


def _insert(session: Session) -> Any:  # either dialect's insert(), same use
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def year_of(session: Session, person_id: int, product_id: int, plan_year: int) -> AccumulatorYear:
    """The person-year row, created if missing (a concurrent creator is not an error)."""
    stmt = (
        _insert(session)(AccumulatorYear)
        .values(person_id=person_id, product_id=product_id, plan_year=plan_year, version=0)
        .on_conflict_do_nothing(index_elements=["person_id", "product_id", "plan_year"])
    )
    session.execute(stmt)
    year = session.scalar(
        select(AccumulatorYear).where(
            AccumulatorYear.person_id == person_id,
            AccumulatorYear.product_id == product_id,
            AccumulatorYear.plan_year == plan_year,
        )
    )
    assert year is not None  # inserted just above, or already there
    return year


def _key(kind: str, key) -> str:
    return json.dumps(list(key), ensure_ascii=False) if kind == "sub_cap" else key


def parse_key(kind: str, key: str) -> Any:
    """A stored key back in the engine's form (sub-cap keys are JSON lists)."""
    return SubCapKey(*json.loads(key)) if kind == "sub_cap" else key


def read(session: Session, year: AccumulatorYear) -> Accumulators:
    return from_entries(
        session.execute(
            select(AccumulatorEntry.kind, AccumulatorEntry.key, AccumulatorEntry.value_fen).where(
                AccumulatorEntry.year_id == year.id
            )
        )
    )


def from_entries(entries: Iterable[tuple[str, str, int]]) -> Accumulators:
    """The engine's accumulators from stored (kind, key, value_fen) rows."""
    maps: dict[str, dict] = {field: {} for field in KINDS.values()}
    for kind, key, value_fen in entries:
        maps[KINDS[kind]][parse_key(kind, key)] = value_fen
    return Accumulators(**maps)


_BUILT: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:
    """The hot statements, built once per dialect (SQLAlchemy then compiles each once: building
    an expression costs more CPU than sending it)."""
    dialect = session.get_bind().dialect.name
    stmt = _BUILT.get((dialect, name))
    if stmt is not None:
        return stmt
    years, entries = AccumulatorYear.__table__, AccumulatorEntry.__table__
    if name == "lock":
        insert = _insert(session)(years)
        stmt = insert.on_conflict_do_update(
            index_elements=[years.c.person_id, years.c.product_id, years.c.plan_year],
            set_={"version": years.c.version + 1},
        ).returning(years.c.id, years.c.version)
    elif name == "bump":
        stmt = (
            update(years)
            .where(years.c.id == bindparam("year_id"), years.c.version == bindparam("read"))
            .values(version=bindparam("read") + 1)
        )
    else:  # "add": one entry's delta, executed with every row (one round trip, in row order)
        insert = _insert(session)(entries)
        stmt = insert.on_conflict_do_update(
            index_elements=[entries.c.year_id, entries.c.kind, entries.c.key],
            set_={"value_fen": entries.c.value_fen + insert.excluded.value_fen},
        )
    _BUILT[(dialect, name)] = stmt
    return stmt


def lock_year(session: Session, person_id: int, product_id: int, plan_year: int) -> tuple[int, int]:
    """(id, version) of the person-year row, created at version 1 if missing or moved to its
    next version, and locked until the transaction ends (one statement): no other claim of the
    year can settle in between, and one that read the version before fails its bump
    (StaleAccumulators) once this commits. The caller then adds its deltas with `add_json`
    (the version already moved: no second bump). A rollback undoes the move."""
    row = {"person_id": person_id, "product_id": product_id, "plan_year": plan_year, "version": 1}
    year_id, version = session.execute(_statement(session, "lock"), row).one()
    return year_id, version


def apply(
    session: Session, year: AccumulatorYear, version_read: int, deltas: AccumulatorDeltas
) -> None:
    """Add one claim's deltas, or raise StaleAccumulators (the caller's transaction must then
    roll back and start again)."""
    apply_json(session, year, version_read, deltas_to_json(deltas))


def _bump_version(session: Session, year: AccumulatorYear, version_read: int) -> None:
    """The year's version from the one read to the next, or StaleAccumulators (another claim of
    the year changed it since: the caller's transaction rolls back and starts again)."""
    bumped = rows_changed(
        session, _statement(session, "bump"), {"year_id": year.id, "read": version_read}
    )
    if bumped != 1:
        raise StaleAccumulators()


def _nonzero(deltas: dict) -> list[tuple[str, str, int]]:
    """The deltas' (kind, key, fen) that change something, in (kind, key) order: every writer of
    a year's entries touches them in the same order (and behind the year's version bump)."""
    return sorted(
        (kind, key, amount)
        for kind, amounts in deltas.items()
        for key, amount in amounts.items()
        if amount
    )


def apply_json(session: Session, year: AccumulatorYear, version_read: int, deltas: dict) -> None:
    """`apply` for deltas in their stored form ({kind: {key: fen}}, as `deltas_to_json`): one
    INSERT .. ON CONFLICT DO UPDATE per delta (a missing entry starts at it), sent together in
    (kind, key) order with the rows as parameters (one statement compiled once)."""
    _bump_version(session, year, version_read)
    add_json(session, year.id, deltas)


def add_json(session: Session, year_id: int, deltas: dict) -> None:
    """The deltas (stored form) added to the year's entries, with no version bump: only under
    `lock_year`, which moved the version already."""
    rows = _nonzero(deltas)
    if not rows:
        return
    session.execute(
        _statement(session, "add"),
        [
            {"year_id": year_id, "kind": kind, "key": key, "value_fen": fen}
            for kind, key, fen in rows
        ],
    )


def withdraw_json(session: Session, year: AccumulatorYear, version_read: int, deltas: dict) -> None:
    """Take one settled claim's deltas (stored form) back out exactly, as a reversal does; the
    same version bump as `apply` (or StaleAccumulators). One UPDATE: each entry named less its
    amount (a CASE on (kind, key)); an entry that is not there is left alone, as it always was."""
    _bump_version(session, year, version_read)
    rows = _nonzero(deltas)
    if not rows:
        return
    named = [
        and_(AccumulatorEntry.kind == kind, AccumulatorEntry.key == key) for kind, key, _ in rows
    ]
    session.execute(
        update(AccumulatorEntry)
        .where(AccumulatorEntry.year_id == year.id, or_(*named))
        .values(
            value_fen=AccumulatorEntry.value_fen
            - case(*((match, fen) for match, (_, _, fen) in zip(named, rows)), else_=0)
        )
    )


def deltas_to_json(deltas: AccumulatorDeltas) -> dict:
    return {
        kind: {_key(kind, k): v for k, v in getattr(deltas, field).items()}
        for kind, field in KINDS.items()
    }
