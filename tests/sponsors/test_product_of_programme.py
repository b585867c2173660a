"""Which product a programme funds (app.sponsors.capacity.product_of_programme), the one lookup
campaign pages, redemptions, posters, places left and roster jobs share, each with the day as
`on_sale_on`. Each row: the products present, the product the programme names (if any), the day
(None: no on-sale preference) and the product found.

The products (plan year 2027 unless said; the day used is 2026-11-15):
  A    window 2026-09-01..2026-12-31: on sale on 11-15
  B    window 2026-12-01..2026-12-31: opens later, not yet on sale on 11-15
  R    window 2026-09-01..2026-12-31 but retired (off sale, funded by nobody)
  Y26  plan year 2026, window 2025-09-01..2026-12-31: on sale on 11-15 too
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from app.database import get_session, transaction
from app.products.models import Product, ProductStatus
from app.sponsors.capacity import product_of_programme

DAY = date(2026, 11, 15)
BEFORE_ANY = date(2026, 8, 1)

SPECS = {
    "A": (2027, date(2026, 9, 1), ProductStatus.PUBLISHED),
    "B": (2027, date(2026, 12, 1), ProductStatus.PUBLISHED),
    "R": (2027, date(2026, 9, 1), ProductStatus.RETIRED),
    "Y26": (2026, date(2025, 9, 1), ProductStatus.PUBLISHED),
}


def _add(session, key: str) -> int:
    plan_year, opens, status = SPECS[key]
    product = Product(
        code=f"TEST-{key}",
        name=f"产品{key}",
        plan_year=plan_year,
        region_prefix="3607",
        status=status,
        window_opens=opens,
        window_closes=date(2026, 12, 31),
        coverage_starts=date(plan_year, 1, 1),
        coverage_ends=date(plan_year, 12, 31),
        cover_start_rule="day_after_payment",
        definition={},
        definition_sha256="0" * 64,
    )
    session.add(product)
    session.flush()
    return product.id


@pytest.mark.parametrize(
    ("present", "plan_year", "names", "day", "found"),
    [
        (["A"], 2027, None, None, "A"),  # one product: it, whichever call
        (["A"], 2027, None, DAY, "A"),
        (["A", "B"], 2027, None, None, "B"),  # two: B's window opened last
        (["A", "B"], 2027, None, DAY, "A"),  # two: A is the one on sale on 11-15
        (["A", "B"], 2027, None, BEFORE_ANY, "B"),  # none on sale on 08-01: the latest window
        (["A", "B"], 2027, "A", None, "A"),  # the programme names A: A, never B
        (["A", "B"], 2027, "B", DAY, "B"),  # names B: B, though only A is on sale
        (["R"], 2027, None, None, None),  # retired only: nothing to fund
        (["R"], 2027, None, DAY, None),
        (["R", "A"], 2027, "R", DAY, None),  # names a retired product: nothing (was R for jobs)
        (["R", "B"], 2027, None, DAY, "B"),  # the retired one on sale is skipped
        (["Y26", "B"], 2027, None, DAY, "B"),  # another plan year on sale does not count
        (["Y26", "A"], 2026, None, DAY, "Y26"),  # a 2026 programme: its own year's product
        (["A", "B"], 2028, None, DAY, None),  # no product of the programme's plan year
        ([], 2027, None, DAY, None),
    ],
)
def test_product_of_programme(app, present, plan_year, names, day, found):
    with app.app_context():
        with transaction() as session:
            ids = {key: _add(session, key) for key in present}
        programme = SimpleNamespace(plan_year=plan_year, product_id=ids.get(names))
        product = product_of_programme(get_session(), programme, on_sale_on=day)
        assert (product.code if product is not None else None) == (
            f"TEST-{found}" if found is not None else None
        )
