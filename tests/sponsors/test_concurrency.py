"""Budget and quota are never overspent: 200 concurrent reservations against a programme with
room for exactly 50. PostgreSQL only (with_for_update and row locks are no-ops on SQLite; the
conditional UPDATE is what holds, see ../shared/LIBRARY-NOTES.md)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from app.database import get_session, transaction
from app.errors import Conflict
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry
from app.sponsors.rules import uscc_check_char
from app.sponsors.services import check_programmes, reserve_budget

PREMIUM = 8900
ATTEMPTS = 200
ROOM = 50


def _programme(app, *, budget_fen: int, quota: int | None) -> int:
    first17 = "11360700MB7654321"
    with app.app_context(), transaction() as s:
        org = Organisation(
            uscc=first17 + uscc_check_char(first17), name="民政局", kind="relief_fund"
        )
        s.add(org)
        s.flush()
        p = Programme(
            organisation_id=org.id,
            plan_year=2026,
            name="x",
            status="active",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            rule_kind="full",
            eligibility_categories=["dibao"],
            roster_only=False,
            quota=quota,
            budget_total_fen=budget_fen,
            budget_reserved_fen=0,
            beneficiaries_reserved=0,
        )
        s.add(p)
        s.flush()
        s.add(ProgrammeLedgerEntry(programme_id=p.id, kind="top_up", amount_fen=budget_fen))
        return p.id


@pytest.mark.postgres
@pytest.mark.parametrize("limit", ["budget", "quota"])
def test_200_concurrent_reservations_for_50_places(app, limit):
    if limit == "budget":
        pid = _programme(app, budget_fen=ROOM * PREMIUM, quota=None)
    else:
        pid = _programme(app, budget_fen=ATTEMPTS * PREMIUM, quota=ROOM)
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt():
        with app.app_context():
            start.wait()
            try:
                with transaction() as s:
                    reserve_budget(s, pid, PREMIUM, None)
                result = "ok"
            except Conflict as exc:
                result = exc.code
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == ATTEMPTS
    assert outcomes.count("ok") == ROOM
    assert outcomes.count("subsidy_unavailable") == ATTEMPTS - ROOM
    with app.app_context():
        s = get_session()
        p = s.get(Programme, pid)
        assert p.beneficiaries_reserved == ROOM
        assert p.budget_reserved_fen == ROOM * PREMIUM <= p.budget_total_fen
        if limit == "budget":
            assert p.budget_reserved_fen == p.budget_total_fen
        reserves = s.scalar(
            select(func.count())
            .select_from(ProgrammeLedgerEntry)
            .where(ProgrammeLedgerEntry.programme_id == pid, ProgrammeLedgerEntry.kind == "reserve")
        )
        assert reserves == ROOM
        assert check_programmes() == []
