"""The accumulators' writes (app/claims/accumulators.py): applying a claim's deltas is one
multi-row upsert and withdrawing them one UPDATE, after the year's version bump; the values
are exact, other years' entries untouched. Statements counted with before_cursor_execute."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.claims import accumulators
from app.claims.models import AccumulatorEntry
from app.database import get_engine, transaction
from app.products.models import Product
from tests import factories
from tests.statements import recorded

SUB_CAP = '["住院", "特药", "年度"]'  # a sub-cap key in its stored (JSON) form


def statements():
    return recorded(get_engine(), lambda statement: " ".join(statement.split()).upper())


@pytest.fixture
def years(seeded, residents):
    """Two accumulator years (two people, one product), with the app context open."""
    people = [factories.person(seeded, residents[name]) for name in ("张伟", "李娜")]
    with seeded.app_context():
        with transaction() as s:
            product_id = s.scalar(select(Product.id).order_by(Product.id))
            assert product_id is not None
            ids = [accumulators.year_of(s, p, product_id, 2026).id for p in people]
        yield ids


def _entries(year_id: int) -> dict[tuple[str, str], int]:
    with transaction() as s:
        return {
            (e.kind, e.key): e.value_fen
            for e in s.scalars(select(AccumulatorEntry).where(AccumulatorEntry.year_id == year_id))
        }


def _write(call, year_id: int, deltas: dict) -> list[str]:
    with statements() as seen, transaction() as s:
        year = s.get(accumulators.AccumulatorYear, year_id)
        call(s, year, year.version, deltas)
    return [q for q in seen if "ACCUMULATOR_ENTRIES" in q or "ACCUMULATOR_YEARS" in q]


def test_apply_is_one_upsert_and_withdraw_one_update(years):
    mine, other = years
    first = {
        "paid": {"inpatient": 120_00},
        "eligible": {"inpatient": 300_00, "outpatient": 50_00},
        "deductible": {"annual": 100_00},
        "sub_cap": {SUB_CAP: 40_00},
        "above_ded": {"inpatient": 0},  # nothing to add: no row
    }
    seen = _write(accumulators.apply_json, mine, first)
    assert [q.split()[0] for q in seen] == ["SELECT", "UPDATE", "INSERT"], seen
    assert "ON CONFLICT" in seen[2]
    _write(accumulators.apply_json, other, {"paid": {"inpatient": 7}})
    assert _entries(mine) == {
        ("paid", "inpatient"): 120_00,
        ("eligible", "inpatient"): 300_00,
        ("eligible", "outpatient"): 50_00,
        ("deductible", "annual"): 100_00,
        ("sub_cap", SUB_CAP): 40_00,
    }

    second = {"paid": {"inpatient": 30_00, "drugs": 5}, "sub_cap": {SUB_CAP: 1}}
    seen = _write(accumulators.apply_json, mine, second)
    assert [q.split()[0] for q in seen] == ["SELECT", "UPDATE", "INSERT"], seen
    after_both = _entries(mine)
    assert after_both[("paid", "inpatient")] == 150_00
    assert after_both[("paid", "drugs")] == 5
    assert after_both[("sub_cap", SUB_CAP)] == 40_01

    # the first claim taken back out: exactly what it added, in one UPDATE
    seen = _write(accumulators.withdraw_json, mine, first)
    assert [q.split()[0] for q in seen] == ["SELECT", "UPDATE", "UPDATE"], seen
    assert _entries(mine) == {
        ("paid", "inpatient"): 30_00,
        ("paid", "drugs"): 5,
        ("eligible", "inpatient"): 0,
        ("eligible", "outpatient"): 0,
        ("deductible", "annual"): 0,
        ("sub_cap", SUB_CAP): 1,
    }
    assert _entries(other) == {("paid", "inpatient"): 7}  # another year: untouched
    with transaction() as s:
        assert s.get(accumulators.AccumulatorYear, mine).version == 3


def test_withdraw_leaves_an_entry_it_does_not_find_alone(years):
    mine, _ = years
    _write(accumulators.apply_json, mine, {"paid": {"a": 10, "b": 20}})
    _write(accumulators.withdraw_json, mine, {"paid": {"a": 4, "missing": 3}, "eligible": {"b": 0}})
    assert _entries(mine) == {("paid", "a"): 6, ("paid", "b"): 20}


def test_nothing_to_add_is_the_version_bump_alone(years):
    mine, _ = years
    for call in (accumulators.apply_json, accumulators.withdraw_json):
        seen = _write(call, mine, {"paid": {"a": 0}, "eligible": {}})
        assert [q.split()[0] for q in seen] == ["SELECT", "UPDATE"], seen
    assert _entries(mine) == {}


def test_a_stale_version_writes_nothing(years):
    mine, _ = years
    for call in (accumulators.apply_json, accumulators.withdraw_json):
        with pytest.raises(accumulators.StaleAccumulators), transaction() as s:
            year = s.get(accumulators.AccumulatorYear, mine)
            call(s, year, year.version + 1, {"paid": {"a": 10}})
    assert _entries(mine) == {}


@pytest.mark.parametrize(
    ("deltas", "rows"),
    [
        ({}, []),
        ({"paid": {"x": 0}}, []),
        (
            {"sub_cap": {"b": 1, "a": 2}, "paid": {"z": 3, "y": -4}, "eligible": {"m": 0}},
            [("paid", "y", -4), ("paid", "z", 3), ("sub_cap", "a", 2), ("sub_cap", "b", 1)],
        ),
    ],
)
def test_rows_are_written_in_kind_and_key_order(deltas, rows):
    assert accumulators._nonzero(deltas) == rows
