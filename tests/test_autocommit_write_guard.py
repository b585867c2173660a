"""`database.autocommit_write` refuses to run inside an open transaction or a request unit (on
PostgreSQL it would commit apart from the caller's work; its clean-up would roll the caller's
work back), on either database, before it writes anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from app.database import autocommit_write, get_session, request_unit, transaction
from app.members.models import Member


def _count() -> int:
    return get_session().scalar(select(func.count()).select_from(Member)) or 0


def _add(session):
    session.execute(insert(Member.__table__).values(openid="guard-1"))


@pytest.mark.parametrize("inside", ["transaction", "request_unit"])
def test_refused_inside_a_transaction_or_a_unit(app, inside):
    with app.app_context():
        before = _count()
        get_session().rollback()
        with pytest.raises(RuntimeError, match="autocommit_write"):
            if inside == "transaction":
                with transaction() as s:
                    s.execute(select(1))
                    autocommit_write(_add)
            else:
                with request_unit():
                    autocommit_write(_add)
        get_session().rollback()
        assert _count() == before


def test_alone_it_writes(app):
    with app.app_context():
        before = _count()
        get_session().rollback()
        autocommit_write(_add)
        assert _count() == before + 1
