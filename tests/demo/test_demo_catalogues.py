"""`flask demo seed` imports the demo product's catalogues (from app/catalogues/demo_sheets.py)
through the ordinary import, once: a second run creates nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.catalogues import services
from app.catalogues.demo_sheets import demo_catalogue_sheets
from app.catalogues.models import CatalogueVersion, CommercialEntry, SpecialDrugEntry
from app.database import get_session
from app.demo.catalogues import seed_catalogues
from app.products.models import Product


def _counts(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(m))
        for m in (CatalogueVersion, CommercialEntry, SpecialDrugEntry)
    )


def test_demo_catalogues_load_once_and_are_in_force_in_the_plan_year(seeded):
    sheets = {s.kind: s for s in demo_catalogue_sheets()}
    assert sheets["commercial"].data.startswith(b"PK")  # an XLSX, read like an upload
    with seeded.app_context():
        assert seed_catalogues() == {"catalogue_versions_created": 2}
        session = get_session()
        first = _counts(session)
        session.rollback()
        assert first[0] == 2 and first[1] > 0 and first[2] > 0
        assert seed_catalogues() == {"catalogue_versions_created": 0}
        assert _counts(get_session()) == first
        product_id = get_session().scalar(
            select(Product.id).where(Product.code == "ganzhou-demo-2026")
        )
        for kind in ("commercial", "special_drug"):
            assert services.entries_in_force(product_id, kind, date(2026, 6, 1)) is not None
            assert services.entries_in_force(product_id, kind, date(2027, 1, 1)) is None


def test_flask_demo_seed_prints_the_catalogues(seeded):
    result = seeded.test_cli_runner().invoke(args=["demo", "seed", "--no-family"])
    assert result.exit_code == 0, result.output
    assert "catalogue_versions_created: 2" in result.output
    again = seeded.test_cli_runner().invoke(args=["demo", "seed", "--no-family"])
    assert "catalogue_versions_created: 0" in again.output
