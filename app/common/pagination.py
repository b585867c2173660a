"""One pager for the numbered lists (sponsor beneficiaries, roster entries, job rows, the audit
trail): `?page=&page_size=` in (PageQuerySchema), `{items, total, page, page_size}` out.

    page = paginate(session, select(AuditEvent).order_by(AuditEvent.id.desc()), 2, 20)
    return page.as_dict()        # or page.as_dict(items=[...]) after shaping the rows

`paginate` counts over a subquery of the same statement (SQLAlchemy 2's `select()` has no
`Query.count()`), then fetches one page with OFFSET/LIMIT. The statement must have a total order
(an id last) or rows can repeat or vanish between pages.

Why the claims review queue stays keyset (`before_id`): it is a work queue that reviewers drain
while they read it; with OFFSET, every claim taken off the queue shifts the next page and a claim
is skipped. A keyset cursor ("claims with a smaller id") is stable under those writes and cheap
at any depth; it has no total and no page number, so it is not forced into this shape. These
numbered lists are reports of settled data, where a total and a page number are what people want.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import marshmallow as ma
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.common.schemas import StrictSchema

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    def as_dict(self, items: list[Any] | None = None) -> dict[str, Any]:
        """The JSON every numbered list answers with; `items` replaces the rows when the caller
        shaped them (masking, labels)."""
        return {
            "items": self.items if items is None else items,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
        }


def paginate(
    session: Session,
    stmt: Select,
    page: int,
    page_size: int,
    *,
    max_page_size: int | None = None,
    scalars: bool = False,
) -> Page:
    """Page `page` (from 1) of `stmt`, `page_size` rows (at most `max_page_size`), with the total.

    `scalars=True` returns the first column of each row (ORM objects for `select(Model)`);
    otherwise Row tuples."""
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    if max_page_size is not None:
        page_size = min(page_size, max_page_size)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    window = stmt.offset((page - 1) * page_size).limit(page_size)
    result = session.execute(window)
    items = list(result.scalars()) if scalars else list(result.all())
    return Page(items=items, total=total, page=page, page_size=page_size)


def page_schema(name: str, item_schema: type[ma.Schema] | ma.Schema) -> type[StrictSchema]:
    """A named page schema (`{items, total, page, page_size}`) for one kind of item. Named
    classes, not instances, so the spec has one component per page type."""
    return type(
        name,
        (StrictSchema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "total": ma.fields.Integer(required=True),
            "page": ma.fields.Integer(required=True),
            "page_size": ma.fields.Integer(required=True),
        },
    )
