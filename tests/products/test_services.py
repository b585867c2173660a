"""Loading products into the database (idempotent, versioned terms), finding the product on sale,
and the operator's window extension."""

from __future__ import annotations

import shutil
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.principal import Principal
from app.database import get_session
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.products import services
from app.products.loader import DEFINITIONS_DIR, DefinitionError
from app.products.models import Product, ProductTerms

GANZHOU = "ganzhou-demo-2026"
HUHUIBAO = "huhuibao-2021"
GANZHOU_2027 = "ganzhou-demo-2027"
OPERATOR = Principal(kind="staff", id=7, role="operator")


def counts():
    session = get_session()
    result = (
        session.scalar(select(func.count()).select_from(Product)),
        session.scalar(select(func.count()).select_from(ProductTerms)),
    )
    session.rollback()
    return result


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def loaded(ctx):
    services.load_products()
    return ctx


@pytest.fixture
def defs(tmp_path):
    """A writable copy of the shipped definitions."""
    for path in DEFINITIONS_DIR.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_load_is_idempotent(ctx):
    first = services.load_products()
    second = services.load_products()
    assert first == {"products": 3, "created": 3, "updated": 0, "unchanged": 0, "terms_added": 3}
    assert second == {"products": 3, "created": 0, "updated": 0, "unchanged": 3, "terms_added": 0}
    assert counts() == (3, 3)  # one row each, one terms version each
    product = services.get_product(GANZHOU)
    assert (product.status, product.plan_year, product.region_prefix) == ("published", 2026, "3607")
    assert len(product.definition_sha256) == 64
    terms = services.current_terms(product)
    assert (terms.version, terms.title) == ("2026.1", "赣州惠民保 2026（示范）保险条款")
    assert terms.sha256 == services.text_sha256(terms.text)
    created = get_session().scalars(select(AuditEvent.action)).all()
    assert created.count("product.created") == 3


def test_changed_definition_updates_the_row_without_a_new_terms_version(ctx, defs):
    services.load_products(sorted(defs.glob("*.toml")))
    before = services.get_product(GANZHOU).definition_sha256
    edit(
        defs / "ganzhou-demo-2026.toml",
        'name = "赣州惠民保 2026（示范）"',
        'name = "赣州惠民保 2026"',
    )
    summary = services.load_products(sorted(defs.glob("*.toml")))
    assert summary == {"products": 3, "created": 0, "updated": 1, "unchanged": 2, "terms_added": 0}
    product = services.get_product(GANZHOU)
    assert product.name == "赣州惠民保 2026" and product.definition_sha256 != before
    assert services.definition_of(product).name == "赣州惠民保 2026"
    assert counts() == (3, 3)


def test_new_terms_version_is_added_and_becomes_current(ctx, defs):
    services.load_products(sorted(defs.glob("*.toml")))
    edit(defs / "ganzhou-demo-2026.toml", 'version = "2026.1"', 'version = "2026.2"')
    edit(defs / "ganzhou-demo-2026.terms.md", "每人每年 89 元", "每人每年 89 元（不变）")
    summary = services.load_products(sorted(defs.glob("*.toml")))
    assert (summary["updated"], summary["terms_added"]) == (1, 1)
    assert counts() == (3, 4)
    terms = services.current_terms(services.get_product(GANZHOU))
    assert terms.version == "2026.2" and "（不变）" in terms.text


def test_same_terms_version_with_other_text_is_refused(ctx, defs):
    services.load_products(sorted(defs.glob("*.toml")))
    edit(defs / "ganzhou-demo-2026.terms.md", "每人每年 89 元", "每人每年 88 元")
    with pytest.raises(Conflict) as info:
        services.load_products(sorted(defs.glob("*.toml")))
    assert info.value.code == "terms_version_changed"
    assert "2026.1" in info.value.detail
    assert services.current_terms(services.get_product(GANZHOU)).text.count("89 元") == 1


def test_plan_year_never_changes_under_a_code(ctx, defs):
    services.load_products(sorted(defs.glob("*.toml")))
    edit(defs / "huhuibao-2021.toml", "plan_year = 2021", "plan_year = 2022")
    with pytest.raises(Conflict) as info:
        services.load_products([defs / "huhuibao-2021.toml"])
    assert info.value.code == "product_plan_year_changed"


def test_a_broken_file_loads_nothing_and_names_the_file(ctx, defs):
    edit(defs / "huhuibao-2021.toml", "cap_fen = 30000000", "cap_fen = 0")
    with pytest.raises(DefinitionError) as info:
        services.load_products(sorted(defs.glob("*.toml")))
    assert info.value.errors == [
        ("huhuibao-2021.toml: buckets[2].cap_fen", "金额必须大于 0（单位：分）")
    ]
    assert counts() == (0, 0)  # the valid Ganzhou file was not loaded either


def test_duplicate_codes_in_one_batch_are_refused(ctx, defs):
    shutil.copy(defs / "huhuibao-2021.toml", defs / "copy.toml")
    with pytest.raises(DefinitionError) as info:
        services.load_products([defs / "huhuibao-2021.toml", defs / "copy.toml"])
    assert info.value.errors[0][0] == "copy.toml: code"


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2026, 11, 23), GANZHOU),
        (date(2025, 10, 1), GANZHOU),  # opening day
        (date(2026, 11, 30), GANZHOU),
        (date(2026, 12, 1), GANZHOU_2027),  # both on sale: next plan year is offered
        (date(2026, 12, 31), GANZHOU_2027),  # closing day (inclusive)
        (date(2025, 9, 30), None),
        (date(2027, 6, 1), None),
        (date(2021, 5, 1), HUHUIBAO),
    ],
)
def test_current_product(loaded, today, expected):
    product = services.current_product(today)
    assert (product.code if product else None) == expected


def test_retired_products_are_off_sale_and_out_of_the_catalogue(loaded):
    product = services.retire_product(GANZHOU, OPERATOR)
    assert product.status == "retired"
    assert services.retire_product(GANZHOU, OPERATOR).status == "retired"  # idempotent
    assert services.current_product(date(2026, 11, 23)) is None
    assert [p.code for p in services.list_products()] == [GANZHOU_2027, HUHUIBAO]
    with pytest.raises(NotFound) as info:
        services.get_product(GANZHOU)  # what enrollment and the public routes use
    assert info.value.code == "product_not_found"
    assert services.get_product(GANZHOU, include_retired=True).id == product.id
    assert services.get_product_by_id(product.id).status == "retired"  # policies keep theirs
    assert services.load_products()["unchanged"] == 3  # reloading does not republish it
    assert services.get_product_by_id(product.id).status == "retired"
    retired = (
        get_session()
        .scalars(select(AuditEvent).where(AuditEvent.action == "product.retired"))
        .all()
    )
    assert [(e.actor_type, e.actor_id, e.detail) for e in retired] == [
        ("staff", 7, {"code": GANZHOU})
    ]
    with pytest.raises(Forbidden):
        services.retire_product(HUHUIBAO, Principal("member", 1, "member"))


def test_retired_products_cannot_be_extended(loaded):
    services.retire_product(HUHUIBAO)
    with pytest.raises(Conflict) as info:
        services.extend_window(HUHUIBAO, date(2021, 6, 30))
    assert info.value.code == "product_retired"


def test_get_product_unknown_or_malformed(loaded):
    for code in ("unknown", "BAD_CODE!", "", "x" * 41):
        with pytest.raises(NotFound) as info:
            services.get_product(code)
        assert info.value.code == "product_not_found"
    with pytest.raises(NotFound):
        services.get_product_by_id(999)


def test_definition_of_is_cached_by_digest(loaded):
    product = services.get_product(HUHUIBAO)
    assert services.definition_of(product) is services.definition_of(product)
    assert services.definition_of(product).premium_default_fen == 11500


# --- extend_window ------------------------------------------------------------------------------


def test_extend_window_moves_later_and_is_audited(loaded):
    product = services.extend_window(HUHUIBAO, date(2021, 6, 30), OPERATOR)
    assert product.window_closes == date(2021, 6, 30)
    assert services.definition_of(product).window_closes == date(2021, 6, 30)
    assert services.definition_of(product).window_open_on(date(2021, 6, 15))
    assert services.current_product(date(2021, 6, 15)).code == HUHUIBAO
    event = (
        get_session()
        .scalars(select(AuditEvent).where(AuditEvent.action == "product.window_extended"))
        .one()
    )
    assert (event.actor_type, event.actor_id, event.object_type, event.object_id) == (
        "staff",
        7,
        "product",
        product.id,
    )
    assert event.detail == {"code": HUHUIBAO, "from": "2021-05-24", "to": "2021-06-30"}


@pytest.mark.parametrize(
    "new_close, code",
    [
        (date(2021, 5, 1), "window_not_extended"),  # earlier
        (date(2021, 5, 24), "window_not_extended"),  # the same day is no extension
        (date(2022, 6, 1), "window_beyond_coverage"),  # past the end of coverage (2022-05-31)
    ],
)
def test_extend_window_refuses(loaded, new_close, code):
    with pytest.raises(ValidationFailed) as info:
        services.extend_window(HUHUIBAO, new_close, OPERATOR)
    assert info.value.code == code
    assert services.get_product(HUHUIBAO).window_closes == date(2021, 5, 24)
    assert (
        get_session().scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "product.window_extended")
        )
        == 0
    )


def test_extend_window_up_to_the_last_day_of_coverage(loaded):
    assert services.extend_window(HUHUIBAO, date(2022, 5, 31)).window_closes == date(2022, 5, 31)
    event = (
        get_session()
        .scalars(select(AuditEvent).where(AuditEvent.action == "product.window_extended"))
        .one()
    )
    assert (event.actor_type, event.actor_id) == ("system", None)


def test_extend_window_needs_an_operator_and_a_known_product(loaded):
    with pytest.raises(Forbidden):
        services.extend_window(HUHUIBAO, date(2021, 6, 30), Principal("staff", 3, "reviewer"))
    with pytest.raises(NotFound) as info:
        services.extend_window("nope", date(2021, 6, 30), OPERATOR)
    assert info.value.code == "product_not_found"


def test_extension_survives_reloading(loaded, defs):
    services.extend_window(HUHUIBAO, date(2021, 6, 30), OPERATOR)
    assert services.load_products()["unchanged"] == 3  # unchanged files: the extension stays
    assert services.get_product(HUHUIBAO).window_closes == date(2021, 6, 30)
    edit(defs / "huhuibao-2021.toml", 'name = "沪惠保 2021"', 'name = "沪惠保（2021）"')
    assert services.load_products(sorted(defs.glob("*.toml")))["updated"] == 1
    assert services.get_product(HUHUIBAO).window_closes == date(2021, 6, 30)  # changed file too


# --- command line -------------------------------------------------------------------------------


def test_cli_load_and_extend(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["products", "load"])
    assert result.exit_code == 0, result.output
    assert "created: 3" in result.output
    result = runner.invoke(args=["products", "load"])
    assert "unchanged: 3" in result.output
    result = runner.invoke(args=["products", "extend-window", HUHUIBAO, "2021-06-30"])
    assert result.exit_code == 0, result.output
    assert "2021-06-30" in result.output
    result = runner.invoke(args=["products", "extend-window", HUHUIBAO, "2021-06-01"])
    assert result.exit_code != 0 and "window_not_extended" in result.output
    result = runner.invoke(args=["products", "extend-window", HUHUIBAO, "30/06/2021"])
    assert result.exit_code != 0
    result = runner.invoke(args=["products", "retire", HUHUIBAO])
    assert result.exit_code == 0 and "huhuibao-2021: retired" in result.output
    result = runner.invoke(args=["products", "retire", "nope"])
    assert result.exit_code != 0 and "product_not_found" in result.output


def test_cli_load_reports_every_error(app, defs):
    edit(defs / "huhuibao-2021.toml", "cap_fen = 30000000", "cap_fen = 0")
    edit(defs / "huhuibao-2021.toml", "default_fen = 11500", "default_fen = -1")
    result = app.test_cli_runner().invoke(
        args=["products", "load", str(defs / "huhuibao-2021.toml")]
    )
    assert result.exit_code != 0
    assert "buckets[2].cap_fen" in result.output and "premium.default_fen" in result.output


def test_demo_seed_loads_the_products(app):
    from app.demo.seed import seed_demo

    with app.app_context():
        assert seed_demo()["products_loaded"] == 3
        assert seed_demo()["products_loaded"] == 3
        assert counts() == (3, 3)


# --- close_window -------------------------------------------------------------------------------


def test_close_window_stops_enrollment_from_the_next_day_and_is_audited(loaded):
    product = services.close_window(HUHUIBAO, date(2021, 5, 10), OPERATOR)
    assert product.window_closes == date(2021, 5, 10)
    defn = services.definition_of(product)
    assert defn.window_open_on(date(2021, 5, 10)) and not defn.window_open_on(date(2021, 5, 11))
    event = (
        get_session()
        .scalars(select(AuditEvent).where(AuditEvent.action == "product.window_closed"))
        .one()
    )
    assert event.detail == {"code": HUHUIBAO, "from": "2021-05-24", "to": "2021-05-10"}


@pytest.mark.parametrize(
    "last_day, code",
    [
        (date(2021, 5, 24), "window_not_shortened"),  # the current close: nothing to close
        (date(2021, 6, 1), "window_not_shortened"),  # later is an extension
        (date(2020, 1, 1), "window_before_opening"),  # before the window ever opened
    ],
)
def test_close_window_refuses(loaded, last_day, code):
    with pytest.raises(ValidationFailed) as info:
        services.close_window(HUHUIBAO, last_day, OPERATOR)
    assert info.value.code == code
    assert services.get_product(HUHUIBAO).window_closes == date(2021, 5, 24)


def test_a_fixed_start_year_cannot_be_extended_past_its_cover_start(loaded):
    with pytest.raises(ValidationFailed) as info:
        services.extend_window(GANZHOU_2027, date(2027, 1, 2), OPERATOR)
    assert info.value.code == "window_beyond_coverage" and "2027-01-01" in info.value.detail
    extended = services.extend_window(GANZHOU_2027, date(2027, 1, 1), OPERATOR)
    assert extended.window_closes == date(2027, 1, 1)
