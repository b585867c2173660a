"""Small-cell suppression for published tables (pure: no Flask, no database).

Primary suppression hides every count cell with 0 < value < min_cell. A zero is published: it
describes nobody, and hiding zeros would only hide the shape of the year.

Complementary (secondary) suppression stops a hidden cell from being worked out by subtraction.
The published figures obey linear equations (a year is the sum of its months; all people are
the sum of the people per insurance type, and again per funding source). Whenever an equation
has exactly one hidden cell, the smallest non-zero published cell of that equation is hidden as
well (ties: the earlier cell of the equation, i.e. a part before its total, an earlier month
before a later one). Cells that reveal each other (a count and the amount it gives rise to,
e.g. claims paid and the sum paid) are "linked" and hidden together. This repeats until every
equation has none or at least two hidden cells.

Known limit (documented, as with every heuristic short of solving the full linear problem): a
hidden cell cannot be found from any single equation, but someone combining several equations
and the fact that counts are non-negative may still narrow a hidden cell down to a range.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

Cell = TypeVar("Cell", bound=Hashable)  # a cell's key, e.g. (metric, month)


def primary_suppressed(
    values: Mapping[Cell, int], count_cells: Iterable[Cell], min_cell: int
) -> set[Cell]:
    """The count cells under the threshold (zero excepted)."""
    return {cell for cell in count_cells if 0 < values[cell] < min_cell}


def suppress(
    values: Mapping[Cell, int],
    primary: Iterable[Cell],
    equations: Sequence[Sequence[Cell]],
    links: Sequence[Sequence[Cell]] = (),
) -> set[Cell]:
    """Every cell to hide: `primary`, plus what the equations and links require (see module)."""
    hidden = set(primary)
    changed = True
    while changed:
        changed = False
        for group in links:
            if any(cell in hidden for cell in group):
                for cell in group:
                    if cell not in hidden:
                        hidden.add(cell)
                        changed = True
        for equation in equations:
            if sum(1 for cell in equation if cell in hidden) != 1:
                continue
            candidates = [
                (abs(values[cell]), position, cell)
                for position, cell in enumerate(equation)
                if cell not in hidden and values[cell] != 0
            ]
            if not candidates:
                continue  # every other cell is 0, so the hidden one is 0 too: nothing to protect
            hidden.add(min(candidates, key=lambda c: (c[0], c[1]))[2])
            changed = True
    return hidden
