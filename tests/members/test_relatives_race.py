"""One spouse at a time, under a race, on PostgreSQL (SQLite serialises writers, which would hide
it): five adult women added at once as 张伟's spouse, each by her own request. The member's row
is locked in the adding transaction (app/members/services.py add_relative), so exactly one is
added and the others get 409 spouse_already_added."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.database import get_session
from app.members.models import Relative
from tests.conftest import add_relative

pytestmark = pytest.mark.postgres

WOMEN = ("李娜", "陈静", "赵敏", "孙丽", "王芳")  # all of marriage age, all known to the bureau


def test_spouses_added_at_once_leave_one_spouse(app, client, verified_member, residents):
    def tap(name):
        resp = add_relative(app.test_client(), verified_member, residents[name], "spouse")
        return resp.status_code, (resp.get_json() or {}).get("code")

    with ThreadPoolExecutor(max_workers=len(WOMEN)) as pool:
        answers = list(pool.map(tap, WOMEN))
    assert [status for status, _ in answers].count(201) == 1, answers
    assert sorted(a for a in answers if a[0] != 201) == [(409, "spouse_already_added")] * 4
    with app.app_context():
        spouses = get_session().scalar(
            select(func.count()).select_from(Relative).where(Relative.relation == "spouse")
        )
    assert spouses == 1
