"""A subsidy is a funding source on the order. Through the seam the sponsorship capability will
use (app/enrollment/subsidies.py), a programme pays part of a premium: the quote names the
funder, the member pays the remainder, the ledger records both, and surrender refunds each
funding source."""

from __future__ import annotations

from sqlalchemy import select

from app.database import get_session
from app.enrollment.models import LedgerEntry
from app.enrollment.quote import SubsidyOffer
from app.enrollment.subsidies import register_provider
from app.payments.ledger import check_ledger
from tests.conftest import bearer
from tests.enrollment.conftest import key, pay, place_order
from tests.enrollment.test_orders import balance

PREMIUM = 8900
CHARITY_PAYS = 5000  # the charity pays 50.00 of 89.00 yuan for the spouse; 39.00 is left


def _backing_programme(app, kind: str, budget_fen: int) -> int:
    """Every applied subsidy reserves its programme's budget when the order is placed
    (app/sponsors/services.py), so the offers below name a real programme with money in it."""
    from datetime import date

    from app.database import transaction
    from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry
    from app.sponsors.rules import uscc_check_char

    first17 = "51360700MJ0000001" if kind == "charity" else "11360700MB0000001"
    with app.app_context(), transaction() as s:
        org = Organisation(uscc=first17 + uscc_check_char(first17), name=kind, kind=kind)
        s.add(org)
        s.flush()
        programme = Programme(
            organisation_id=org.id,
            plan_year=2026,
            name=kind,
            status="active",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            rule_kind="full",
            eligibility_categories=[],
            roster_only=True,
            budget_total_fen=budget_fen,
            budget_reserved_fen=0,
            beneficiaries_reserved=0,
        )
        s.add(programme)
        s.flush()
        s.add(ProgrammeLedgerEntry(programme_id=programme.id, kind="top_up", amount_fen=budget_fen))
        return programme.id


def test_partial_subsidy_then_surrender_refunds_each_funding_source(app, client, family):
    pid = _backing_programme(app, "charity", 100_000)

    def _charity_for_spouse(session, product, defn, persons):
        return [
            SubsidyOffer(p.id, pid, "市慈善总会", "charity", CHARITY_PAYS)
            for p in persons
            if p.name == "李娜"
        ]

    register_provider(app, _charity_for_spouse)
    quote = client.post(
        "/quotes", headers=bearer(family["token"]), json={"relative_ids": [family["spouse"]]}
    ).get_json()
    spouse_line = quote["lines"][1]
    assert spouse_line["subsidies"] == [
        {
            "programme_id": pid,
            "funder_name": "市慈善总会",
            "funder_kind": "charity",
            "amount_fen": CHARITY_PAYS,
        }
    ]
    assert quote["total_pay_fen"] == 2 * PREMIUM - CHARITY_PAYS  # 89 + 39 = 128 yuan

    before = balance(app)
    order = place_order(client, family, [family["spouse"]])
    assert order["total_subsidy_fen"] == CHARITY_PAYS
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    assert balance(app) == before - (2 * PREMIUM - CHARITY_PAYS)

    policies = client.get("/policies", headers=bearer(family["token"])).get_json()
    spouse_policy = next(p for p in policies if p["insured_name_masked"].endswith("娜"))
    body = client.post(
        f"/policies/{spouse_policy['id']}/surrender", headers={**bearer(family["token"]), **key()}
    ).get_json()
    assert sorted((r["method"], r["amount_fen"], r["status"]) for r in body["refunds"]) == [
        ("personal_account", PREMIUM - CHARITY_PAYS, "succeeded"),  # 39 yuan back to the account
        ("sponsor", CHARITY_PAYS, "succeeded"),  # 50 yuan back to the charity
    ]
    assert body["policy"]["status"] == "void"
    assert balance(app) == before - PREMIUM
    with app.app_context():
        kinds = sorted(
            (e.kind, e.amount_fen, e.programme_id)
            for e in get_session().scalars(
                select(LedgerEntry).where(LedgerEntry.programme_id.is_not(None))
            )
        )
        assert kinds == [
            ("sponsor_refund", -CHARITY_PAYS, pid),
            ("sponsor_subsidy", CHARITY_PAYS, pid),
        ]
        assert check_ledger() == []


def test_fully_subsidised_order_is_paid_at_once(app, client, family):
    pid = _backing_programme(app, "relief_fund", 100_000)
    register_provider(
        app,
        lambda s, p, d, persons: [
            SubsidyOffer(x.id, pid, "市民政局", "relief_fund", PREMIUM) for x in persons
        ],
    )
    order = place_order(client, family, [family["spouse"]], method=None)
    assert order["status"] == "paid" and order["total_pay_fen"] == 0
    assert order["payment_method"] == "sponsor"
    assert len(client.get("/policies", headers=bearer(family["token"])).get_json()) == 2
    with app.app_context():
        assert check_ledger() == []
