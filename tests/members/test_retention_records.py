"""Other bodies' records that name a person have a retention of their own, enforced by the same
`flask members purge-retained` (app/members/retention_records.py, docs/privacy.md):

- a hospital's trial never confirmed is deleted DIRECT_TRIAL_RETENTION_DAYS (180) after it was
  made; a confirmed trial is part of its claim and is scrubbed with the claim's account;
- a sponsor programme's roster, batch rows and upload report rows are deleted once its cover's
  retention (end of the 2026 cover + 5 years: 2031-12-31) has passed, and the people they named
  whom nothing else holds are anonymised.

The ledgers and the public statistics stay as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.database import get_session
from app.direct_settlement.models import DirectTrial
from app.jobs.models import JobRow
from app.sponsors.roster_models import RosterEntry, RosterReportRow
from tests import factories
from tests.claims.conftest import insured_family  # noqa: F401
from tests.conftest import bearer
from tests.direct_settlement.conftest import hospital, stay  # noqa: F401
from tests.jobs.conftest import fast_password_hashing, frozen, sponsors  # noqa: F401
from tests.jobs.support import PREMIUM_FEN, eligible, employer_programme, roster_csv, start_job
from tests.jobs.support import upload as upload_roster
from tests.members.test_privacy_http import AFTER_COVER, _events
from tests.members.test_retention import (
    LAST_DAY,
    PURGE_DAY,
    person_of,
    purge,
    purge_keeping_ledgers_and_statistics,
    snapshot,
)

DAY_179 = "2027-05-21T02:00:00+00:00"  # trials made 2026-11-23: 179 days on
DAY_182 = "2027-05-24T02:00:00+00:00"  # past the 180 days


def trials(app) -> dict[str, tuple]:
    """trial_no -> (setl_id, request kept, payable_fen)."""
    with app.app_context():
        rows = get_session().execute(
            select(
                DirectTrial.trial_no,
                DirectTrial.setl_id,
                DirectTrial.request,
                DirectTrial.payable_fen,
            )
        )
        found = {r.trial_no: (r.setl_id, bool(r.request), r.payable_fen) for r in rows}
        get_session().rollback()
    return found


def test_a_trial_never_confirmed_is_deleted_after_its_retention(
    client, insured_family, stay, hospital
):
    """Two trials of the stay at the counter; the second is confirmed. 179 days on both are
    kept; past 180 days the one never confirmed is deleted, the confirmed one (its claim's
    account is open) stays whole."""
    app = client.application
    status, unconfirmed = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, unconfirmed
    status, confirmed = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, confirmed
    status, done = hospital.confirm(confirmed["trial_no"], "SN0001")
    assert status == 200, done
    setl_id = stay["setlinfo"]["setl_id"]
    both = trials(app)
    assert set(both) == {unconfirmed["trial_no"], confirmed["trial_no"]}

    early = purge(app, when=DAY_179)
    assert early.exit_code == 0 and "direct_trials_deleted" not in early.output, early.output
    assert trials(app) == both
    result = purge_keeping_ledgers_and_statistics(client, when=DAY_182)
    assert "direct_trials_deleted: 1" in result.output, result.output
    assert trials(app) == {confirmed["trial_no"]: (setl_id, True, done["amount_fen"])}
    assert "direct_trials_deleted" not in purge(app, when=DAY_182).output  # nothing left


def test_a_confirmed_trial_is_scrubbed_with_its_claims_account(
    client, seeded, residents, insured_family, stay, hospital
):
    """张伟's stay settled at the counter; he closes the account. Five years after the cover the
    purge scrubs the trial with the claim (the hospital's request, the bureau's numbers, the
    fee-detail numbers in its explanation); it no longer holds 张伟, who is anonymised with his
    family. The hospital still finds its settlement by its number; the ledgers are unchanged."""
    app = client.application
    _, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    status, done = hospital.confirm(trial["trial_no"], "SN0001")
    assert status == 200, done
    with time_machine.travel(AFTER_COVER, tick=True):
        token = factories.login(seeded, "claims-zhang")["access_token"]
        closing = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert closing.status_code == 200, closing.get_json()

    result = purge_keeping_ledgers_and_statistics(client)
    assert "direct_trials: 1" in result.output and "people_anonymised: 3" in result.output
    assert "people_kept" not in result.output, result.output
    assert person_of(app, residents["张伟"]) is None
    assert trials(app) == {trial["trial_no"]: ("", False, done["amount_fen"])}
    numbers = [stay["setlinfo"]["setl_id"], stay["setlinfo"]["mdtrt_id"]]
    numbers += [line["feedetl_sn"] for line in stay["feedetail"]]
    ours = str({t: rows for t, rows in snapshot(app).items() if not t.startswith("sandbox_")})
    assert [n for n in numbers if n in ours] == []
    with time_machine.travel(PURGE_DAY, tick=True):
        status, queried = hospital.query("SN0001")
    assert status == 200 and queried["amount_fen"] == done["amount_fen"], queried
    assert len(queried["explanation"]) == len(done["explanation"])


def _programme_rows(app) -> tuple[int, int, int]:
    with app.app_context():
        s = get_session()
        found = tuple(
            s.scalar(select(func.count()).select_from(model))
            for model in (RosterEntry, JobRow, RosterReportRow)
        )
        s.rollback()
    return found


@pytest.fixture
def enrolled_roster(sponsors, client, seeded):
    """A charity's roster-only 2026 programme lists three residents and its batch job enrolls
    them (cover bought by the programme, no account); the first of them has since verified an
    account of her own. (admin token, programme, the three residents)."""
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5, kind="charity")
    listed = eligible(3)
    uploaded = upload_roster(client, admin, programme["id"], roster_csv(listed))
    assert uploaded.get_json()["added"] == 3, uploaded.get_json()
    job = start_job(client, admin, programme["id"])
    assert job.status_code == 202 and job.get_json()["done"] == 3, job.get_json()
    factories.verified_member(seeded, "roster-own-account", listed[0])
    assert _programme_rows(client.application) == (3, 3, 3)
    return admin, programme, listed


def test_a_programmes_roster_ends_with_its_retention(client, enrolled_roster):
    """Kept to the last day of its cover's retention; the day after, the roster, the batch
    rows and the upload's report rows go, with one audit row of counts. The two people
    nothing else holds (their cover, bought by the programme, is past retention too) are
    anonymised; the one with an account of her own stays whole."""
    app = client.application
    _, programme, listed = enrolled_roster
    before = snapshot(app)
    kept = purge(app, when=LAST_DAY)
    assert kept.exit_code == 0 and "programmes" not in kept.output, kept.output
    assert snapshot(app) == before
    dry = purge(app, "--dry-run")
    assert "programmes: 1" in dry.output and snapshot(app) == before, dry.output

    result = purge_keeping_ledgers_and_statistics(client)
    for line in ("programmes: 1", "roster_entries: 3", "job_rows: 3", "roster_report_rows: 3"):
        assert line in result.output, result.output
    assert "people_anonymised: 2" in result.output and "people_kept: 1" in result.output
    assert _programme_rows(app) == (0, 0, 0)
    assert person_of(app, listed[0]) is not None
    assert [person_of(app, r) for r in listed[1:]] == [None, None]
    [event] = _events(app, "programme.retention_purged")
    assert event["roster_entries"] == 3 and all(isinstance(v, int) for v in event.values())
    assert len(_events(app, "person.retention_anonymised")) == 2
    after = snapshot(app)
    assert "programmes" not in purge(app).output and snapshot(app) == after  # rerun: nothing
    assert all(r.certno not in str(after) for r in listed[1:])


def test_a_sponsored_person_is_anonymised_once_her_own_account_closes(
    client, seeded, enrolled_roster
):
    """The first resident was kept at the roster's end (her account's binding held her). She
    closes the account (nothing of hers to keep: no order, no claim); nothing holds her any
    more but the programme's cover, past its retention: the next run anonymises her."""
    app = client.application
    _, _, listed = enrolled_roster
    assert "people_kept: 1" in purge(app).output
    with time_machine.travel(PURGE_DAY, tick=True):
        token = factories.login(seeded, "roster-own-account")["access_token"]
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200, resp.get_json()
    assert person_of(app, listed[0]) is not None  # closure kept her: the cover names her
    result = purge(app, when="2032-01-03T02:00:00+00:00")
    assert "people_anonymised: 1" in result.output, result.output
    assert person_of(app, listed[0]) is None


@pytest.mark.postgres
def test_two_runs_at_once_purge_a_programme_once(client, enrolled_roster, monkeypatch):
    """Two cron runs overlap and both find the programme due: each waits for the other to have
    read it (or 2 s); the second to lock the programme finds its rows gone."""
    import threading

    import app.members.retention as retention

    app = client.application
    real, meet = retention.due_programmes, threading.Barrier(2)

    def due_programmes(*args, **kwargs):
        found = real(*args, **kwargs)
        try:
            meet.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(retention, "due_programmes", due_programmes)
    outputs: list = []

    def run():
        with app.app_context():
            outputs.append(retention.purge_retained())

    with time_machine.travel(PURGE_DAY, tick=True):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(failures == [] for _, failures in outputs), outputs
    assert sorted(c["programmes"] for c, _ in outputs) == [0, 1], outputs
    assert sorted(c["roster_entries"] for c, _ in outputs) == [0, 3], outputs
    assert len(_events(app, "programme.retention_purged")) == 1
    assert len(_events(app, "person.retention_anonymised")) == 2


@pytest.mark.postgres
def test_a_trial_confirmed_while_the_purge_waits_for_it_is_kept(
    client, insured_family, stay, hospital, monkeypatch
):
    """A trial made 200 days ago is confirmed at last: the confirmation has written its
    settlement (which locks the trial's row) and not committed yet when the purge reaches the
    trial. The purge waits for the row, then sees the trial confirmed and keeps it; the
    confirmation commits (no foreign-key failure, nothing half-written)."""
    import threading

    from sqlalchemy import update

    from app.database import transaction, utcnow
    from app.direct_settlement import booking, services
    from app.direct_settlement.models import Institution
    from app.members.retention_records import delete_old_trials

    app = client.application
    _, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    with app.app_context():
        with transaction() as s:
            made = s.scalar(select(DirectTrial.created_at))
            s.execute(update(DirectTrial).values(created_at=made - timedelta(days=200)))
            row = s.scalar(select(Institution))
            inst = services.InstitutionKey(
                row.id, row.key_id, row.public_key, row.fixmedins_code, row.name
            )
            trial_id = s.scalar(select(DirectTrial.id))
    written, go = threading.Event(), threading.Event()
    real = booking.count_publicly

    def count_publicly(*args, **kwargs):  # the confirmation's last write before its commit
        real(*args, **kwargs)
        written.set()
        go.wait(timeout=10)

    monkeypatch.setattr(booking, "count_publicly", count_publicly)
    outcome: dict = {}

    def confirm():
        with app.app_context():
            try:
                outcome["confirm"] = services.confirm(inst, trial["trial_no"], "SN0001")["status"]
            finally:
                get_session().close()

    def sweep():
        with app.app_context():
            with transaction() as s:
                outcome["purge"] = delete_old_trials(s, utcnow(), 180, 0)
            get_session().close()

    counter = threading.Thread(target=confirm)
    counter.start()
    assert written.wait(timeout=10)
    purging = threading.Thread(target=sweep)
    purging.start()
    purging.join(timeout=0.5)
    assert purging.is_alive()  # waiting for the trial's row
    go.set()
    counter.join()
    purging.join()
    assert outcome == {"confirm": "confirmed", "purge": (trial_id, 0)}
    assert set(trials(client.application)) == {trial["trial_no"]}


@pytest.mark.postgres
def test_a_confirmation_whose_trial_the_purge_deleted_meanwhile_is_told_so(
    client, insured_family, stay, hospital, monkeypatch
):
    """The other order: the confirmation read its trial, then the purge deleted it (past its
    retention) before the confirmation wrote its settlement. The confirmation is refused as for
    an unknown trial (404, not 409 `direct_episode_claimed`), and nothing of it is written."""
    from sqlalchemy import delete

    from app.claims.models import Claim
    from app.direct_settlement import booking

    app = client.application
    _, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    real = booking.hold_caps

    def hold_caps(*args, **kwargs):  # just before the settlement is written
        real(*args, **kwargs)
        with app.extensions["db_engine"].begin() as other:  # another transaction: the purge
            other.execute(delete(DirectTrial.__table__))

    monkeypatch.setattr(booking, "hold_caps", hold_caps)
    status, refused = hospital.confirm(trial["trial_no"], "SN0001")
    assert (status, refused["code"]) == (404, "direct_trial_unknown"), refused
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Claim)) == 0
        get_session().rollback()
