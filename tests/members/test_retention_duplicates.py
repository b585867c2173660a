"""After the end of retention a claim's settlement and invoice numbers are gone, yet they still
block a second claim: the purge keeps their keyed digests (app/claims/digests.py), which is
what every duplicate check compares. A re-claim of a purged claim's settlement or invoice is
met exactly as a re-claim of a live one; the digest is not the number."""

from __future__ import annotations

import hashlib

import pytest
import time_machine
from sqlalchemy import select

from app.claims.digests import invoice_digest, settlement_digest
from app.claims.models import Claim, ClaimInvoice
from app.database import get_session
from tests import factories
from tests.claims.conftest import ENROLLED_AT, insured_family, key  # noqa: F401
from tests.claims.test_flow import PAYEE, one_tap
from tests.conftest import bearer
from tests.direct_settlement.conftest import hospital, stay  # noqa: F401
from tests.members.test_privacy_http import AFTER_COVER, insured  # noqa: F401
from tests.members.test_retention import PURGE_DAY, closed, purge, snapshot  # noqa: F401
from tests.web.conftest import DOCUMENTS, FILED_AT

INVOICE = ("赣州市人民医院", "36000026001234")  # 李娜's claim's invoice (tests/web/conftest.py)
DUPLICATE_INVOICE = [
    {"code": "duplicate_invoice", "zh": f"发票 {INVOICE[0]}/{INVOICE[1]} 已在其他理赔申请中使用"}
]
DUPLICATE_SETTLEMENT = {
    "code": "duplicate_settlement",
    "zh": "该笔医保结算记录已在其他理赔申请中使用",
}


def _chen_claims_the_same_invoice(app, residents) -> list[dict]:
    """陈静, insured by an account of her own, files a claim with the invoice of 李娜's claim;
    the flags the engine put on it."""
    with time_machine.travel(ENROLLED_AT, tick=True):
        chen = factories.verified_member(app, "dup-chen", residents["陈静"])
        order = factories.order(app, chen["member_id"], pay=True)
    assert order["status"] == "paid", order
    fields = {
        "policy_id": order["policies"][0]["id"],
        "care_kind": "day_surgery",
        "hospital_name": INVOICE[0],
        "admitted_on": "2026-04-08",
        "discharged_on": "2026-04-08",
        "diagnosis": "乳腺良性肿瘤切除",
        "patient_name": "陈静",
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
        "payee": {
            "name": "陈静",
            "bank_name": "中国工商银行赣州分行",
            "bank_account": "6222020200112233446",
        },
        "invoices": [{"issuer": INVOICE[0], "number": INVOICE[1], "amount_fen": 8_000_000}],
    }
    with time_machine.travel(FILED_AT, tick=True):
        made = factories.claim(app, chen["member_id"], fields, documents=DOCUMENTS, submit=True)
    with app.app_context():
        flags = get_session().get(Claim, made["id"]).flags
        get_session().rollback()
    return flags


@pytest.mark.parametrize("purged", [False, True], ids=["live", "purged"])
def test_an_invoice_of_a_purged_claim_is_a_duplicate_as_a_live_ones_is(
    client, closed, residents, purged
):
    """李娜's claim (closed account) is kept (live) or purged: either way 陈静's claim with the
    same invoice gets the same duplicate-invoice flag, which sends it to a reviewer."""
    app = client.application
    if purged:
        result = purge(app)
        assert result.exit_code == 0 and "accounts: 1" in result.output, result.output
        assert INVOICE[1] not in str(snapshot(app))  # the number is gone
    assert _chen_claims_the_same_invoice(app, residents) == DUPLICATE_INVOICE


def test_the_digests_are_not_the_numbers(client, closed):
    """What the purge keeps of the invoice is a keyed digest: not the number, not a plain hash
    of it (which anyone could recompute from the short number), and unlike another key's."""
    app = client.application
    assert purge(app).exit_code == 0
    with app.app_context():
        [(number, digest)] = get_session().execute(
            select(ClaimInvoice.number, ClaimInvoice.number_digest).where(
                ClaimInvoice.claim_id == closed["claim_id"]
            )
        )
        assert number == "" and digest == invoice_digest(*INVOICE)
        plain = [
            hashlib.sha256(v.encode()).hexdigest()
            for v in (INVOICE[1], f"{INVOICE[0]}\x00{INVOICE[1]}")
        ]
        assert INVOICE[1] not in digest and digest not in plain
        app.config["DUPLICATE_CHECK_KEY"] = b"another-duplicate-check-key-32by"
        assert invoice_digest(*INVOICE) != digest
        assert (
            settlement_digest("S1") != settlement_digest("S2") and settlement_digest(None) is None
        )
        get_session().rollback()


def test_a_purged_claims_settlement_claimed_again_is_refused_as_a_live_duplicate(
    client, seeded, residents, insured_family, stay, hospital
):
    """张伟's one-tap claim of his stay is paid; he closes the account, and five years on the
    purge erases the settlement number and anonymises him. He comes back as a new person (his
    ID number no longer finds the old one) insured for the same year, and the stay is offered
    again: at the hospital counter the trial is refused for the duplicate settlement, and his
    one-tap claim is sent to a reviewer with the same flag, as a second claim of a live
    claim's settlement is (without the digest it was paid a second time)."""
    app = client.application
    setl_id = stay["setlinfo"]["setl_id"]
    first = one_tap(client, insured_family, "张伟", setl_id)
    assert first.status_code == 201 and first.get_json()["status"] == "paid", first.get_json()
    with time_machine.travel(AFTER_COVER, tick=True):
        token = factories.login(seeded, "claims-zhang")["access_token"]
        closing = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert closing.status_code == 200, closing.get_json()
    result = purge(app)
    assert result.exit_code == 0 and "people_anonymised: 3" in result.output, result.output
    ours = {t: rows for t, rows in snapshot(app).items() if not t.startswith("sandbox_")}
    assert setl_id not in str(ours)  # (the sandbox bureau's own tables still hold its record)

    with time_machine.travel(ENROLLED_AT, tick=True):
        again = factories.verified_member(seeded, "zhang-again", residents["张伟"])
        order = factories.order(seeded, again["member_id"], pay=True)
    assert order["status"] == "paid", order
    status, refused = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, refused["code"]) == (409, "direct_needs_review"), refused
    assert refused["errors"]["flags"] == [DUPLICATE_SETTLEMENT]
    token = factories.login(seeded, "zhang-again")["access_token"]
    second = client.post(
        "/claims/from-settlement",
        headers={**bearer(token), **key()},
        json={
            "policy_id": order["policies"][0]["id"],
            "setl_id": setl_id,
            "payee": PAYEE,
        },
    )
    assert second.status_code == 201, second.get_json()
    claim = second.get_json()
    assert claim["status"] == "pending_review" and claim["paid_fen"] == 0, claim
    with app.app_context():
        flags = get_session().get(Claim, claim["id"]).flags
        get_session().rollback()
    assert flags == [DUPLICATE_SETTLEMENT]
