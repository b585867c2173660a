"""Integer money arithmetic for adjudication: fen, basis points, one rounding rule.

Nothing here (or anywhere in app/adjudication) uses floats. A ratio is applied as
`fen * basis_points`, an exact integer "numerator" in units of 1/10,000 fen, and turned back
into fen exactly once per bucket by `round_half_up_fen(numerator, BP)`.
"""

from __future__ import annotations

BP = 10_000  # basis points in 100%


def round_half_up_fen(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest fen, halves away from zero (ROUND_HALF_UP).

    Integers only: 5/10 -> 1 (0.5 fen rounds up), 49/100 -> 0, 25/10 -> 3 (not banker's 2).
    The numerator must be >= 0 (a payable is never negative) and the denominator > 0.
    """
    if type(numerator) is not int or type(denominator) is not int:
        raise TypeError("round_half_up_fen takes integers only")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must not be negative")
    return (2 * numerator + denominator) // (2 * denominator)


def yuan(fen: int) -> str:
    """1234567 -> '12,345.67' (always two decimals)."""
    sign = "-" if fen < 0 else ""
    whole, rest = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{rest:02d}"


def exact_yuan(numerator: int) -> str:
    """An exact ratio numerator (fen x basis points) in yuan, with as many decimals as needed
    (at least two): 17500007000 -> '17,500.007'."""
    whole, rest = divmod(numerator, 100 * BP)
    decimals = f"{rest:06d}".rstrip("0")
    if len(decimals) < 2:
        decimals = decimals.ljust(2, "0")
    return f"{whole:,}.{decimals}"


def percent(bp: int) -> str:
    """7000 -> '70%', 7250 -> '72.5%', 1 -> '0.01%'."""
    whole, rest = divmod(bp, 100)
    if rest == 0:
        return f"{whole}%"
    return f"{whole}.{f'{rest:02d}'.rstrip('0')}%"
