"""Set-based writes for batch work (roster uploads, batch enrollment): a batch costs a few
statements, not a few per row.

On PostgreSQL the rows travel by COPY (psycopg's `Cursor.copy`, inside the session's own
transaction): straight into the table for plain inserts, with ids taken from the tables'
sequences first (one query for every table of a batch); into a temporary table, then one
INSERT ... SELECT ... ON CONFLICT DO NOTHING or UPDATE ... FROM, for the others. Measured on the
roster bench (docs/performance.md), SQLAlchemy's own bulk forms cost several times more here:
an executemany is one statement per row, "insertmanyvalues" builds a statement with a placeholder
per value that the driver parses again for every batch, and array parameters (unnest) spend
their time adapting the arrays.

On SQLite (in process: a statement costs no round trip) the plain Core forms are used.
Written by hand: no maintained library does COPY-based bulk writes inside a SQLAlchemy session.
"""

from __future__ import annotations

import json
import zlib

from sqlalchemy import JSON, Table, any_, bindparam, insert, literal, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

_PG = postgresql.dialect()
_quote = _PG.identifier_preparer.quote


def _postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session, column, values: list):
    """`column IN values` for a long list: on PostgreSQL `column = ANY(:array)`, one parameter
    (an IN list is a placeholder per value, rendered and parsed again for every query)."""
    if _postgres(session):
        return column == any_(literal(list(values), postgresql.ARRAY(column.type)))
    return column.in_(list(values))


def allocate_ids(session, counts: dict[Table, int]) -> dict[Table, list[int]]:
    """New ids for several tables at once (PostgreSQL: one query over their sequences, each
    table's ids as one array); {} elsewhere."""
    counts = {table: n for table, n in counts.items() if n > 0}
    if not counts or not _postgres(session):
        return {}  # SQLite: the INSERT's RETURNING gives them
    tables = list(counts)
    arrays = ", ".join(
        f"ARRAY(SELECT nextval(pg_get_serial_sequence(:t{k}, 'id')) FROM generate_series(1, :n{k}))"
        for k in range(len(tables))
    )
    params: dict[str, str | int] = {}
    for k, table in enumerate(tables):
        params[f"t{k}"], params[f"n{k}"] = table.name, counts[table]
    row = session.execute(text(f"SELECT {arrays}"), params).one()
    return {table: list(ids) for table, ids in zip(tables, row)}


def _copy(session, target: str, names: list[str], table: Table, rows: list[dict]) -> None:
    json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
    import psycopg

    raw = session.connection().connection.driver_connection
    columns = ", ".join(_quote(name) for name in names)
    statement = f"COPY {target} ({columns}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[name], ensure_ascii=False)
                        if name in json_columns and row[name] is not None
                        else row[name]
                        for name in names
                    ]
                )
    except psycopg.Error as exc:
        # As SQLAlchemy would raise it (IntegrityError for a unique violation ...), so callers
        # handle a refused COPY like any refused statement.
        raise DBAPIError.instance(
            statement, None, exc, psycopg.Error, dialect=session.get_bind().dialect
        ) from None


def _staged(session, table: Table, names: list[str], rows: list[dict]) -> str:
    """The rows COPYed into a temporary table shaped like `table`'s columns `names`. Its name.

    The staging table is made once per connection (one per table and column list) and emptied
    at every commit (ON COMMIT DELETE ROWS), so a batch does not pay for creating one."""
    columns = ", ".join(_quote(name) for name in names)
    stage = f"stage_{table.name}_{zlib.crc32(columns.encode()):08x}"
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {_PG.identifier_preparer.format_table(table)} "
            f"WITH NO DATA"
        )
    )
    _copy(session, stage, names, table, rows)
    return stage


def insert_rows(session, table: Table, rows: list[dict], ids: list[int] | None = None) -> list[int]:
    """Insert `rows` (all with the same keys); their new ids, in the order given (`ids` when
    they were allocated beforehand with `allocate_ids`)."""
    if not rows:
        return []
    if not _postgres(session):
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(statement, rows).scalars())
    if ids is None:
        ids = allocate_ids(session, {table: len(rows)})[table]
    names = ["id", *rows[0]]
    _copy(
        session,
        _PG.identifier_preparer.format_table(table),
        names,
        table,
        [{"id": new_id, **row} for new_id, row in zip(ids, rows)],
    )
    return ids


def insert_rows_ignoring_conflicts(session, table: Table, rows: list[dict]) -> None:
    """Insert the rows that break no unique constraint (one inserted meanwhile by another
    transaction included); the others are skipped. Which went in is for the caller to read."""
    if not rows:
        return
    if not _postgres(session):
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)
        return
    names = list(rows[0])
    stage = _staged(session, table, names, rows)
    columns = ", ".join(_quote(name) for name in names)
    session.execute(
        text(
            f"INSERT INTO {_PG.identifier_preparer.format_table(table)} ({columns}) "
            f"SELECT {columns} FROM {stage} ON CONFLICT DO NOTHING"
        )
    )


def update_rows(session, table: Table, rows: list[dict]) -> None:
    """UPDATE each row by its "id" with its other keys (all rows with the same keys)."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if not _postgres(session):
        statement = (
            table.update()
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in names})
        )
        session.execute(
            statement,
            [{"row_id": row["id"], **{f"new_{n}": row[n] for n in names}} for row in rows],
        )
        return
    stage = _staged(session, table, ["id", *names], rows)
    target = _PG.identifier_preparer.format_table(table)
    assignments = ", ".join(f"{_quote(name)} = {stage}.{_quote(name)}" for name in names)
    session.execute(
        text(f"UPDATE {target} SET {assignments} FROM {stage} WHERE {target}.id = {stage}.id")
    )
