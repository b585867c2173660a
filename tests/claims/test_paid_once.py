"""Paid once (a care episode is paid by at most one claim): the README's scenario, a photographed
claim for 李娜's day surgery paid and then the one-tap claim on the bureau's record of the same
stay, is caught and held for review and pays only the difference of a re-computation."""

from __future__ import annotations

from sqlalchemy import func, select

from app.common.money import yuan
from tests.claims.conftest import key
from tests.claims.test_flow import (
    _draft_for,
    ledger_consistent,
    one_tap,
    policy_of,
    records,
    upload,
)
from tests.conftest import bearer

DOCS = ("invoice", "settlement_sheet", "discharge_summary")


def _filed(client, family, **extra) -> dict:
    draft = _draft_for(client, family, "李娜", **extra)
    for doc_type in DOCS:
        assert upload(client, family["token"], draft["id"], doc_type).status_code == 201
    resp = client.post(
        f"/claims/{draft['id']}/submit", headers={**bearer(family["token"]), **key()}
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _approve(client, reviewer, claim_id) -> dict:
    staff = bearer(reviewer)
    assert (
        client.post(f"/staff/claims/{claim_id}/assign", headers=staff, json={}).status_code == 200
    )
    resp = client.post(
        f"/staff/claims/{claim_id}/approve", headers={**staff, **key()}, json={"reason": "核对无误"}
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _paid_total(app) -> int:
    with app.app_context():
        from app.claims.models import AccumulatorEntry, Payout
        from app.database import get_session

        s = get_session()
        paid = s.scalar(
            select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
                Payout.status == "succeeded"
            )
        )
        counted = s.scalar(
            select(func.coalesce(func.sum(AccumulatorEntry.value_fen), 0)).where(
                AccumulatorEntry.kind == "paid"
            )
        )
        assert paid == counted  # the accumulators count what was paid, once
        return paid


def test_the_one_tap_claim_on_a_stay_already_paid_is_held_and_pays_no_more(
    app, client, insured_family, reviewer
):
    token = insured_family["token"]
    photo = _filed(client, insured_family)
    assert photo["status"] == "pending_review"
    first = _approve(client, reviewer, photo["id"])
    assert first["status"] == "paid" and first["paid_fen"] == 750_000  # 7,500.00 yuan

    # the bureau's record of the same stay is no longer claimable, and says why
    stay = [r for r in records(client, insured_family, "李娜") if r["admitted_on"] == "2026-04-08"]
    assert len(stay) == 1
    assert stay[0]["claimable"] is False and stay[0]["claim_id"] == photo["id"]
    assert photo["claim_no"] in stay[0]["not_claimable_reason"]
    others = [
        r for r in records(client, insured_family, "李娜") if r["admitted_on"] != "2026-04-08"
    ]
    assert all(r["claimable"] and r["not_claimable_reason"] is None for r in others)

    # a one-tap claim on it anyway: caught, never approved automatically, nothing paid
    tap = one_tap(
        client,
        insured_family,
        "李娜",
        stay[0]["setl_id"],
        {"name": "李娜", "bank_name": "工商银行", "bank_account": "6222020200112233445"},
    )
    assert tap.status_code == 201, tap.get_json()
    held = tap.get_json()
    assert held["status"] == "pending_review" and held["paid_fen"] == 0
    assert held["adjudication"]["episode"] == {
        "supplement_of": [photo["claim_no"]],
        "previous_fen": 750_000,
        "recomputed_fen": 0,  # the bureau's own figures, alone, stay inside the deductible
        "payable_fen": 0,
    }
    staff = client.get(f"/staff/claims/{held['id']}", headers=bearer(reviewer)).get_json()
    flag = [f for f in staff["flags"] if f["code"] == "same_episode"]
    assert flag and photo["claim_no"] in flag[0]["zh"]
    queue = client.get("/staff/claims?flag=same_episode", headers=bearer(reviewer)).get_json()
    assert [c["id"] for c in queue] == [held["id"]]

    # the reviewer approves it: nothing more to pay, closed
    done = _approve(client, reviewer, held["id"])
    assert done["status"] == "closed" and done["approved_fen"] == 0
    assert _paid_total(app) == 750_000
    assert ledger_consistent(app)
    mine = client.get(f"/claims/{held['id']}", headers=bearer(token)).get_json()
    assert mine["transitions"][-1]["reason"] == "同一次就医已足额赔付，本次无差额可补付"


def test_a_supplement_typing_the_bureaus_out_of_policy_money_as_in_policy_is_flagged(
    app, client, insured_family, reviewer
):
    """The one-tap claim came from the bureau's record of the stay; a photographed claim for the
    same stay types more in-policy self-pay than that record says: the reviewer is told, with
    both splits (it would be paid at the in-policy ratio)."""
    [stay] = [
        r for r in records(client, insured_family, "李娜") if r["admitted_on"] == "2026-04-08"
    ]
    payee = {"name": "李娜", "bank_name": "工商银行", "bank_account": "6222020200112233445"}
    tap = one_tap(client, insured_family, "李娜", stay["setl_id"], payee).get_json()
    whole = tap["in_policy_self_pay_fen"] + tap["out_of_policy_self_pay_fen"]
    total = 4_000_000 + whole  # basic insurance paid 40,000 yuan in this claim's figures
    later = _filed(
        client,
        insured_family,
        medfee_sumamt_fen=total,
        in_policy_self_pay_fen=whole,
        out_of_policy_self_pay_fen=0,
        invoices=[{"issuer": "赣州市人民医院", "number": "36000026009999", "amount_fen": total}],
    )
    assert later["status"] == "pending_review"
    staff = client.get(f"/staff/claims/{later['id']}", headers=bearer(reviewer)).get_json()
    [flag] = [f for f in staff["flags"] if f["code"] == "episode_amounts_differ"]
    assert tap["claim_no"] in flag["zh"] and yuan(whole) in flag["zh"]


def test_a_supplement_pays_only_the_difference_of_the_recomputation(
    app, client, insured_family, reviewer
):
    whole = {
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
    }
    est = client.post(
        "/claims/estimate",
        headers=bearer(insured_family["token"]),
        json={
            "policy_id": policy_of(insured_family, "李娜")["id"],
            "care_kind": "day_surgery",
            "care_date": "2026-04-08",
            **whole,
        },
    )
    assert est.status_code == 200, est.get_json()
    recomputed = est.get_json()["payable_fen"]

    # first only part of the bills
    part = _filed(
        client,
        insured_family,
        medfee_sumamt_fen=6_000_000,
        hifp_pay_fen=4_000_000,
        in_policy_self_pay_fen=2_000_000,
        out_of_policy_self_pay_fen=0,
    )
    first = _approve(client, reviewer, part["id"])
    assert first["status"] == "paid" and 0 < first["paid_fen"] < recomputed

    # then the whole stay (the same hospital and day): a supplement
    again = _filed(
        client,
        insured_family,
        invoices=[
            {"issuer": "赣州市人民医院", "number": "36000026009999", "amount_fen": 8_000_000}
        ],
        **whole,
    )
    assert again["status"] == "pending_review"
    assert again["adjudication"]["episode"]["payable_fen"] == recomputed - first["paid_fen"]
    second = _approve(client, reviewer, again["id"])
    assert second["status"] == "paid"
    assert second["paid_fen"] == recomputed - first["paid_fen"]
    assert second["adjudication"]["episode"] == {
        "supplement_of": [part["claim_no"]],
        "previous_fen": first["paid_fen"],
        "recomputed_fen": recomputed,
        "payable_fen": recomputed - first["paid_fen"],
    }
    # the only 本次赔付合计 is what this claim pays; the engine's figure is the whole episode's
    codes = [line["code"] for line in second["adjudication"]["lines"]]
    assert codes[-3:] == ["episode_recomputed_total", "episode_supplement", "payable_total"]
    assert codes.count("payable_total") == 1
    assert second["adjudication"]["lines"][-1]["zh"] == (
        f"本次赔付合计 {yuan(recomputed - first['paid_fen'])} 元"
    )
    # the episode was paid what the terms promise for it, once
    assert _paid_total(app) == recomputed
    assert ledger_consistent(app)


def test_a_different_stay_is_not_a_supplement(app, client, insured_family, reviewer):
    photo = _filed(client, insured_family)
    _approve(client, reviewer, photo["id"])
    later = _filed(
        client,
        insured_family,
        admitted_on="2026-04-20",
        discharged_on="2026-04-20",
        invoices=[
            {"issuer": "赣州市人民医院", "number": "36000026005555", "amount_fen": 8_000_000}
        ],
    )
    staff = client.get(f"/staff/claims/{later['id']}", headers=bearer(reviewer)).get_json()
    assert "same_episode" not in [f["code"] for f in staff["flags"]]
    assert "episode" not in later["adjudication"]


def test_the_estimate_re_verifies_a_stale_identity_as_the_claim_does(app, client, insured_family):
    """Found: the estimator quoted on the old snapshot where the claim, which re-verifies, was
    refused. 张伟's basic insurance is suspended from 2026-02-01 at the bureau now."""
    from datetime import date

    from app.database import transaction
    from app.integrations.bureau.sandbox_models import SandboxResident
    from app.members.models import Person

    with app.app_context(), transaction() as s:
        psn_no = s.scalar(select(Person.psn_no).where(Person.name == "张伟"))
        row = s.scalar(select(SandboxResident).where(SandboxResident.psn_no == psn_no))
        row.psn_insu_stas, row.paus_insu_date = "2", date(2026, 2, 1)
    stroke = max(
        (r for r in records(client, insured_family, "张伟") if r["claimable"]),
        key=lambda r: r["medfee_sumamt_fen"],
    )
    est = client.post(
        "/claims/estimate",
        headers=bearer(insured_family["token"]),
        json={"policy_id": policy_of(insured_family, "张伟")["id"], "setl_id": stroke["setl_id"]},
    )
    assert est.status_code == 200, est.get_json()
    assert est.get_json()["payable_fen"] == 0
    assert "basic_insurance_suspended" in est.get_json()["reason_codes"]
    claim = one_tap(client, insured_family, "张伟", stroke["setl_id"]).get_json()
    assert claim["status"] == "rejected" and claim["paid_fen"] == 0
