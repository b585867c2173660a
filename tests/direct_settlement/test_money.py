"""Paid once across the counter and the member's own claims; reconciliation with a planted
mismatch (API, staff API, CLI); the hospital statement paid through the payout port and
`flask ledger check`; the sandbox hospital CLI playing a discharge."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests import factories
from tests.claims.test_flow import one_tap
from tests.conftest import bearer


def _today(app) -> str:
    with app.app_context():
        from app.common.clock import today_shanghai

        return today_shanghai().isoformat()


def _discharge(hospital, stay, sn="SN0001") -> dict:
    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    status, done = hospital.confirm(trial["trial_no"], sn)
    assert status == 200, done
    return done


def test_a_stay_settled_at_the_counter_cannot_be_claimed_again(
    client, insured_family, stay, hospital
):
    done = _discharge(hospital, stay)
    resp = one_tap(client, insured_family, "张伟", stay["setlinfo"]["setl_id"])
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "settlement_already_claimed"
    assert done["claim_status"] == "paid"


def test_a_stay_the_member_claimed_cannot_be_settled_at_the_counter(
    app, client, insured_family, stay, hospital
):
    resp = one_tap(client, insured_family, "张伟", stay["setlinfo"]["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    status, err = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, err["code"]) == (409, "direct_episode_claimed")
    assert resp.get_json()["claim_no"] in err["detail"]


def test_a_trial_confirmed_after_the_member_claimed_is_refused(
    app, client, insured_family, stay, hospital
):
    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    assert one_tap(client, insured_family, "张伟", stay["setlinfo"]["setl_id"]).status_code == 201
    status, err = hospital.confirm(trial["trial_no"], "SN0001")
    assert (status, err["code"]) == (409, "direct_episode_claimed")
    with app.app_context():
        from app.claims.models import Claim
        from app.database import get_session

        paid = [c.status for c in get_session().scalars(select(Claim))]
        assert paid.count("paid") == 1


def test_reconciliation_reports_a_planted_mismatch(app, client, seeded, stay, hospital):
    done = _discharge(hospital, stay)
    day, amount = _today(app), done["amount_fen"]
    status, ok = hospital.reconcile(day, 1, amount, [{"setl_sn": "SN0001", "amount_fen": amount}])
    assert status == 200 and ok["matched"] is True and ok["mismatches"] == []

    planted = [
        {"setl_sn": "SN0001", "amount_fen": amount + 1},
        {"setl_sn": "SN9999", "amount_fen": 500},
    ]
    status, bad = hospital.reconcile(day, 2, amount + 501, planted)
    assert status == 200 and bad["matched"] is False
    # counts in the count fields, amounts in the fen fields, the other pair null
    figures = ("ours_count", "theirs_count", "ours_fen", "theirs_fen")
    assert [
        (m["code"], m["setl_sn"], m["zh"], *(m[f] for f in figures)) for m in bad["mismatches"]
    ] == [
        ("count_differs", None, "笔数不一致", 1, 2, None, None),
        ("sum_differs", None, "金额合计不一致", None, None, amount, amount + 501),
        ("amount_differs", "SN0001", "单笔金额不一致", None, None, amount, amount + 1),
        ("missing_here", "SN9999", "医院有、惠民保无（或已撤销）", None, None, None, 500),
    ]

    token = factories.staff_token(seeded, "demo-operator")
    resp = client.get(
        "/staff/direct-settlement/reconciliations?mismatched_only=true", headers=bearer(token)
    )
    assert resp.status_code == 200
    assert [r["id"] for r in resp.get_json()] == [bad["id"]]
    assert resp.get_json()[0]["mismatches"] == bad["mismatches"]
    assert client.get("/staff/direct-settlement/reconciliations").status_code == 401

    result = app.test_cli_runner().invoke(args=["direct-settlement", "reconciliations"])
    assert result.exit_code == 1 and "MISMATCH" in result.output and "SN9999" in result.output
    assert "count_differs  笔数不一致 (ours 1, theirs 2 settlements)" in result.output
    assert f"sum_differs  金额合计不一致 (ours {amount} fen, theirs {amount + 501} fen)" in (
        result.output
    )


def test_a_hospital_missing_a_settlement_we_hold_is_reported_in_fen(
    app, client, seeded, stay, hospital
):
    done = _discharge(hospital, stay)
    day, amount = _today(app), done["amount_fen"]
    status, bad = hospital.reconcile(day, 0, 0, [])
    assert status == 200 and bad["matched"] is False
    assert [(m["code"], m["ours_count"], m["theirs_count"]) for m in bad["mismatches"]][0] == (
        "count_differs",
        1,
        0,
    )
    [missing] = [m for m in bad["mismatches"] if m["code"] == "missing_there"]
    assert (missing["setl_sn"], missing["ours_fen"], missing["theirs_fen"]) == (
        "SN0001",
        amount,
        None,
    )
    assert (missing["ours_count"], missing["theirs_count"]) == (None, None)


def test_the_operator_lists_one_day_and_a_day_that_is_no_date_is_refused(
    app, client, seeded, stay, hospital
):
    done = _discharge(hospital, stay)
    day, amount = _today(app), done["amount_fen"]
    status, today_report = hospital.reconcile(day, 1, amount)
    assert status == 200 and today_report["matched"] is True
    status, other = hospital.reconcile("2026-01-05", 3, 900)  # a day with nothing of ours
    assert status == 200 and other["matched"] is False
    token = bearer(factories.staff_token(seeded, "demo-operator"))
    url = "/staff/direct-settlement/reconciliations"

    listed = client.get(url, headers=token, query_string={"day": day}).get_json()
    assert [r["id"] for r in listed] == [today_report["id"]]
    listed = client.get(url, headers=token, query_string={"day": "2026-01-05"}).get_json()
    assert [r["id"] for r in listed] == [other["id"]]
    listed = client.get(
        url, headers=token, query_string={"day": day, "mismatched_only": "true"}
    ).get_json()
    assert listed == []
    assert client.get(url, headers=token, query_string={"day": "2026-01-06"}).get_json() == []

    for bad in ("notaday", "2026-13-01", "2026-02-30", "2026-1-5x", ""):
        resp = client.get(url, headers=token, query_string={"day": bad})
        assert resp.status_code == 422, (bad, resp.get_json())
        body = resp.get_json()
        assert body["code"] == "validation_failed"
        assert body["errors"]["query"]["day"] == ["日期格式错误"], body

    runner = app.test_cli_runner()
    result = runner.invoke(args=["direct-settlement", "reconciliations", "--day", day])
    assert result.exit_code == 0 and "2026-01-05" not in result.output, result.output
    result = runner.invoke(args=["direct-settlement", "reconciliations", "--day", "2026-01-05"])
    assert result.exit_code == 1 and "count_differs" in result.output


def test_a_reconciliation_in_fractions_of_a_fen_is_refused_not_matched(
    app, client, seeded, stay, hospital
):
    """118800.99 fen is not 118800 fen: the hospital's figures are taken as sent or refused."""
    done = _discharge(hospital, stay)
    day, amount = _today(app), done["amount_fen"]
    for count, total, items in (
        (1, amount + 0.99, None),
        ("1", amount, None),
        (1, amount, [{"setl_sn": "SN0001", "amount_fen": amount + 0.5}]),
    ):
        status, err = hospital.reconcile(day, count, total, items)
        assert (status, err["code"]) == (422, "validation_failed"), err
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import Reconciliation

        assert get_session().scalars(select(Reconciliation)).all() == []


def test_the_hospital_statement_is_paid_and_the_ledgers_balance(app, stay, hospital):
    done = _discharge(hospital, stay)
    runner = app.test_cli_runner()
    statements = ["direct-settlement", "statements", "--through", _today(app)]
    result = runner.invoke(args=statements)
    assert result.exit_code == 0, result.output
    assert '"status": "paid"' in result.output and str(done["amount_fen"]) in result.output
    assert runner.invoke(args=statements).output == ""  # nothing owed
    check = runner.invoke(args=["ledger", "check"])
    assert check.exit_code == 0 and "ledger consistent" in check.output, check.output

    # a cancellation after the hospital was paid: it now owes the amount back
    assert hospital.cancel("SN0001")[0] == 200
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.ledger import balance
        from app.direct_settlement.models import Institution

        inst = get_session().scalar(select(Institution))
        assert balance(get_session(), inst.id) == -done["amount_fen"]
    check = runner.invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output

    # a planted inconsistency is caught
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import HospitalLedgerEntry

        s = get_session()
        s.add(HospitalLedgerEntry(institution_id=inst.id, kind="owed", amount_fen=1))
        s.commit()
    check = runner.invoke(args=["ledger", "check"])
    assert check.exit_code == 1 and "hospital" in check.output


def test_the_sandbox_hospital_cli_plays_a_discharge(app, client, stay, hospital, monkeypatch):
    def request(method, url, headers, content, timeout):
        resp = client.open(
            url.removeprefix("http://sandbox"), method=method, headers=headers, data=content
        )
        return httpx.Response(resp.status_code, content=resp.get_data())

    monkeypatch.setattr(httpx, "request", request)
    s = stay["setlinfo"]
    result = app.test_cli_runner().invoke(
        args=[
            "direct-settlement",
            "sandbox-discharge",
            "--psn-no",
            s["psn_no"],
            "--setl-id",
            s["setl_id"],
            "--setl-sn",
            "SNCLI1",
            "--url",
            "http://sandbox",
            "--cancel",
        ]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == ["trial", "confirm", "query", "cancel"]
    assert all(" 200 " in line for line in lines)
    assert '"status": "cancelled"' in lines[-1]


def test_a_photographed_claim_for_a_stay_settled_at_the_counter_is_held_as_a_supplement(
    client, insured_family, stay, hospital, reviewer
):
    from tests.claims.conftest import key
    from tests.claims.test_flow import _draft_for, upload

    done = _discharge(hospital, stay)
    s = stay["setlinfo"]
    draft = _draft_for(
        client,
        insured_family,
        "张伟",
        care_kind="in_patient",
        hospital_name=s["fixmedins_name"],
        admitted_on=s["begndate"],
        discharged_on=s["enddate"],
        invoices=[{"issuer": s["fixmedins_name"], "number": "3600009", "amount_fen": 8_000_000}],
    )
    for doc_type in ("invoice", "settlement_sheet", "discharge_summary"):
        assert upload(client, insured_family["token"], draft["id"], doc_type).status_code == 201
    resp = client.post(
        f"/claims/{draft['id']}/submit", headers={**bearer(insured_family["token"]), **key()}
    )
    assert resp.status_code == 200, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "pending_review" and claim["paid_fen"] == 0
    assert claim["adjudication"]["episode"]["supplement_of"] == [done["claim_no"]]
    assert claim["adjudication"]["episode"]["previous_fen"] == done["amount_fen"]
    staff = client.get(f"/staff/claims/{claim['id']}", headers=bearer(reviewer)).get_json()
    flag = [f for f in staff["flags"] if f["code"] == "same_episode"]
    assert flag and done["claim_no"] in flag[0]["zh"]


def test_a_day_the_hospital_posted_again_and_that_now_matches_is_no_longer_mismatched(
    app, client, seeded, stay, hospital
):
    """The operator's cron alarm (`reconciliations --mismatched`, exit 1) clears once the
    hospital corrects its figures for the day; the earlier report stays in the history."""
    done = _discharge(hospital, stay)
    day, amount = _today(app), done["amount_fen"]
    status, bad = hospital.reconcile(day, 2, amount + 500)
    assert status == 200 and bad["matched"] is False
    runner = app.test_cli_runner()
    alarm = ["direct-settlement", "reconciliations", "--mismatched"]
    assert runner.invoke(args=alarm).exit_code == 1

    status, ok = hospital.reconcile(day, 1, amount)  # the hospital re-posts the day
    assert status == 200 and ok["matched"] is True
    result = runner.invoke(args=alarm)
    assert result.exit_code == 0 and result.output == "", result.output
    token = factories.staff_token(seeded, "demo-operator")
    resp = client.get(
        "/staff/direct-settlement/reconciliations?mismatched_only=true", headers=bearer(token)
    )
    assert resp.status_code == 200 and resp.get_json() == []
    history = runner.invoke(args=["direct-settlement", "reconciliations"])
    assert history.exit_code == 0 and "MISMATCH" in history.output  # the old report, listed
    resp = client.get("/staff/direct-settlement/reconciliations", headers=bearer(token))
    assert [r["id"] for r in resp.get_json()] == [ok["id"], bad["id"]]
