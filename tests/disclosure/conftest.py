"""Fixtures for disclosure: a mixed enrollment scenario driven through the public API over three
months, and a recomputation of the published figures straight from the raw tables.

The scenario (Asia/Shanghai dates; the demo product charges 89.00 yuan):
- 2025-12-10  张伟 (employee) enrolls himself, 李娜 and 张小宝 (residents) from his personal
              account (家庭共济): 3 people, personal_account, 3 x 8,900 fen;
- 2026-01-28  刘强 (低保 resident) is covered in full by the relief fund; 陈静 (disabled
              employee) gets 33.33% (2,966 fen) from her employer and pays 5,934 fen from her
              personal account; 孙丽 (employee, empty account) pays 8,900 fen with WeChat;
- 2026-02-05  陈静 surrenders: 5,934 fen back to her account and 2,966 fen to the employer's
              programme, in February; her January enrollment is taken back out of January.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from app.common.clock import SHANGHAI
from app.database import get_session
from app.disclosure.metrics import FUNDING_SOURCES, INSURANCE_TYPES
from app.enrollment.models import LedgerEntry, Refund
from app.members.models import Person
from app.policies.models import Policy
from app.sponsors.models import Organisation, Programme
from tests.conftest import CONSENT, bearer, login, verify
from tests.enrollment.conftest import GUARDIAN, family, frozen, key, pay, place_order  # noqa: F401  (fixtures)
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.sponsors.conftest import EMPLOYER_USCC, Sponsors

PREMIUM = 8900
DECEMBER = "2025-12-10T02:00:00+00:00"  # 10:00 in Shanghai
JANUARY = "2026-01-28T02:00:00+00:00"
FEBRUARY = "2026-02-05T02:00:00+00:00"


class Scenario:
    """Drives members and sponsors through the API, each phase on its own day."""

    def __init__(self, app, client, residents):
        self.app, self.client, self.residents = app, client, residents

    def member(self, code: str, name: str) -> dict:
        token = login(self.client, code)["access_token"]
        resp = verify(self.client, token, self.residents[name])
        assert resp.status_code == 200, resp.get_json()
        return {"token": token}

    def relative(self, who: dict, name: str, relation: str, **extra) -> int:
        resident = self.residents[name]
        resp = self.client.post(
            "/me/relatives",
            headers=bearer(who["token"]),
            json={
                "name": resident.name,
                "id_number": resident.certno,
                "relation": relation,
                "consent": CONSENT,
                **extra,
            },
        )
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["id"]

    def enroll_paid(self, who: dict, relative_ids=(), method="personal_account") -> dict:
        order = place_order(self.client, who, list(relative_ids), method=method)
        if order["status"] == "paid":
            return order
        resp = pay(self.client, who, order["id"], method)
        assert resp.status_code == 200, resp.get_json()
        if method == "wechat":
            resp = self.client.post(
                f"/orders/{order['id']}/sandbox-wechat-payment", headers=bearer(who["token"])
            )
            assert resp.get_json()["outcome"] == "paid", resp.get_json()
        else:
            assert resp.get_json()["state"] == "paid", resp.get_json()
        return order

    def policies(self, who: dict) -> list[dict]:
        return self.client.get("/policies", headers=bearer(who["token"])).get_json()

    def surrender(self, who: dict, policy_id: int) -> dict:
        resp = self.client.post(
            f"/policies/{policy_id}/surrender", headers={**bearer(who["token"]), **key()}
        )
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def run(self) -> None:
        with time_machine.travel(DECEMBER, tick=True):
            zhang = self.member("disclosure-zhang", "张伟")
            spouse = self.relative(zhang, "李娜", "spouse")
            child = self.relative(zhang, "张小宝", "child", guardian_consent=GUARDIAN)
            self.enroll_paid(zhang, [spouse, child])
        with time_machine.travel(JANUARY, tick=True):
            sponsors = Sponsors(self.app, self.client)
            sponsors.relief_fund(budget_fen=PREMIUM * 10)
            org = sponsors.organisation(EMPLOYER_USCC, "赣州某科技有限公司", "employer")
            admin = sponsors.admin(org["id"], "employer_admin")
            sponsors.programme(
                admin,
                rule={"kind": "percentage", "basis_points": 3333},
                categories=["disabled"],
                budget_fen=100_000,
                name="员工关爱",
            )
            liu = self.member("disclosure-liu", "刘强")
            assert self.enroll_paid(liu, method=None)["total_pay_fen"] == 0
            chen = self.member("disclosure-chen", "陈静")
            assert self.enroll_paid(chen)["total_subsidy_fen"] == 2966
            sun = self.member("disclosure-sun", "孙丽")
            self.enroll_paid(sun, method="wechat")
        with time_machine.travel(FEBRUARY, tick=True):
            chen = {"token": login(self.client, "disclosure-chen")["access_token"]}
            [policy] = self.policies(chen)
            refunds = self.surrender(chen, policy["id"])["refunds"]
            assert sorted((r["method"], r["amount_fen"], r["status"]) for r in refunds) == [
                ("personal_account", PREMIUM - 2966, "succeeded"),
                ("sponsor", 2966, "succeeded"),
            ]


@pytest.fixture
def scenario(fast_password_hashing, seeded, residents):
    return Scenario(seeded, seeded.test_client(), residents)


# --- recomputation from the raw tables -------------------------------------------------------

LEDGER_SOURCE = {
    "personal_account_debit": "personal_account",
    "wechat_payment": "wechat",
    "personal_account_refund": "personal_account",
    "wechat_refund": "wechat",
}


def _month(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


def recompute(app, product_id: int) -> dict[str, dict]:
    """What the statistics should say, from orders, policies, persons, the premium ledger and
    refunds, not from the counters: {period: figures}, months and the year ("year").

    Enrolled people: policies not void, by their payment month (Asia/Shanghai), by the person's
    insurance type and by the funding source whose ledger entries paid most of the premium (ties:
    FUNDING_SOURCES order). Premiums: positive ledger entries of an order item, by the month of
    the entry; refunds: negative entries of refunds tied to an order item, by month.
    Claims, from the claim tables: received by submission month; settled by the month of each
    claim's first final transition (paid, closed or rejected); paid (count and amount) by the
    month of each succeeded payout, and of each settlement paid at the hospital counter and not
    reversed.
    """
    figures: dict[str, dict] = defaultdict(
        lambda: {
            "enrolled_by_insurance_type": dict.fromkeys(INSURANCE_TYPES, 0),
            "enrolled_by_funding_source": dict.fromkeys(FUNDING_SOURCES, 0),
            "premiums_collected_fen": 0,
            "premiums_refunded_fen": 0,
            "claims_received": 0,
            "claims_settled": 0,
            "claims_paid": 0,
            "amount_paid_fen": 0,
        }
    )
    with app.app_context():
        s = get_session()
        org_kind = dict(
            s.execute(
                select(Programme.id, Organisation.kind).join(
                    Organisation, Organisation.id == Programme.organisation_id
                )
            ).all()
        )

        def source(entry: LedgerEntry) -> str:
            return org_kind[entry.programme_id] if entry.programme_id else LEDGER_SOURCE[entry.kind]

        policies = {
            p.order_item_id: p
            for p in s.scalars(select(Policy).where(Policy.product_id == product_id))
        }
        paid_by: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for entry in s.scalars(select(LedgerEntry).where(LedgerEntry.order_item_id.in_(policies))):
            month = _month(entry.created_at)
            if entry.amount_fen > 0:
                paid_by[entry.order_item_id][source(entry)] += entry.amount_fen
                figures[month]["premiums_collected_fen"] += entry.amount_fen
            elif entry.refund_id is not None and s.get(Refund, entry.refund_id).order_item_id:
                figures[month]["premiums_refunded_fen"] += -entry.amount_fen
        for item_id, policy in policies.items():
            if policy.status == "void":
                continue
            month = policy.paid_on.strftime("%Y-%m")
            person = s.get(Person, policy.person_id)
            figures[month]["enrolled_by_insurance_type"][person.insurance_type] += 1
            amounts = paid_by[item_id]
            top = max(amounts.values())
            main = next(src for src in FUNDING_SOURCES if amounts.get(src) == top)
            figures[month]["enrolled_by_funding_source"][main] += 1
        from app.claims.models import Claim, ClaimTransition, Payout

        claims = {c.id: c for c in s.scalars(select(Claim).where(Claim.product_id == product_id))}
        for claim in claims.values():
            if claim.submitted_at is not None:
                figures[_month(claim.submitted_at)]["claims_received"] += 1
        finals = s.scalars(
            select(ClaimTransition)
            .where(
                ClaimTransition.claim_id.in_(claims),
                ClaimTransition.to_status.in_(("paid", "closed", "rejected")),
            )
            .order_by(ClaimTransition.id)
        )
        first_final: dict[int, ClaimTransition] = {}
        for t in finals:
            first_final.setdefault(t.claim_id, t)
        for t in first_final.values():
            figures[_month(t.created_at)]["claims_settled"] += 1
        for payout in s.scalars(
            select(Payout).where(Payout.claim_id.in_(claims), Payout.status == "succeeded")
        ):
            figures[_month(payout.updated_at)]["claims_paid"] += 1
            figures[_month(payout.updated_at)]["amount_paid_fen"] += payout.amount_fen
        from app.direct_settlement.models import DirectSettlement

        for settled in s.scalars(  # paid at the hospital counter, and not reversed since
            select(DirectSettlement).where(
                DirectSettlement.claim_id.in_(claims),
                DirectSettlement.status == "confirmed",
                DirectSettlement.amount_fen > 0,
            )
        ):
            figures[settled.settled_on.strftime("%Y-%m")]["claims_paid"] += 1
            figures[settled.settled_on.strftime("%Y-%m")]["amount_paid_fen"] += settled.amount_fen
        s.rollback()
    year = figures["year"]
    for month, values in list(figures.items()):
        if month == "year":
            continue
        for name, value in values.items():
            if isinstance(value, dict):
                for key, count in value.items():
                    year[name][key] += count
            else:
                year[name] += value
    for values in figures.values():
        values["enrolled_people"] = sum(values["enrolled_by_insurance_type"].values())
    return dict(figures)


def published(period: dict) -> dict:
    """The published figures of one period in recompute()'s shape (cell values only)."""
    value = lambda cell: cell["value"]  # noqa: E731
    return {
        "enrolled_by_insurance_type": {
            k: value(c) for k, c in period["enrolled_by_insurance_type"].items()
        },
        "enrolled_by_funding_source": {
            k: value(c) for k, c in period["enrolled_by_funding_source"].items()
        },
        "enrolled_people": value(period["enrolled_people"]),
        "premiums_collected_fen": value(period["premiums_collected_fen"]),
        "premiums_refunded_fen": value(period["premiums_refunded_fen"]),
        "claims_received": value(period["claims_received"]),
        "claims_settled": value(period["claims_settled"]),
        "claims_paid": value(period["claims_paid"]),
        "amount_paid_fen": value(period["amount_paid_fen"]),
    }
