"""The counter quotes the bureau's 5204 lines, as a member's claim of the same stay is quoted:
lines spread otherwise over the same totals are refused, not paid otherwise."""

from __future__ import annotations

from tests.direct_settlement.conftest import copy


def _self_paid(stay) -> list[dict]:
    return [l for l in stay["feedetail"] if l["chrgitm_lv"] == "03"]


def test_lines_other_than_the_bureaus_are_refused_with_what_differs(app, stay, hospital):
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, trial
    # the same totals, 5,000 yuan of wholly self-paid cost moved from one drug to another
    moved = copy(stay)
    first, second = _self_paid(moved)[:2]
    for line, delta in ((first, -500000), (second, 500000)):
        line["det_item_fee_sumamt_fen"] += delta
        line["fulamt_ownpay_amt_fen"] += delta
    status, body = hospital.trial(moved["setlinfo"], moved["feedetail"])
    assert (status, body["code"]) == (422, "direct_amounts_mismatch"), body
    assert "医保结算明细" in body["detail"] and first["feedetl_sn"] in body["detail"]

    dropped = copy(stay)
    gone = dropped["feedetail"].pop()
    dropped["feedetail"][-1]["det_item_fee_sumamt_fen"] += gone["det_item_fee_sumamt_fen"]
    dropped["feedetail"][-1]["fulamt_ownpay_amt_fen"] += gone["fulamt_ownpay_amt_fen"]
    status, body = hospital.trial(dropped["setlinfo"], dropped["feedetail"])
    assert (status, body["code"]) == (422, "direct_amounts_mismatch"), body
    assert gone["feedetl_sn"] in body["detail"]

    # the bureau's lines under the hospital's own names are the same lines
    renamed = copy(stay)
    for line in renamed["feedetail"]:
        line["name"] = "本院名称 " + line["name"]
    status, again = hospital.trial(renamed["setlinfo"], renamed["feedetail"])
    assert status == 200 and again["payable_fen"] == trial["payable_fen"], again
