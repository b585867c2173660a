"""`flask demo seed`: the synthetic registry behind the sandbox bureau."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from app.auth.models import StaffAccount
from app.common.clock import today_shanghai
from app.database import get_session
from app.demo.residents import generate
from app.demo.seed import seed_demo
from app.identity.idnumber import parse
from app.integrations.bureau.sandbox import CERTNO_CONTEXT
from app.integrations.bureau.sandbox_models import SandboxResident
from app.security.crypto import cipher, index_of

IDENTITY_CODES = {"2301", "2302", "2303", "2304", "2401", "2501"}


def age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.fixture(scope="module")
def registry():
    return generate()


def test_seed_loads_at_least_200_residents_with_valid_numbers(app):
    with app.app_context():
        result = seed_demo()
        rows = get_session().scalars(select(SandboxResident)).all()
        numbers = [cipher().decrypt(r.certno_enc, CERTNO_CONTEXT) for r in rows]
        indexes = {r.certno_index for r in rows}
    assert result["residents_created"] == len(rows) >= 200
    assert result["residents_updated"] == 0
    assert result["staff_created"] == 2
    assert len(set(numbers)) == len(numbers)
    assert len(indexes) == len(rows)
    today = today_shanghai()
    for number, row in zip(numbers, rows):
        parsed = parse(number, today=today)  # raises on a bad check character or date
        assert parsed.birth_date == row.brdy
        assert parsed.gender == row.gend
        assert row.certno_index == _index(app, number)


def _index(app, number):
    with app.app_context():
        return index_of("sandbox_certno", number)


def test_seeding_twice_creates_nothing_new(app):
    with app.app_context():
        first = seed_demo()
        session = get_session()
        counts = (
            session.scalar(select(func.count()).select_from(SandboxResident)),
            session.scalar(select(func.count()).select_from(StaffAccount)),
        )
        ids = sorted(session.scalars(select(SandboxResident.id)))
        session.rollback()
        second = seed_demo()
        session = get_session()
        again = (
            session.scalar(select(func.count()).select_from(SandboxResident)),
            session.scalar(select(func.count()).select_from(StaffAccount)),
        )
        ids_again = sorted(session.scalars(select(SandboxResident.id)))
    assert first["residents_created"] > 0
    assert second == {
        "residents_created": 0,
        "residents_updated": first["residents_created"],
        "settlements_created": 0,
        "settlements_updated": first["settlements_created"],
        "staff_created": 0,
        "products_loaded": 3,
    }
    assert again == counts
    assert ids_again == ids


def test_registry_check_characters_all_valid(registry):
    today = today_shanghai()
    assert len(registry) >= 200
    assert len({r.certno for r in registry}) == len(registry)
    assert len({r.psn_no for r in registry}) == len(registry)
    for r in registry:
        parsed = parse(r.certno, today=today)
        assert parsed.birth_date == r.brdy, r.name
        assert parsed.gender == r.gend, r.name


def test_registry_covers_the_cases_the_product_must_handle(registry):
    today = today_shanghai()
    assert {r.insutype for r in registry} == {"310", "390"}
    assert {r.psn_insu_stas for r in registry} == {"1", "2"}
    suspended = [r for r in registry if r.psn_insu_stas == "2"]
    assert all(r.paus_insu_date is not None for r in suspended)
    # active with a pause date only after a reinstatement, begun again after the pause
    assert all(
        r.paus_insu_date is None or (r.psn_insu_date or r.paus_insu_date) > r.paus_insu_date
        for r in registry
        if r.psn_insu_stas == "1"
    )
    assert [r.name for r in registry if r.psn_insu_date is not None] == ["黄秀英"]
    balances = [r.balc_fen for r in registry if r.insutype == "310"]
    assert any(b > 0 for b in balances) and any(b == 0 for b in balances)
    assert all(r.balc_fen is None for r in registry if r.insutype == "390")
    found = set().union(*(r.idet_types for r in registry))
    assert IDENTITY_CODES <= found
    ages = [age(r.brdy, today) for r in registry]
    assert any(a < 14 for a in ages)
    assert any(a > 80 for a in ages)
    assert all(0 <= a < 120 for a in ages)
    outside = [r for r in registry if not r.insuplc_admdvs.startswith("3607")]
    inside = [r for r in registry if r.insuplc_admdvs.startswith("3607")]
    assert outside and len(inside) > len(outside)
    # the area code of the number and the insurance region agree in this registry
    assert all(r.certno[:6] == r.insuplc_admdvs for r in registry)


def test_showcase_people_are_as_the_readme_describes(registry):
    by_name = {r.name: r for r in registry[:10]}
    today = today_shanghai()
    assert by_name["张伟"].insutype == "310" and by_name["张伟"].balc_fen == 356_000
    assert by_name["王芳"].psn_insu_stas == "2" and by_name["王芳"].paus_insu_date == date(
        2026, 3, 1
    )
    assert by_name["赵敏"].insuplc_admdvs == "360102"
    assert by_name["孙丽"].balc_fen == 0
    assert age(by_name["张小宝"].brdy, today) < 14
    assert age(by_name["张建国"].brdy, today) > 80
    assert by_name["张建国"].certno.endswith("X")


def test_generate_is_deterministic():
    assert generate() == generate()
    assert [r.certno for r in generate(50)] == [r.certno for r in generate()[:50]]


def test_sandbox_table_holds_no_plaintext_id_numbers(app, registry):
    with app.app_context():
        seed_demo()
        session = get_session()
        columns = [c.name for c in SandboxResident.__table__.columns]
        dump = repr(session.execute(text("SELECT * FROM sandbox_residents")).all())
    assert "certno" not in columns
    assert {"certno_enc", "certno_index"} <= set(columns)
    assert len(dump) > 10_000
    for r in registry:
        assert r.certno not in dump
        assert r.certno[:17] not in dump  # not even without the check character


def test_seed_refuses_production_profile(app):
    app.config["PROFILE"] = "production"
    with app.app_context():
        with pytest.raises(RuntimeError, match="never seeded in production"):
            seed_demo()
        assert get_session().scalar(select(func.count()).select_from(SandboxResident)) == 0
