"""Field readers for the real bureau's replies, and the yuan <-> fen conversions of its wire.

Each reader raises `Malformed`, which the interface that asked turns into `BureauUnavailable`: a
half-understood answer must not be taken as a person, a transaction or a settlement. Amounts are
converted by app.common.money (Decimal, never float): see `amount_field` and `fen_to_yuan`.
Times on the wire are Asia/Shanghai (``INF_TIME_FORMAT``) whatever the server's clock zone is.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

from app.common import money

SHANGHAI = ZoneInfo("Asia/Shanghai")
INF_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class Malformed(Exception):
    """A reply field is missing or not what the interface specifies."""


def reject_constant(name: str) -> Any:
    """`json.loads(parse_constant=...)`: NaN and Infinity are never amounts."""
    raise ValueError(f"non-finite number {name}")


def str_field(row: dict, key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{key} missing or not a string")
    return value


def code_field(row: dict, key: str) -> str:
    """Code fields are strings on the wire; tolerate an integer (some gateways send 310)."""
    value = row.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise Malformed(f"{key} missing or not a code")
    return value.strip()


@overload
def date_field(row: dict[str, Any], key: str, *, nullable: Literal[False]) -> date: ...
@overload
def date_field(row: dict[str, Any], key: str, *, nullable: bool) -> date | None: ...
def date_field(row: dict[str, Any], key: str, *, nullable: bool) -> date | None:
    value = row.get(key)
    if value is None or (nullable and value == ""):
        if nullable:
            return None
        raise Malformed(f"{key} missing")
    if not isinstance(value, str):
        raise Malformed(f"{key} is not a date string")
    value = value.strip()
    try:
        # "YYYY-MM-DD", and the platform's "YYYY-MM-DD HH:MM:SS" form for begntime/endtime.
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.strptime(value, INF_TIME_FORMAT).date()
    except ValueError:
        raise Malformed(f"{key} is not a valid date") from None


def time_field(row: dict, key: str) -> datetime:
    """A ``YYYY-MM-DD HH:MM:SS`` Shanghai time (``setl_time``, ``expy_time``), made aware."""
    text = str_field(row, key).strip()
    try:
        return datetime.strptime(text, INF_TIME_FORMAT).replace(tzinfo=SHANGHAI)
    except ValueError:
        raise Malformed(f"{key} is not a valid time") from None


def list_field(output: dict, key: str) -> list:
    value = output.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key} is not a list")
    return value


def optional_text(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{key} is not a string")
    return value.strip()


def yuan_to_fen(value: Any) -> int | None:
    """Yuan (decimal string or number) to integer fen, exactly, halves up: app.common.money's
    conversion (Decimal, never float), with the wire's blanks and errors handled here.

    JSON numbers arrive here already as Decimal (see the transport's reply parsing); a float can
    only come from a caller bypassing that, and goes through its shortest repr rather than its
    binary value."""
    if value is None or value == "":
        return None  # residents have no personal account
    if isinstance(value, bool):
        raise Malformed("balc is not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        return money.yuan_to_fen(value, round_half_up=True)
    except ValueError as exc:  # not a number, or not finite
        raise Malformed(f"balc is not an amount ({exc})") from None


def fen_to_yuan(amount_fen: int) -> str:
    """Integer fen to the wire's yuan string with exactly two decimals: 1 -> "0.01",
    123450 -> "1234.50" (app.common.money.yuan_plain). Only positive integers (no bool, no
    float)."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValueError("amount_fen must be a positive integer number of fen")
    return money.yuan_plain(amount_fen)


def amount_field(row: dict, key: str) -> int:
    """A transaction amount in yuan to integer fen, exactly: a fraction of a fen is malformed
    (never rounded), and so is a negative or non-finite amount. Accepts the decimal string the
    interface specifies and a JSON number (already a Decimal from the reply parsing)."""
    value = row.get(key)
    if isinstance(value, bool) or value is None:
        raise Malformed(f"{key} missing or not an amount")
    if isinstance(value, float):  # only when a caller bypassed the Decimal parse
        value = repr(value)
    try:
        fen = money.yuan_to_fen(value)
    except ValueError as exc:  # not a number, not finite, or a fraction of a fen
        raise Malformed(f"{key} is not an amount in whole fen ({exc})") from None
    if fen < 0:
        raise Malformed(f"{key} is not a non-negative finite amount")
    return fen


def _decimal(row: dict, key: str) -> Decimal:
    value = row.get(key)
    if isinstance(value, bool) or value is None:
        raise Malformed(f"{key} missing or not a number")
    if isinstance(value, float):  # only when a caller bypassed the Decimal parse
        value = repr(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise Malformed(f"{key} is not a number") from None
    if not number.is_finite():
        raise Malformed(f"{key} is not a finite number")
    return number


def signed_amount_field(row: dict, key: str) -> int:
    """Like `amount_field`, but a negative amount is allowed (a reversal line's)."""
    try:
        return money.yuan_to_fen(_decimal(row, key))
    except ValueError:
        raise Malformed(f"{key} has a fraction of a fen") from None


def price_field(row: dict, key: str) -> int:
    """A unit price in yuan to fen. Unit prices may carry more decimals than the fen (a tablet
    at 0.0833 yuan); the named rounding is ROUND_HALF_UP to the fen. Never negative."""
    price = _decimal(row, key)
    if price < 0:
        raise Malformed(f"{key} is negative")
    return money.yuan_to_fen(price, round_half_up=True)


def count_field(row: dict, key: str) -> Decimal:
    """A quantity (``cnt``): exact Decimal, not zero (negative on a reversal line)."""
    count = _decimal(row, key)
    if count == 0:
        raise Malformed(f"{key} is zero")
    return count


def check_id(value: str, name: str) -> None:
    """A caller's identifier (psn_no, request id, ...) before anything is sent."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")


def check_range(begin: date, end: date) -> None:
    for value in (begin, end):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError("begin and end must be datetime.date values (Asia/Shanghai)")
    if begin > end:
        raise ValueError("begin is after end")
