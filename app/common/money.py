"""Money, one way everywhere: integer fen, basis points, one half-up rounding, yuan text.

Pure: standard library only (no Flask, no SQLAlchemy), so the rule engines (adjudication,
subsidies, disclosure) can use it as plain data in, plain data out. No floats anywhere:
- `round_half_up_div(n, d)`: n / d to the nearest integer, halves up (四舍五入), for n >= 0, d > 0.
  A ratio is applied as `fen * basis_points` (an exact integer) and turned back into fen exactly
  once with `round_half_up_div(numerator, BP)`.
- `yuan_to_fen(value)`: a yuan amount (decimal text, Decimal or int) to integer fen via Decimal;
  exact by default (a fraction of a fen is an error), or rounded half up when asked.
- Display: `yuan(fen)` "12,345.67" (grouped, for people: certificates, reasons, reports),
  `yuan_plain(fen)` "12345.67" (ungrouped: wire formats and notification fields),
  `yuan_short(fen)` "12,345" or "12,345.67" (whole yuan without ".00": product texts),
  `exact_yuan(numerator)` a fen x bp numerator with every decimal it needs, `percent(bp)` "72.5%".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

BP = 10_000  # basis points in 100%
_FEN = Decimal("0.01")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero.

    Integers only: 5/10 -> 1 (0.5 rounds up), 49/100 -> 0, 25/10 -> 3 (not banker's 2).
    The numerator must be >= 0 (a payable is never negative) and the denominator > 0.
    floor((2n + d) / 2d) is n/d + 1/2 rounded down, i.e. half up, in exact integers.
    """
    if not (_is_int(numerator) and _is_int(denominator)):
        raise TypeError("round_half_up_div takes integers only")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must not be negative")
    return (2 * numerator + denominator) // (2 * denominator)


# The adjudication engine's name for the same step (numerator in fen x bp, denominator BP).
round_half_up_fen = round_half_up_div


def yuan_to_fen(value: str | Decimal | int, *, round_half_up: bool = False) -> int:
    """Yuan to integer fen through Decimal: "1234.5" -> 123450, Decimal("0.01") -> 1, 3 -> 300.

    A fraction of a fen ("0.005") is a ValueError unless `round_half_up` (then 0.005 -> 1 fen).
    Text may carry surrounding blanks. bool, float, NaN, infinities and non-numbers are
    ValueErrors: a float would already have lost the exact amount (a caller holding one from a
    JSON parser should parse with Decimal instead). The sign is kept; callers decide on it."""
    if isinstance(value, bool | float) or not isinstance(value, str | Decimal | int):
        raise ValueError(f"not a yuan amount: {type(value).__name__}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError("not a yuan amount") from None
    if not amount.is_finite():
        raise ValueError("not a finite yuan amount")
    fen = amount.scaleb(2)
    if fen != fen.to_integral_value():
        if not round_half_up:
            raise ValueError("a yuan amount has at most two decimals")
        fen = amount.quantize(_FEN, rounding=ROUND_HALF_UP).scaleb(2)
    return int(fen)


def _split(fen: int) -> tuple[str, int, int]:
    if not _is_int(fen):
        raise TypeError(f"fen must be an int, not {type(fen).__name__}")
    whole, cents = divmod(abs(fen), 100)
    return ("-" if fen < 0 else ""), whole, cents


def yuan(fen: int) -> str:
    """Fen as grouped yuan with two decimals: 0 -> "0.00", 5 -> "0.05", 1234567 -> "12,345.67",
    -250 -> "-2.50"."""
    sign, whole, cents = _split(fen)
    return f"{sign}{whole:,}.{cents:02d}"


def yuan_plain(fen: int) -> str:
    """Fen as ungrouped yuan with two decimals: 123450 -> "1234.50", 1 -> "0.01"."""
    sign, whole, cents = _split(fen)
    return f"{sign}{whole}.{cents:02d}"


def yuan_short(fen: int) -> str:
    """Grouped yuan without ".00" for whole amounts: 1500000 -> "15,000", 150 -> "1.50"."""
    sign, whole, cents = _split(fen)
    return f"{sign}{whole:,}" if cents == 0 else f"{sign}{whole:,}.{cents:02d}"


def exact_yuan(numerator: int) -> str:
    """An exact ratio numerator (fen x basis points) in yuan, with as many decimals as needed
    (at least two): 17500007000 -> "17,500.007"."""
    whole, rest = divmod(numerator, 100 * BP)
    decimals = f"{rest:06d}".rstrip("0")
    if len(decimals) < 2:
        decimals = decimals.ljust(2, "0")
    return f"{whole:,}.{decimals}"


def percent(bp: int) -> str:
    """Basis points as a percent: 7000 -> "70%", 7250 -> "72.5%", 1 -> "0.01%"."""
    whole, rest = divmod(bp, 100)
    if rest == 0:
        return f"{whole}%"
    return f"{whole}.{f'{rest:02d}'.rstrip('0')}%"


def split_by_shares(amount_fen: int, shares_bp: list[int] | tuple[int, ...]) -> list[int]:
    """Split an amount among parties by basis-point shares summing to 10000, to the fen.

    The stated rounding (largest remainder): each party first gets the floor of its exact share;
    the fen left over go one at a time to the parties with the largest remainders, ties to the
    earlier party (the lead insurer is listed first). The parts always sum to the amount, and no
    part differs from its exact share by a whole fen. A negative amount (money given back) is
    split as its absolute value, with the sign applied to every part.
    """
    if not _is_int(amount_fen):
        raise TypeError("amount_fen must be an int")
    if not shares_bp or any(not _is_int(s) or s <= 0 for s in shares_bp):
        raise ValueError("shares must be positive integers")
    if sum(shares_bp) != 10000:
        raise ValueError("shares must sum to 10000 basis points")
    sign = -1 if amount_fen < 0 else 1
    total = abs(amount_fen)
    parts = [total * share // 10000 for share in shares_bp]
    remainders = [total * share % 10000 for share in shares_bp]
    left = total - sum(parts)
    for index in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return [sign * part for part in parts]


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_SECTION_UNITS = ("", "万", "亿", "万亿")


def _uppercase_whole(number: int) -> str:
    """A whole number of yuan in financial capitals: 100100 -> 壹拾万零壹佰."""
    if number == 0:
        return "零"
    text = str(number)
    out: list[str] = []
    zero_pending = False
    for i, ch in enumerate(text):
        power = len(text) - 1 - i
        small, section = power % 4, power // 4
        digit = int(ch)
        if digit == 0:
            zero_pending = True
        else:
            if zero_pending:
                out.append("零")
                zero_pending = False
            out.append(_DIGITS[digit] + _SMALL_UNITS[small])
        if small == 0 and section > 0 and (number // 10 ** (4 * section)) % 10_000:
            out.append(_SECTION_UNITS[section])
    return "".join(out)


def rmb_uppercase(fen: int) -> str:
    """Fen as the amount in financial capitals (大写金额) a receipt carries, the way a bank
    writes it: 0 -> 零元整, 5 -> 伍分, 120 -> 壹元贰角整, 105 -> 壹元零伍分,
    10010000 -> 壹拾万零壹佰元整, 10000000100 -> 壹亿零壹元整. Not for negative amounts."""
    if not _is_int(fen):
        raise TypeError(f"fen must be an int, not {type(fen).__name__}")
    if fen < 0:
        raise ValueError("a receipt amount is never negative")
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    if whole >= 10**16:
        raise ValueError("amount too large to write in capitals")
    if whole == 0 and cents == 0:
        return "零元整"
    head = f"{_uppercase_whole(whole)}元" if whole else ""
    if cents == 0:
        return head + "整"
    jiao_text = f"{_DIGITS[jiao]}角" if jiao else ("零" if whole else "")
    fen_text = f"{_DIGITS[fen_digit]}分" if fen_digit else "整"
    return head + jiao_text + fen_text
