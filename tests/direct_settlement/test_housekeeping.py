"""Housekeeping of the counter: used nonces purged once no request can replay them (in batches,
never opening a replay), and hospital statements cut off at a day (Asia/Shanghai), by default
yesterday, with `flask ledger check` balanced after each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select, update

from tests.direct_settlement.conftest import _send


def _nonces(app) -> list[str]:
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import DirectNonce

        return sorted(get_session().scalars(select(DirectNonce.nonce)))


def test_purge_deletes_only_nonces_past_twice_the_window_and_the_margin_in_batches(app):
    from app.database import transaction, utcnow
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.direct_settlement.models import DirectNonce

    with app.app_context():
        inst = register_sandbox_hospital("H36070200001", "沙箱医院")
        window = app.config["DIRECT_TIMESTAMP_WINDOW_SECONDS"]
        keep = 2 * window + 3600  # the default margin
        now = utcnow()
        with transaction() as s:
            for n in range(5):  # past keeping: an hour and a bit older than two windows
                s.add(
                    DirectNonce(
                        institution_id=inst,
                        nonce=f"old{n:013d}",
                        created_at=now - timedelta(seconds=keep + 60 + n),
                    )
                )
            for n, age in enumerate((0, keep - 60)):  # still replayable (or nearly)
                s.add(
                    DirectNonce(
                        institution_id=inst,
                        nonce=f"new{n:013d}",
                        created_at=now - timedelta(seconds=age),
                    )
                )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["direct-settlement", "purge-nonces", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "purged 5 nonces"  # 2 + 2 + 1: three batches
    assert _nonces(app) == ["new0000000000000", "new0000000000001"]
    assert runner.invoke(args=["direct-settlement", "purge-nonces"]).output.strip() == (
        "purged 0 nonces"
    )


def test_a_purged_nonce_can_never_be_replayed(app, client, stay, hospital):
    """A request stamped a whole window ahead stays fresh for two windows after its use: its
    nonce is kept exactly that long (margin 0 here), and once purged the replay is stale."""
    from app.direct_settlement.services import purge_nonces

    window = app.config["DIRECT_TIMESTAMP_WINDOW_SECONDS"]
    path = "/direct-settlement/v1/query"
    body = json.dumps({"setl_sn": "SN404"}).encode()
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        headers = hospital.headers("POST", path, body, timestamp=int(start.timestamp()) + window)
        status, err = _send(client)("POST", path, headers, body)
        assert (status, err["code"]) == (404, "direct_settlement_unknown")  # accepted, spent
    with time_machine.travel(start + timedelta(seconds=2 * window), tick=False):
        with app.app_context():
            assert purge_nonces(margin_seconds=0) == 0
        status, err = _send(client)("POST", path, headers, body)
        assert (status, err["code"]) == (409, "direct_replayed")
    with time_machine.travel(start + timedelta(seconds=2 * window + 1), tick=False):
        with app.app_context():
            assert purge_nonces(margin_seconds=0) == 1
        status, err = _send(client)("POST", path, headers, body)
        assert (status, err["code"]) == (401, "direct_timestamp_stale")


# --- statements cut off at a day --------------------------------------------------------------


def _second_stay_at(app, stay: dict) -> dict:
    """Another stay of the same patient at the same hospital, recorded by the sandbox bureau."""
    from app.direct_settlement.sandbox_hospital import plain
    from app.integrations.bureau.sandbox_demo_data import HOSPITALS
    from app.integrations.bureau.sandbox_settlements import add_settlement
    from app.integrations.registry import bureau

    s = stay["setlinfo"]
    index = [code for code, _ in HOSPITALS].index(s["fixmedins_code"])
    with app.app_context():
        record = add_settlement(s["psn_no"], 1_200_000, hospital=index)
        lines = bureau().fee_details(s["psn_no"], record.setl_id, settlement=record) or []
        return {"setlinfo": plain(record), "feedetail": [plain(line) for line in lines]}


def _discharge(hospital, stay, sn) -> dict:
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    status, done = hospital.confirm(trial["trial_no"], sn)
    assert status == 200, done
    return done


def _statements(app, *args) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["direct-settlement", "statements", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _ledger_check(app) -> None:
    check = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert check.exit_code == 0 and "ledger consistent" in check.output, check.output


def test_a_statement_covers_the_settlements_confirmed_up_to_its_cut_off_day(
    app, client, stay, hospital
):
    from app.common.clock import today_shanghai

    with app.app_context():
        today = today_shanghai()
    yesterday = today - timedelta(days=1)
    first = _discharge(hospital, stay, "SN0001")
    second = _discharge(hospital, _second_stay_at(app, stay), "SN0002")
    assert first["amount_fen"] > 0 and second["amount_fen"] > 0
    with app.app_context():  # the first was confirmed yesterday (its reconciliation day)
        from app.database import transaction
        from app.direct_settlement.models import DirectSettlement

        with transaction() as s:
            s.execute(
                update(DirectSettlement)
                .where(DirectSettlement.setl_sn == "SN0001")
                .values(settled_on=yesterday)
            )

    # default cut-off: yesterday -> only the first; today's waits
    [paid] = _statements(app)
    assert (paid["through"], paid["amount_fen"], paid["settlements"], paid["status"]) == (
        yesterday.isoformat(),
        first["amount_fen"],
        1,
        "paid",
    )
    assert _statements(app) == []  # yesterday is paid for
    _ledger_check(app)

    # an explicit cut-off of today pays the rest, once
    [rest] = _statements(app, "--through", today.isoformat())
    assert (rest["through"], rest["amount_fen"], rest["settlements"]) == (
        today.isoformat(),
        second["amount_fen"],
        1,
    )
    assert _statements(app, "--through", today.isoformat()) == []
    _ledger_check(app)
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import HospitalStatement

        total = get_session().scalar(select(func.sum(HospitalStatement.amount_fen)))
        assert total == first["amount_fen"] + second["amount_fen"]


def test_two_statements_on_one_day_each_count_the_settlements_they_pay(app, client, stay, hospital):
    """The README walk pays through today, then discharges again and pays through today once
    more: the second statement pays the new settlement and says so (it said 0, since its
    count only looked at days after the last cut-off)."""
    from app.common.clock import today_shanghai

    with app.app_context():
        today = today_shanghai().isoformat()
    first = _discharge(hospital, stay, "SN0001")
    [one] = _statements(app, "--through", today)
    assert (one["amount_fen"], one["settlements"]) == (first["amount_fen"], 1)
    second = _discharge(hospital, _second_stay_at(app, stay), "SN0002")
    [two] = _statements(app, "--through", today)
    assert (two["amount_fen"], two["settlements"]) == (second["amount_fen"], 1)
    _ledger_check(app)


def test_a_cut_off_before_any_settlement_pays_nothing(app, client, stay, hospital):
    _discharge(hospital, stay, "SN0001")  # confirmed today
    assert _statements(app) == []  # default: yesterday
    assert _statements(app, "--through", "2026-01-01") == []
    result = app.test_cli_runner().invoke(
        args=["direct-settlement", "statements", "--through", "2026-13-01"]
    )
    assert result.exit_code == 2  # not a day: click refuses it
    _ledger_check(app)
