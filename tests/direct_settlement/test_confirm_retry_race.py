"""A hospital that sends its confirmation again while the first is still in flight (a timeout
and a retry, the same trial and settlement number) gets the same answer, as a retry after it
finished does. PostgreSQL only (two transactions at once)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.database import get_session


@pytest.mark.postgres
def test_a_retry_racing_its_own_confirmation_gets_the_same_answer(app, stay, hospital, monkeypatch):
    from app.claims import accumulators
    from app.direct_settlement import services
    from app.direct_settlement.models import Institution

    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    with app.app_context():
        row = get_session().scalar(select(Institution))
        inst = services.InstitutionKey(
            row.id, row.key_id, row.public_key, row.fixmedins_code, row.name
        )
        get_session().close()

    real_lock = accumulators.lock_year
    first_locked = threading.Event()
    retry_checked = threading.Event()  # the retry found no settlement and goes to lock

    def lock_year(s, *args):
        if threading.current_thread().name == "first":
            held = real_lock(s, *args)
            first_locked.set()
            assert retry_checked.wait(10)  # the first holds the year until the retry came
            return held
        retry_checked.set()
        return real_lock(s, *args)  # waits for the first to commit

    monkeypatch.setattr(accumulators, "lock_year", lock_year)
    answers: dict[str, object] = {}

    def confirm(name):
        with app.app_context():
            try:
                answers[name] = services.confirm(inst, trial["trial_no"], "SNRETRY")
            except Exception as exc:
                answers[name] = getattr(exc, "code", repr(exc))
            finally:
                get_session().close()

    first = threading.Thread(target=confirm, args=("first",), name="first")
    first.start()
    assert first_locked.wait(30), answers
    retry = threading.Thread(target=confirm, args=("retry",), name="retry")
    retry.start()
    first.join(30)
    retry.join(30)
    assert isinstance(answers["first"], dict), answers
    assert answers["retry"] == answers["first"], answers  # not 409 direct_episode_claimed
