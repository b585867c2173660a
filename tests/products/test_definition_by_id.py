"""A product's definition by id (app/products/services.py definition_by_id): the same as
definition_of(the loaded product), read as two columns; the `definition` JSON only when its
digest was never parsed; once per transaction; a product the session holds costs nothing.
Statements are counted with a before_cursor_execute listener."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.database import get_engine, read_scope
from app.errors import DomainError
from app.products import services
from app.products.models import Product
from tests.statements import recorded

# the JSON column, not definition_sha256
DEFINITION_COLUMN = re.compile(r"products\.definition\b(?!_)", re.IGNORECASE)


def statements():
    return recorded(get_engine())


@pytest.fixture
def ctx(app):
    with app.app_context():
        services.load_products()
        yield app


def _ids() -> list[int]:
    with read_scope() as s:
        return list(s.scalars(select(Product.id).order_by(Product.id)))


def test_the_same_definition_as_definition_of_the_loaded_product(ctx):
    ids = _ids()
    assert len(ids) >= 2
    for product_id in ids:
        services._DEFINITIONS.clear()
        with read_scope() as s:
            by_id = services.definition_by_id(s, product_id)
        with read_scope() as s:
            assert by_id == services.definition_of(s.get(Product, product_id))
        with read_scope() as s:  # and again from the parsed definitions
            assert services.definition_by_id(s, product_id) == by_id


def test_an_extended_window_is_the_product_rows(ctx):
    code = "huhuibao-2021"
    with read_scope() as s:
        product_id = s.scalar(select(Product.id).where(Product.code == code))
        before = services.definition_by_id(s, product_id)  # parsed, window as filed
    later = date(2021, 6, 30)
    assert before.window_closes < later <= before.coverage_ends
    services.extend_window(code, later)
    with read_scope() as s:
        defn = services.definition_by_id(s, product_id)
    assert defn.window_closes == later and defn != before
    assert defn == services.definition_of(services.get_product(code))


def test_a_parsed_digest_is_not_read_again_and_a_transaction_reads_once(ctx):
    product_id = _ids()[0]
    services._DEFINITIONS.clear()
    with read_scope() as s, statements() as miss:
        services.definition_by_id(s, product_id)
    assert len(miss) == 2 and DEFINITION_COLUMN.search(miss[1]), miss
    with read_scope() as s, statements() as hit:
        services.definition_by_id(s, product_id)
        services.definition_by_id(s, product_id)  # the same transaction: not read again
    assert len(hit) == 1 and not DEFINITION_COLUMN.search(hit[0]), hit
    with read_scope() as s, statements() as next_one:  # another transaction reads it again
        services.definition_by_id(s, product_id)
    assert len(next_one) == 1 and not DEFINITION_COLUMN.search(next_one[0]), next_one


def test_a_product_the_session_holds_is_used_as_it_is(ctx):
    product_id = _ids()[0]
    with read_scope() as s:
        product = s.get(Product, product_id)
        with statements() as seen:
            defn = services.definition_by_id(s, product_id)
        assert seen == [] and defn == services.definition_of(product)


def test_an_unknown_product_is_not_found(ctx):
    with read_scope() as s, pytest.raises(DomainError) as caught:
        services.definition_by_id(s, 10_000)
    assert caught.value.code == "product_not_found"
