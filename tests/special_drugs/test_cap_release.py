"""A purchase claim's cap reservation against the drug's annual cap, when its claim is rejected.

李娜 is approved for 恩美曲妥珠单抗, capped at 150,000 yuan a year (tests/special_drugs/test_flow).

- A purchase reserves its counted part when it is filed. A rejection of its claim is not final
  while the member may still take it further (复核 of a reviewer's rejection within
  CLAIM_RECHECK_DAYS, a human review of an automatic one): the reservation stays. It comes back
  when the rejection is final (`flask claims release-final-rejections`: the window passed with
  no request, or the recheck upheld it), once. A later approval (a human review of an automatic
  rejection has no window) takes it again, within what is left of the cap.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.claims.models import Claim
from app.database import get_session, utcnow
from app.special_drugs.models import SpecialDrugPurchase, SpecialDrugUsage
from tests.claims.test_recheck import second_reviewer, staff_reject  # noqa: F401
from tests.conftest import bearer
from tests.special_drugs.conftest import at_once
from tests.special_drugs.test_flow import CAP, _approve_claim, _purchase, approved


def _used(app) -> int:
    with app.app_context():
        s = get_session()
        used = s.scalar(select(SpecialDrugUsage.used_fen))
        s.rollback()
        return used or 0


def _purchase_status(app, purchase_id) -> tuple[str, int]:
    with app.app_context():
        s = get_session()
        row = s.get(SpecialDrugPurchase, purchase_id)
        out = (row.status, row.counted_fen)
        s.rollback()
        return out


def _reject(client, reviewer, claim_id):
    return staff_reject(client, reviewer, claim_id, "documents_invalid", "发票与处方不符")


def _decided_days_ago(app, claim_id, days, *, automatic=False):
    """Move the rejection into the past (and, for `automatic`, make it the engine's)."""
    with app.app_context():
        s = get_session()
        values = {"decided_at": utcnow() - timedelta(days=days)}
        if automatic:
            values["auto_rejected"] = True
        s.execute(update(Claim).where(Claim.id == claim_id).values(**values))
        s.commit()


def _release(app) -> int:
    from app.special_drugs.purchases import release_final_rejections

    with app.app_context():
        return release_final_rejections()


def test_a_reviewers_rejection_keeps_the_reservation_until_the_recheck_window_passes(
    app, client, catalogues, insured_family, reviewer
):
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    bought = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    _reject(client, reviewer, bought["claim_id"])
    # within the 30 days of 复核 the rejection is not final: the 100,000 yuan stay reserved
    _decided_days_ago(app, bought["claim_id"], 29)
    assert _release(app) == 0
    assert _used(app) == 10_000_000
    # the window passed with no request: final, the reservation comes back, once
    _decided_days_ago(app, bought["claim_id"], 31)
    ran = app.test_cli_runner().invoke(args=["claims", "release-final-rejections"])
    assert ran.exit_code == 0 and ran.output.strip() == "released: 1", ran.output
    assert _release(app) == 0
    assert _used(app) == 0
    assert _purchase_status(app, bought["id"]) == ("released", 10_000_000)
    # the whole cap is there again for the next purchase
    again = _purchase(client, token, app_id, amount=CAP, number="FP2").get_json()
    assert again["counted_fen"] == CAP


def test_an_upheld_recheck_gives_the_reservation_back_at_once(
    app, client, catalogues, insured_family, reviewer, second_reviewer
):
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    bought = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    claim_id = bought["claim_id"]
    _reject(client, reviewer, claim_id)
    asked = client.post(
        f"/claims/{claim_id}/recheck", headers=bearer(token), json={"reason": "处方无误，请复核"}
    )
    assert asked.status_code == 200, asked.get_json()
    assert _release(app) == 0  # in 复核: not final
    assert _used(app) == 10_000_000
    upheld = _reject(client, second_reviewer, claim_id)
    assert upheld["status"] == "rejected"
    assert _release(app) == 1
    assert _used(app) == 0


def test_a_human_review_after_the_release_takes_only_what_is_left(
    app, client, catalogues, insured_family, reviewer
):
    """The engine's rejection of the 100,000 yuan purchase became final for the cap after 30
    days; an 80,000 yuan purchase then counted in full. The member asks for a human review
    later (an automatic denial has no window), a reviewer approves: what is left of the cap is
    150,000 - 80,000 = 70,000 yuan, so 70,000 count (x 70% = 49,000 yuan paid), said so."""
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    first = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    _reject(client, reviewer, first["claim_id"])
    _decided_days_ago(app, first["claim_id"], 31, automatic=True)
    assert _release(app) == 1
    second = _purchase(client, token, app_id, amount=8_000_000, number="FP2").get_json()
    assert second["counted_fen"] == 8_000_000
    asked = client.post(
        f"/claims/{first['claim_id']}/human-review",
        headers=bearer(token),
        json={"reason": "请人工审核"},
    )
    assert asked.status_code == 200, asked.get_json()
    paid = _approve_claim(client, reviewer, first["claim_id"])
    assert paid["special_drugs_fen"] == 7_000_000
    assert paid["out_of_policy_self_pay_fen"] == 3_000_000
    assert paid["approved_fen"] == 4_900_000
    assert _used(app) == CAP
    assert _purchase_status(app, first["id"]) == ("submitted", 7_000_000)
    said = [
        l["zh"] for l in paid["adjudication"]["lines"] if l["code"] == "special_drug_annual_cap"
    ]
    assert said and "年度剩余额度 70,000.00 元，30,000.00 元不计入" in said[0]
    # the explanation is kept when the purge erases the invoice number: it must not name it
    assert "FP1" not in str(paid["adjudication"])


@pytest.mark.postgres
def test_the_release_and_a_human_review_at_once_never_pass_the_cap(
    app, client, catalogues, insured_family, reviewer
):
    """The job finds the automatic rejection final while the member asks for a human review:
    whichever comes first, the approval that follows counts the 100,000 yuan once."""
    token = insured_family["token"]
    app_id, _ = approved(client, insured_family, reviewer)
    bought = _purchase(client, token, app_id, amount=10_000_000, number="FP1").get_json()
    _reject(client, reviewer, bought["claim_id"])
    _decided_days_ago(app, bought["claim_id"], 31, automatic=True)

    def release(_client):
        return _release(app)

    def ask(c):
        return c.post(
            f"/claims/{bought['claim_id']}/human-review",
            headers=bearer(token),
            json={"reason": "请人工审核"},
        ).status_code

    answers = at_once(app, released=release, asked=ask)
    assert answers["asked"] == 200
    assert _used(app) == (0 if answers["released"] else 10_000_000)
    paid = _approve_claim(client, reviewer, bought["claim_id"])
    assert paid["special_drugs_fen"] == 10_000_000 and paid["status"] == "paid"
    assert _used(app) == 10_000_000
    assert _purchase_status(app, bought["id"]) == ("submitted", 10_000_000)
