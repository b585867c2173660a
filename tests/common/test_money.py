"""app/common/money.py, table-driven: every row a case a person can check by hand."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from app.common import money


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 7, 0),
        (5, 10, 1),  # 0.5 -> 1: a half goes up
        (4, 10, 0),  # 0.4 -> 0
        (25, 10, 3),  # 2.5 -> 3 (banker's rounding would say 2)
        (15, 10, 2),  # 1.5 -> 2
        (49, 100, 0),  # 0.49 -> 0
        (9999 * 5000, 10_000, 5000),  # 50% of 9999 fen = 4999.5 -> 5000
        (12_345 * 7_000, money.BP, 8642),  # 70% of 123.45 yuan = 86.415 yuan -> 86.42
        (1, 3, 0),  # 0.333 -> 0
        (2, 3, 1),  # 0.667 -> 1
    ],
)
def test_round_half_up_div(numerator, denominator, expected):
    assert money.round_half_up_div(numerator, denominator) == expected
    assert money.round_half_up_fen(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "error"),
    [
        (-1, 10, ValueError),  # a payable is never negative
        (1, 0, ValueError),
        (1, -10, ValueError),
        (True, 10, TypeError),
        (1.5, 10, TypeError),
        (Decimal(1), 10, TypeError),
    ],
)
def test_round_half_up_div_refuses(numerator, denominator, error):
    with pytest.raises(error):
        money.round_half_up_div(numerator, denominator)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.50", 123_450),
        ("1234.5", 123_450),
        (" 0.01 ", 1),
        ("100", 10_000),
        ("0", 0),
        ("-2.50", -250),  # the sign is the caller's business
        (Decimal("23680.50"), 2_368_050),
        (3, 300),
        ("1E+2", 10_000),
    ],
)
def test_yuan_to_fen_exact(value, expected):
    assert money.yuan_to_fen(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", 1),  # half a fen goes up
        ("0.004", 0),
        ("12.345", 1235),
        ("12.3449", 1234),
        ("1.00", 100),
    ],
)
def test_yuan_to_fen_half_up(value, expected):
    assert money.yuan_to_fen(value, round_half_up=True) == expected


@pytest.mark.parametrize(
    "value",
    ["0.005", "abc", "", "NaN", "Infinity", "1,000.00", 1.5, True, None, [1]],
)
def test_yuan_to_fen_refuses(value):
    with pytest.raises(ValueError):
        money.yuan_to_fen(value)


@pytest.mark.parametrize(
    ("fen", "grouped", "plain", "short"),
    [
        (0, "0.00", "0.00", "0"),
        (5, "0.05", "0.05", "0.05"),
        (150, "1.50", "1.50", "1.50"),
        (8_900, "89.00", "89.00", "89"),
        (123_450, "1,234.50", "1234.50", "1,234.50"),
        (1_234_567, "12,345.67", "12345.67", "12,345.67"),
        (1_500_000, "15,000.00", "15000.00", "15,000"),
        (100_000_000, "1,000,000.00", "1000000.00", "1,000,000"),
        (-250, "-2.50", "-2.50", "-2.50"),
    ],
)
def test_yuan_text(fen, grouped, plain, short):
    assert money.yuan(fen) == grouped
    assert money.yuan_plain(fen) == plain
    assert money.yuan_short(fen) == short


@pytest.mark.parametrize("fen", [1.0, Decimal(1), True, "1"])
def test_yuan_text_takes_integers_only(fen):
    for fmt in (money.yuan, money.yuan_plain, money.yuan_short):
        with pytest.raises(TypeError):
            fmt(fen)


@pytest.mark.parametrize(
    ("numerator", "expected"),
    [
        (17_500_007_000, "17,500.007"),  # 1,750,000.7 fen x bp / 1,000,000
        (1_000_000, "1.00"),
        (123_450 * money.BP, "1,234.50"),
        (12_345 * 7_000, "86.415"),  # 70% of 123.45 yuan before rounding
        (1, "0.000001"),
    ],
)
def test_exact_yuan(numerator, expected):
    assert money.exact_yuan(numerator) == expected


@pytest.mark.parametrize(
    ("bp", "expected"),
    [(7000, "70%"), (7250, "72.5%"), (7205, "72.05%"), (1, "0.01%"), (10_000, "100%"), (0, "0%")],
)
def test_percent(bp, expected):
    assert money.percent(bp) == expected


def test_the_module_is_pure():
    """No Flask, no SQLAlchemy: the rule engines import it as plain code."""
    source = Path(money.__file__).read_text(encoding="utf-8")
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"__future__", "decimal"}
