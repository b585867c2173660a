"""Each bad request is a coded 4xx that changes nothing: unknown person or episode, a policy
not in force on the date of care, amounts that do not add up, a replayed signature, a stale
timestamp, a bad signature, an unknown key."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from tests.direct_settlement.conftest import copy


def _counts(app) -> dict:
    with app.app_context():
        from app.claims.models import AccumulatorEntry, Claim
        from app.database import get_session
        from app.direct_settlement.models import DirectSettlement, DirectTrial, HospitalLedgerEntry
        from app.outbox.models import OutboxEvent

        s = get_session()
        return {
            m.__name__: s.scalar(select(func.count()).select_from(m))
            for m in (
                Claim,
                AccumulatorEntry,
                OutboxEvent,
                DirectTrial,
                DirectSettlement,
                HospitalLedgerEntry,
            )
        }


def _set(stay, **changes):
    bad = copy(stay)
    bad["setlinfo"].update(changes)
    return bad


def _unknown_person(stay):
    bad = _set(stay, psn_no="36999999999999999999")
    for line in bad["feedetail"]:
        line["psn_no"] = "36999999999999999999"
    return bad


def _unknown_episode(stay):
    bad = _set(stay, mdtrt_id="NO-SUCH-VISIT")
    for line in bad["feedetail"]:
        line["mdtrt_id"] = "NO-SUCH-VISIT"
    return bad


def _total_off(stay):
    return _set(stay, medfee_sumamt_fen=stay["setlinfo"]["medfee_sumamt_fen"] + 100)


def _line_off(stay):
    bad = copy(stay)
    bad["feedetail"][0]["det_item_fee_sumamt_fen"] += 100
    bad["feedetail"][0]["fulamt_ownpay_amt_fen"] += 100
    return bad


def _funds_differ(stay):
    # adds up on its own, but the bureau paid something else
    s = stay["setlinfo"]
    return _set(
        stay,
        hifp_pay_fen=s["hifp_pay_fen"] - 100,
        psn_part_amt_fen=s["psn_part_amt_fen"] + 100,
        psn_cash_pay_fen=s["psn_cash_pay_fen"] + 100,
    )


def _not_in_force(stay):
    return _set(stay, begndate="2025-06-01", enddate="2025-06-05")


def _diagnosis_differs(stay):
    # the diagnosis decides whether a chronic out-patient visit is covered (一类门诊慢特病)
    return _set(stay, dise_codg="N18.500")


def _no_amount(stay):
    bad = copy(stay)
    del bad["setlinfo"]["medfee_sumamt_fen"]
    return bad


def _fen_as_yuan(stay):
    return _set(stay, medfee_sumamt_fen=123.45)


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (_unknown_person, 404, "direct_person_unknown"),
        (_unknown_episode, 404, "direct_episode_unknown"),
        (_total_off, 422, "direct_amounts_mismatch"),
        (_line_off, 422, "direct_amounts_mismatch"),
        (_funds_differ, 422, "direct_amounts_mismatch"),
        (_not_in_force, 422, "direct_amounts_mismatch"),  # not the stay the bureau settled
        (_diagnosis_differs, 422, "direct_amounts_mismatch"),
        (_no_amount, 422, "direct_request_invalid"),
        (_fen_as_yuan, 422, "direct_request_invalid"),
    ],
)
def test_bad_settlements_are_refused_and_change_nothing(app, stay, hospital, make, status, code):
    before = _counts(app)
    bad = make(stay)
    got, body = hospital.trial(bad["setlinfo"], bad["feedetail"])
    assert (got, body["code"]) == (status, code), body
    assert body["detail"]
    assert _counts(app) == before


def _line_level_unknown(stay):
    bad = copy(stay)
    bad["feedetail"][0]["chrgitm_lv"] = "04"
    return bad


def _line_count_nan(stay):
    bad = copy(stay)
    bad["feedetail"][0]["cnt"] = "NaN"
    return bad


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (_no_amount, "setlinfo 缺少字段：medfee_sumamt_fen"),
        (lambda stay: _set(stay, psn_no=360700990000000), "setlinfo.psn_no 取值不合规"),
        (lambda stay: _set(stay, hifp_pay_fen=-1), "setlinfo.hifp_pay_fen 取值不合规"),
        (_line_level_unknown, "feedetail.chrgitm_lv 取值不合规"),
        (_line_count_nan, "feedetail.cnt 取值不合规"),
    ],
)
def test_an_unreadable_settlement_is_explained_in_chinese(app, stay, hospital, make, field):
    """The hospital's staff read the refusal: it names the field in Chinese, never only the
    record's English check or Python's own words ("__init__() missing ... argument")."""
    bad = make(stay)
    got, body = hospital.trial(bad["setlinfo"], bad["feedetail"])
    assert (got, body["code"]) == (422, "direct_request_invalid"), body
    assert body["detail"].startswith(field), body["detail"]
    assert "__init__" not in body["detail"]


def test_a_policy_not_in_force_on_the_date_of_care(app, stay, hospital):
    """The bureau's own record, for care before the cover began (the policy starts 2026-01-01)."""
    with app.app_context():
        from app.database import get_session
        from app.policies.models import Policy

        s = get_session()
        for policy in s.scalars(select(Policy)):
            policy.coverage_start = policy.coverage_end
        s.commit()
    before = _counts(app)
    got, body = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (got, body["code"]) == (422, "direct_policy_not_in_force")
    assert _counts(app) == before


def test_a_policy_surrendered_after_the_trial_is_named_at_the_confirmation(app, stay, hospital):
    """The trial was quoted; the policy was surrendered before the hospital confirmed: the
    refusal says so (not merely that the day is outside cover), and nothing is written."""
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    with app.app_context():
        from app.database import get_session
        from app.policies.models import Policy, PolicyStatus

        s = get_session()
        numbers = []
        for policy in s.scalars(select(Policy)):
            policy.status = PolicyStatus.SURRENDERED
            numbers.append(policy.policy_no)
        s.commit()
    before = _counts(app)
    got, body = hospital.confirm(trial["trial_no"], "SN-SURRENDERED")
    assert (got, body["code"]) == (422, "direct_policy_not_in_force")
    assert "已退保" in body["detail"] and any(n in body["detail"] for n in numbers)
    assert _counts(app) == before


def _post(client, path, headers, body):
    resp = client.post(path, headers=headers, data=body)
    return resp.status_code, resp.get_json()


def test_replayed_stale_unsigned_and_forged_requests(app, client, stay, hospital):
    path = "/direct-settlement/v1/trial"
    body = json.dumps(stay, ensure_ascii=False).encode()
    before = _counts(app)

    headers = hospital.headers("POST", path, body)
    assert _post(client, path, headers, body)[0] == 200
    after_first = _counts(app)
    status, err = _post(client, path, headers, body)  # the very same request again
    assert (status, err["code"]) == (409, "direct_replayed")
    assert _counts(app) == after_first

    stale = hospital.headers("POST", path, body, timestamp=int(time.time()) - 400)
    assert _post(client, path, stale, body)[1]["code"] == "direct_timestamp_stale"
    future = hospital.headers("POST", path, body, timestamp=int(time.time()) + 400)
    assert _post(client, path, future, body)[1]["code"] == "direct_timestamp_stale"

    tampered = body.replace(b'"psn_name": "', b'"psn_name": "X')
    status, err = _post(client, path, hospital.headers("POST", path, body), tampered)
    assert (status, err["code"]) == (401, "direct_signature_invalid")

    unknown = {**hospital.headers("POST", path, body), "X-Inst-Key-Id": "nobody"}
    assert _post(client, path, unknown, body)[1]["code"] == "direct_institution_unknown"
    for header in ("X-Signature", "X-Nonce", "X-Timestamp", "X-Inst-Key-Id"):
        missing = {k: v for k, v in hospital.headers("POST", path, body).items() if k != header}
        status, err = _post(client, path, missing, body)
        assert (status, err["code"]) == (401, "direct_signature_missing"), header
    assert _counts(app)["DirectTrial"] == before["DirectTrial"] + 1  # only the first one


def test_confirming_an_unknown_trial_or_reusing_a_number(app, stay, hospital):
    assert hospital.confirm("DT-NONE", "SN1")[1]["code"] == "direct_trial_unknown"
    assert hospital.query("SN404")[1]["code"] == "direct_settlement_unknown"
    assert hospital.cancel("SN404")[1]["code"] == "direct_settlement_unknown"
    first = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    second = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    assert hospital.confirm(first["trial_no"], "SN1")[0] == 200
    status, err = hospital.confirm(second["trial_no"], "SN1")
    assert (status, err["code"]) == (409, "direct_settlement_number_used")
    status, err = hospital.confirm(second["trial_no"], "SN2")
    assert (status, err["code"]) == (409, "direct_episode_claimed")
    status, err = hospital.confirm(first["trial_no"], "SN3")
    assert (status, err["code"]) == (409, "direct_trial_confirmed")


def test_an_amount_above_the_automatic_limit_goes_to_a_reviewer_instead(
    app, stay, hospital, monkeypatch
):
    from app.products import services as products

    real = products.definition_by_digest

    def lowered(*args):
        import dataclasses

        return dataclasses.replace(real(*args), auto_approve_max_fen=100)

    monkeypatch.setattr("app.direct_settlement.stay.definition_by_digest", lowered)
    before = _counts(app)
    status, err = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, err["code"]) == (409, "direct_needs_review")
    assert "自动核准上限" in err["detail"]
    assert _counts(app) == before


def test_another_hospital_cannot_see_confirm_or_cancel_these_settlements(app, stay, hospital):
    from app.direct_settlement.ledger import register_institution
    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.signer import sandbox_keys as k

    trial = hospital.trial(stay["setlinfo"], stay["feedetail"])[1]
    done = hospital.confirm(trial["trial_no"], "SN1")[1]
    with app.app_context():
        register_institution(
            code="H36079999999",
            name="另一家医院",
            key_id="other-hospital",
            public_key=k.SANDBOX_PUBLIC_KEY,
            payee_name="另一家医院",
            payee_bank_name="中国银行赣州分行",
            payee_account="6222000011115678",
        )
    other = SandboxHospital(hospital.signer, "other-hospital", k.SANDBOX_PRIVATE_KEY, hospital.send)
    before = _counts(app)
    for status, err in (other.query("SN1"), other.cancel("SN1")):
        assert (status, err["code"]) == (404, "direct_settlement_unknown")
    status, err = other.confirm(trial["trial_no"], "SN2")
    assert (status, err["code"]) == (404, "direct_trial_unknown")
    status, err = other.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, err["code"]) == (403, "direct_institution_mismatch")
    assert _counts(app) == before
    assert hospital.query("SN1") == (200, done)


def test_a_hospital_is_not_registered_under_a_key_that_is_no_point_of_the_curve(app):
    from app.database import read_scope
    from app.direct_settlement.ledger import register_institution
    from app.direct_settlement.models import Institution
    from app.integrations.signer import sandbox_keys as k

    good = k.SANDBOX_PUBLIC_KEY
    for bad in (good[:127] + "\n", "0" * 128, good[:-2], "zz" * 64):
        with app.app_context(), pytest.raises(ValueError, match="public key"):
            register_institution(
                code="H36079999998",
                name="键入错误的医院",
                key_id="typo-hospital",
                public_key=bad,
                payee_name="键入错误的医院",
                payee_bank_name="中国银行赣州分行",
                payee_account="6222000011115678",
            )
    with app.app_context(), read_scope() as s:
        assert s.scalar(select(Institution).where(Institution.key_id == "typo-hospital")) is None


def test_production_registers_no_hospital_under_the_sandbox_key(app_factory):
    """The sandbox key pair's private half is in the repository: in production neither
    `add-sandbox-hospital` nor `add-institution` with its public key may register a hospital
    (anyone could then sign that hospital's settlements)."""
    from app.database import read_scope
    from app.direct_settlement.cli import direct_settlement_cli
    from app.direct_settlement.ledger import register_institution
    from app.direct_settlement.models import Institution
    from app.integrations.signer import sandbox_keys as k

    app = app_factory(PROFILE="production")
    runner = app.test_cli_runner()
    result = runner.invoke(direct_settlement_cli, ["add-sandbox-hospital", "--code", "H1"])
    assert result.exit_code != 0 and "sandbox" in str(result.exception or result.output)
    with app.app_context(), pytest.raises(ValueError, match="sandbox"):
        register_institution(
            code="H2",
            name="某医院",
            key_id="h2",
            public_key=k.SANDBOX_PUBLIC_KEY.upper(),
            payee_name="某医院",
            payee_bank_name="中国银行赣州分行",
            payee_account="6222000011115678",
        )
    with app.app_context(), read_scope() as s:
        assert s.scalar(select(func.count()).select_from(Institution)) == 0
    # outside production the sandbox hospital is what the demo and the tests use
    other = app_factory(DIRECT_TIMESTAMP_WINDOW_SECONDS=300)
    result = other.test_cli_runner().invoke(
        direct_settlement_cli, ["add-sandbox-hospital", "--code", "H1"]
    )
    assert result.exit_code == 0, result.output
