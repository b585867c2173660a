"""app/common/pagination.py, table-driven over 23 numbered rows in an in-memory SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.common.pagination import Page, page_schema, paginate
from app.common.schemas import StrictSchema


class _Base(DeclarativeBase):
    pass


class Thing(_Base):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    colour: Mapped[str] = mapped_column(String(8))


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        # ids 1..23; every third one red (3, 6, ..., 21: 7 red)
        s.add_all(Thing(id=i, colour="red" if i % 3 == 0 else "blue") for i in range(1, 24))
        s.commit()
        yield s
    engine.dispose()


@pytest.mark.parametrize(
    ("page", "page_size", "max_page_size", "ids", "used_size"),
    [
        (1, 10, None, list(range(1, 11)), 10),  # first page
        (3, 10, None, [21, 22, 23], 10),  # last, partial page: 23 - 20 = 3 rows
        (4, 10, None, [], 10),  # beyond the end: no rows, total still 23
        (2, 5, None, [6, 7, 8, 9, 10], 5),  # offset (2 - 1) * 5 = 5
        (1, 100, None, list(range(1, 24)), 100),  # one page holds everything
        (2, 50, 4, [5, 6, 7, 8], 4),  # page_size capped at 4: offset 4
    ],
)
def test_pages_of_all_rows(session, page, page_size, max_page_size, ids, used_size):
    found = paginate(
        session,
        select(Thing).order_by(Thing.id),
        page,
        page_size,
        max_page_size=max_page_size,
        scalars=True,
    )
    assert [t.id for t in found.items] == ids
    assert (found.total, found.page, found.page_size) == (23, page, used_size)


@pytest.mark.parametrize(
    ("page", "ids"),
    [
        (1, [21, 18, 15]),  # red ids, newest first
        (2, [12, 9, 6]),
        (3, [3]),  # 7 red rows: 3 + 3 + 1
    ],
)
def test_filtered_and_ordered_rows_count_the_filter(session, page, ids):
    stmt = select(Thing.id, Thing.colour).where(Thing.colour == "red").order_by(Thing.id.desc())
    found = paginate(session, stmt, page, 3)
    assert [row.id for row in found.items] == ids
    assert all(row.colour == "red" for row in found.items)
    assert found.total == 7


@pytest.mark.parametrize(("page", "page_size"), [(0, 10), (1, 0), (-1, 5)])
def test_page_numbers_start_at_one(session, page, page_size):
    with pytest.raises(ValueError):
        paginate(session, select(Thing).order_by(Thing.id), page, page_size)


def test_as_dict_is_the_json_every_list_answers_with():
    page = Page(items=[1, 2], total=12, page=2, page_size=2)
    assert page.as_dict() == {"items": [1, 2], "total": 12, "page": 2, "page_size": 2}
    assert page.as_dict(items=["a", "b"])["items"] == ["a", "b"]
    assert list(page.as_dict()) == ["items", "total", "page", "page_size"]


def test_page_schema_is_a_named_class_with_the_four_fields():
    class ItemSchema(StrictSchema):
        pass

    schema_class = page_schema("ThingPageSchema", ItemSchema)
    assert schema_class.__name__ == "ThingPageSchema"
    assert list(schema_class().fields) == ["items", "total", "page", "page_size"]
    dumped = schema_class().dump({"items": [{}], "total": 1, "page": 1, "page_size": 20})
    assert dumped == {"items": [{}], "total": 1, "page": 1, "page_size": 20}
