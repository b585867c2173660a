"""Integer money arithmetic for adjudication: fen, basis points, one rounding rule.

The one home is app/common/money.py; this module names the parts the engine and its
explanations use, so app/adjudication keeps reading `from app.adjudication.money import ...`.
Nothing in app/adjudication uses floats, Decimal or true division (tests/adjudication checks
the source); app.common.money uses Decimal only to parse yuan text, which the engine never does.
A ratio is applied as `fen * basis_points`, an exact integer "numerator" in units of 1/10,000
fen, and turned back into fen exactly once per bucket by `round_half_up_fen(numerator, BP)`.
"""

from __future__ import annotations

from app.common.money import BP, exact_yuan, percent, round_half_up_fen, yuan

__all__ = ["BP", "exact_yuan", "fen_of", "percent", "round_half_up_fen", "yuan"]


def fen_of(numerator: int) -> int:
    """round_half_up_fen(numerator, BP) for a numerator the engine computed itself (an int,
    fen x bp, never negative), without checking its type and sign again on every call."""
    return (2 * numerator + BP) // (2 * BP)
