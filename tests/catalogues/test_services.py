"""Catalogue import as a use case: all or nothing, no overlapping versions, the per-row report,
the entries in force on a date of care, retiring."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.catalogues import rules, services
from app.catalogues.models import (
    CatalogueImportRow,
    CatalogueVersion,
    CommercialEntry,
    SpecialDrugEntry,
)
from app.database import get_session
from app.errors import DomainError
from tests.catalogues.support import COMMERCIAL_ROWS, PRODUCT, commercial_xlsx, special_csv

OPERATOR = Principal(kind="staff", id=2, role="operator")
LIMITS = services.Limits()


def _import(
    data=None,
    *,
    kind="commercial",
    label="2026.1",
    start=date(2026, 1, 1),
    end=None,
    actor=OPERATOR,
    limits=LIMITS,
):
    return services.import_catalogue(
        kind=kind,
        product_code=PRODUCT,
        data=commercial_xlsx() if data is None else data,
        filename="list.xlsx",
        label=label,
        effective_from=start,
        effective_to=end,
        actor=actor,
        limits=limits,
    )


def _counts() -> tuple[int, ...]:
    session = get_session()
    counts = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (CatalogueVersion, CommercialEntry, SpecialDrugEntry, CatalogueImportRow)
    )
    session.rollback()
    return counts


def test_a_good_file_is_one_version_with_its_entries_report_and_audit_row(seeded):
    with seeded.app_context():
        result = _import()
        assert result.report.ok and len(result.report.rows) == 3
        version = result.version
        assert (version.kind, version.label, version.row_count, version.file_format) == (
            "commercial",
            "2026.1",
            3,
            "xlsx",
        )
        assert version.plan_year == 2026 and version.imported_by_staff_id == 2
        assert _counts() == (1, 3, 0, 3)
        session = get_session()
        stent = session.scalar(
            select(CommercialEntry).where(CommercialEntry.med_list_codg == "C0301050010000000123")
        )
        assert (stent.price_limit_fen, stent.quantity_limit, stent.row_number) == (600000, "3", 4)
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "catalogue.imported")
        ).one()
        assert audit.object_id == version.id and audit.detail["rows"] == 3
        assert [r.row_number for r in session.scalars(select(CatalogueImportRow))] == [3, 4, 5]


def test_one_bad_row_loads_nothing_and_reports_every_row(seeded):
    rows = [*COMMERCIAL_ROWS, ["XL01", "截短的编码", "", "", "", ""], ["", "", "", "-5", "", ""]]
    with seeded.app_context():
        with pytest.raises(DomainError) as caught:
            _import(commercial_xlsx(rows))
        assert _counts() == (0, 0, 0, 0)
    exc = caught.value
    assert (exc.status, exc.code) == (422, "catalogue_rows_invalid")
    report = exc.errors["report"]
    assert report["ok"] is False and report["error_count"] == 2
    assert [r["ok"] for r in report["rows"]] == [True, True, True, False, False]
    assert report["rows"][3]["code"] == "code_malformed"
    assert report["rows"][3]["row_number"] == 6  # the title row and the header come first
    assert {e["code"] for e in report["rows"][4]["errors"]} >= {"code_missing", "name_missing"}
    assert "整个文件未导入" in exc.detail


def test_a_file_without_the_header_is_refused_with_the_header_error(seeded):
    with seeded.app_context(), pytest.raises(DomainError) as caught:
        _import(special_csv(), kind="commercial")  # a special-drug sheet sent as commercial
    assert caught.value.code == "catalogue_rows_invalid"
    assert caught.value.errors["report"]["header_errors"][0]["code"] == "header_not_found"


def test_overlapping_versions_are_refused_and_retiring_frees_the_days(seeded):
    with seeded.app_context():
        first = _import(end=date(2026, 6, 30)).version
        with pytest.raises(DomainError) as caught:
            _import(label="2026.2", start=date(2026, 6, 1))
        assert (caught.value.status, caught.value.code) == (409, "catalogue_version_conflict")
        assert "重叠" in caught.value.detail
        with pytest.raises(DomainError) as caught:  # the same label, even on other days
            _import(start=date(2026, 7, 1))
        assert caught.value.code == "catalogue_version_conflict"
        # The other kind has days of its own; the next half-year is free.
        _import(special_csv(), kind="special_drug", label="2026.1")
        _import(label="2026.2", start=date(2026, 7, 1))
        assert _counts()[0] == 3
        # Retired, its days are free for a corrected version (a new label).
        services.retire_version(first.id, OPERATOR)
        _import(label="2026.1b", start=date(2026, 1, 1), end=date(2026, 6, 30))
        assert services.retire_version(first.id, OPERATOR).status == "retired"  # once is enough


def test_dates_label_product_and_role_are_checked_before_the_file_is_read(seeded):
    with seeded.app_context():
        cases = [
            ({"start": date(2026, 2, 1), "end": date(2026, 1, 31)}, "catalogue_dates_reversed"),
            ({"label": " "}, "catalogue_label_invalid"),
            ({"actor": Principal(kind="staff", id=1, role="reviewer")}, "role_forbidden"),
        ]
        for kwargs, code in cases:
            with pytest.raises(DomainError) as caught:
                _import(b"not read", **kwargs)
            assert caught.value.code == code
        with pytest.raises(DomainError) as caught:
            services.import_catalogue(
                kind="commercial",
                product_code="no-such-product",
                data=b"x",
                filename="x.csv",
                label="1",
                effective_from=date(2026, 1, 1),
                effective_to=None,
                actor=None,
                limits=LIMITS,
            )
        assert (caught.value.status, caught.value.code) == (422, "product_not_found")
        assert _counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "catalogue_file_empty"),
        (b"\xd0\xcf\x11\xe0old excel", "catalogue_format_xls"),
        (b"PK\x03\x04broken zip", "catalogue_xlsx_invalid"),
        (b"\x00\x01binary", "catalogue_format_unsupported"),
        ("医保编码,名称\n".encode("utf-16"), "catalogue_encoding"),
    ],
)
def test_unreadable_files_have_stable_codes(seeded, data, code):
    with seeded.app_context(), pytest.raises(DomainError) as caught:
        _import(data)
    assert (caught.value.status, caught.value.code) == (422, code)


def test_too_many_rows_is_refused(seeded):
    rows = [[f"25040301{i}", f"项目{i}", "", "", "", ""] for i in range(5)]
    with seeded.app_context(), pytest.raises(DomainError) as caught:
        _import(commercial_xlsx(rows), limits=services.Limits(max_rows=2))
    assert caught.value.code == "catalogue_too_many_rows"


def test_entries_in_force_give_the_pure_catalogues(seeded):
    with seeded.app_context():
        product_id = _import(end=date(2026, 6, 30)).version.product_id
        _import(special_csv(), kind="special_drug")
        commercial = services.entries_in_force(product_id, "commercial", date(2026, 3, 1))
        assert isinstance(commercial, rules.CommercialCatalogue)
        assert commercial.version == "2026.1"
        assert commercial.item("c0301050010000000123").quantity_limit == Decimal(3)
        assert services.entries_in_force(product_id, "commercial", date(2026, 7, 1)) is None
        drugs = services.entries_in_force(product_id, "special_drug", date(2026, 7, 1))
        assert isinstance(drugs, rules.SpecialDrugCatalogue)
        drug = drugs.drug("H20203012")
        assert drug is not None and drug.annual_cap_fen is None and not drug.preauth_required
        trastuzumab = drugs.drug("国药准字S20180006")
        assert trastuzumab.indications == ("HER2阳性乳腺癌", "HER2阳性胃癌")
        assert trastuzumab.pharmacies == ("章贡药房",) and trastuzumab.annual_cap_fen == 10_000_000
