"""The catalogues in force for the claims engine (app/catalogues/in_force.py): the built catalogue
is cached per process by the version's id and content identity, the version row is read on
every call (a retired version is never served), entries only on a miss; both kinds come from
one statement. Statements are counted with a before_cursor_execute listener."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete

from app.catalogues import in_force, rules, services
from app.catalogues.in_force import CACHE, _Catalogues, catalogues_in_force, entries_in_force
from app.catalogues.models import CatalogueImportRow, CatalogueVersion, CommercialEntry
from app.database import get_engine, get_session, transaction
from tests.catalogues.support import COMMERCIAL_ROWS, commercial_xlsx, special_csv
from tests.catalogues.test_services import OPERATOR, _import
from tests.statements import recorded

ENTRY_TABLES = ("catalogue_commercial_entries", "catalogue_special_drugs")


def statements():
    """The SQL of every statement run on the app's engine inside the block."""
    return recorded(get_engine())


def _entry_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if any(table in s for table in ENTRY_TABLES)]


def test_a_cache_hit_reads_the_version_row_and_no_entries(seeded):
    with seeded.app_context():
        product_id = _import(end=date(2026, 6, 30)).version.product_id
        _import(special_csv(), kind="special_drug")
        CACHE.clear()
        with statements() as first:
            commercial, special = catalogues_in_force(product_id, date(2026, 3, 1))
        # one statement for both versions, then each version's entries (a miss)
        assert len(first) == 3 and len(_entry_reads(first)) == 2, first
        assert isinstance(commercial, rules.CommercialCatalogue)
        assert isinstance(special, rules.SpecialDrugCatalogue)
        with statements() as again:
            hit = catalogues_in_force(product_id, date(2026, 3, 1))
        assert len(again) == 1 and not _entry_reads(again), again
        assert hit[0] is commercial and hit[1] is special
        with statements() as one_kind:
            assert entries_in_force(product_id, "commercial", date(2026, 3, 1)) is commercial
        assert len(one_kind) == 1 and not _entry_reads(one_kind), one_kind


def test_both_kinds_at_once_are_what_each_kind_gives(seeded):
    with seeded.app_context():
        product_id = _import(end=date(2026, 6, 30)).version.product_id
        _import(special_csv(), kind="special_drug", start=date(2026, 2, 1))
        for day in (date(2025, 12, 31), date(2026, 1, 15), date(2026, 3, 1), date(2026, 7, 1)):
            CACHE.clear()
            both = catalogues_in_force(product_id, day)
            CACHE.clear()
            each = (
                entries_in_force(product_id, "commercial", day),
                entries_in_force(product_id, "special_drug", day),
            )
            assert both == each, day
        # the same as the service module re-exports (its existing callers)
        assert services.entries_in_force is entries_in_force
        assert services.catalogues_in_force is catalogues_in_force


def test_the_cached_catalogue_is_the_one_built_from_the_entries(seeded):
    with seeded.app_context():
        product_id = _import().version.product_id
        CACHE.clear()
        built = entries_in_force(product_id, "commercial", date(2026, 3, 1))
        assert built is not None
        assert [item.med_list_codg for item in built.items] == [
            rules.normalise_code(row[0]) for row in COMMERCIAL_ROWS
        ]
        assert entries_in_force(product_id, "commercial", date(2026, 3, 1)) == built


def test_a_retired_version_is_not_served_even_when_cached(seeded):
    with seeded.app_context():
        version = _import().version
        assert entries_in_force(version.product_id, "commercial", date(2026, 3, 1)) is not None
        with statements() as seen:  # cached now
            assert entries_in_force(version.product_id, "commercial", date(2026, 3, 1))
        assert not _entry_reads(seen)
        services.retire_version(version.id, OPERATOR)
        assert entries_in_force(version.product_id, "commercial", date(2026, 3, 1)) is None
        assert catalogues_in_force(version.product_id, date(2026, 3, 1))[0] is None


def test_a_new_version_with_a_reused_id_is_not_served_from_the_stale_cache(seeded):
    with seeded.app_context():
        old = _import().version
        stale = entries_in_force(old.product_id, "commercial", date(2026, 3, 1))
        assert stale is not None and len(stale.items) == len(COMMERCIAL_ROWS)
        with transaction() as s:  # gone, as between two tests: SQLite may give its id again
            s.execute(delete(CommercialEntry).where(CommercialEntry.version_id == old.id))
            s.execute(delete(CatalogueImportRow).where(CatalogueImportRow.version_id == old.id))
            s.execute(delete(CatalogueVersion).where(CatalogueVersion.id == old.id))
        # the same product, kind, label and dates; another file
        new = _import(commercial_xlsx(COMMERCIAL_ROWS[:1])).version
        if get_session().get_bind().dialect.name == "sqlite":
            assert new.id == old.id  # the case the key guards against
        fresh = entries_in_force(old.product_id, "commercial", date(2026, 3, 1))
        assert fresh is not None and fresh is not stale
        assert [item.med_list_codg for item in fresh.items] == [
            rules.normalise_code(COMMERCIAL_ROWS[0][0])
        ]


def test_the_cache_keeps_the_most_recently_used_versions():
    cache = _Catalogues(2)
    catalogues = {
        n: rules.CommercialCatalogue(version=f"v{n}", effective_from=date(2026, 1, 1))
        for n in (1, 2, 3)
    }
    keys = {
        n: in_force._VersionRow(n, "commercial", "sha", None, f"v{n}", date(2026, 1, 1), None)  # type: ignore[arg-type]
        for n in (1, 2, 3)
    }
    cache.put(keys[1], catalogues[1])
    cache.put(keys[2], catalogues[2])
    assert cache.get(keys[1]) is catalogues[1]  # 1 is now the most recent
    cache.put(keys[3], catalogues[3])  # 2 goes
    assert [cache.get(keys[n]) for n in (1, 2, 3)] == [catalogues[1], None, catalogues[3]]
    assert len(cache) == 2
    assert in_force.CACHE.size == in_force.CACHED_VERSIONS == 32
    # another digest under the same id is another key
    assert cache.get(keys[1]._replace(file_sha256="other")) is None
