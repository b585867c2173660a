"""Recording the SQL the app's engine sends (tests that count statements or look for one)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextlib.contextmanager
def recorded(engine: Engine, shape: Callable[[str], str] = str) -> Iterator[list[str]]:
    """Every statement `engine` runs inside the block, as `shape` gives it, in order."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(shape(statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
