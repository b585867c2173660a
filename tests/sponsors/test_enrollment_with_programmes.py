"""Programmes pay premiums through the enrollment seam: quotes name the funder, orders reserve
budget and quota in their own transaction, closing unpaid orders and sponsor refunds release it."""

from __future__ import annotations

import pytest

from app.payments.ledger import check_ledger
from app.sponsors.services import check_programmes
from tests.conftest import bearer, login, verify
from tests.enrollment.conftest import key, order_body, pay, place_order
from tests.enrollment.test_orders import balance
from tests.security.support import assert_problem
from tests.sponsors.conftest import CHARITY_USCC, EMPLOYER_USCC

PREMIUM = 8900


@pytest.fixture
def liu(client, sponsors, residents, frozen):
    """刘强, a 低保 resident (identity flag dibao), verified in the mini-program."""
    token = login(client, "member-liu")["access_token"]
    resp = verify(client, token, residents["刘强"])
    assert resp.status_code == 200, resp.get_json()
    return {"token": token}


def quote(client, who, **selection) -> dict:
    body = {"include_self": True, "relative_ids": [], **selection}
    resp = client.post("/quotes", headers=bearer(who["token"]), json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def checks_hold(app) -> None:
    with app.app_context():
        assert check_programmes() == []
        assert check_ledger() == []


def test_dibao_resident_is_covered_free_by_the_relief_fund(app, client, sponsors, liu):
    admin, programme = sponsors.relief_fund(budget_fen=PREMIUM * 10)
    q = quote(client, liu)
    # Nothing to pay: no method to pick (POST /orders refuses "sponsor"); the cover is shown
    # apart, taken when the order is placed.
    assert q["total_pay_fen"] == 0 and q["payment_methods"] == []
    assert q["sponsored_cover"] == {
        "amount_fen": PREMIUM,
        "covers_all": True,
        "how": "资助项目全额承担保费：提交订单时自动使用资助，无需选择支付方式",
    }
    assert q["lines"][0]["subsidies"] == [
        {
            "programme_id": programme["id"],
            "funder_name": "赣州市民政局",
            "funder_kind": "relief_fund",
            "amount_fen": PREMIUM,
        }
    ]

    order = place_order(client, liu, [], method=None)
    assert (order["status"], order["total_pay_fen"], order["payment_method"]) == (
        "paid",
        0,
        "sponsor",
    )
    [policy] = client.get("/policies", headers=bearer(liu["token"])).get_json()
    assert policy["status"] == "active"

    after = sponsors.read(admin, programme["id"])
    assert (after["budget_reserved_fen"], after["beneficiaries_reserved"]) == (PREMIUM, 1)
    report = client.get(
        f"/staff/programmes/{programme['id']}/report", headers=bearer(admin)
    ).get_json()
    assert (report["spent_fen"], report["reserved_unpaid_fen"], report["unspent_fen"]) == (
        PREMIUM,
        0,
        PREMIUM * 9,
    )
    assert report["active_policies_funded"] == 1
    assert report["funded"] == [
        {"insured_name_masked": "*强", "plan_year": 2026, "subsidy_fen": PREMIUM}
    ]
    assert "刘强" not in str(report)
    checks_hold(app)


def test_person_outside_the_categories_gets_nothing(app, client, sponsors, family):
    sponsors.relief_fund()
    q = quote(client, family)  # 张伟 has no identity flag
    assert q["lines"][0]["subsidies"] == [] and q["total_pay_fen"] == PREMIUM


@pytest.mark.parametrize("method", ["personal_account", "wechat"])
def test_partial_percentage_subsidy_with_the_remainder_paid_by_the_member(
    app, client, sponsors, residents, method
):
    """陈静 (disabled, employee with a personal account): an employer programme pays 33.33% for
    disabled staff; she pays the rest from her personal account or with WeChat."""
    org = sponsors.organisation(EMPLOYER_USCC, "赣州某科技有限公司", "employer")
    admin = sponsors.admin(org["id"], "employer_admin")
    programme = sponsors.programme(
        admin,
        rule={"kind": "percentage", "basis_points": 3333},
        categories=["disabled"],
        budget_fen=100_000,
        name="员工关爱",
    )
    token = login(client, "member-chen")["access_token"]
    assert verify(client, token, residents["陈静"]).status_code == 200
    who = {"token": token}
    q = quote(client, who)
    assert q["lines"][0]["subsidies"] == [
        {
            "programme_id": programme["id"],
            "funder_name": "赣州某科技有限公司",
            "funder_kind": "employer",
            "amount_fen": 2966,
        }
    ]
    assert q["total_pay_fen"] == PREMIUM - 2966  # 33.33% of 89.00 = 29.6637 -> 29.66 yuan
    assert q["payment_methods"] == ["personal_account", "wechat"]
    assert q["sponsored_cover"] == {
        "amount_fen": 2966,
        "covers_all": False,
        "how": "资助项目承担部分保费：提交订单时自动抵扣，其余保费请选择支付方式支付",
    }
    order = place_order(client, who, [], method=method)
    assert order["status"] == "pending_payment" and order["total_subsidy_fen"] == 2966
    if method == "personal_account":
        before = balance(app, "陈静")
        resp = pay(client, who, order["id"])
        assert resp.get_json()["state"] == "paid", resp.get_json()
        assert balance(app, "陈静") == before - (PREMIUM - 2966)
    else:
        assert pay(client, who, order["id"], "wechat").get_json()["state"] == "awaiting_wechat"
        resp = client.post(f"/orders/{order['id']}/sandbox-wechat-payment", headers=bearer(token))
        assert resp.get_json()["outcome"] == "paid", resp.get_json()
    assert sponsors.figures(programme["id"]) == (100_000, 2966, 1)
    checks_hold(app)


def test_exhausted_budget_or_quota_makes_no_offer(app, client, sponsors, liu):
    admin, programme = sponsors.relief_fund(budget_fen=0)
    assert quote(client, liu)["lines"][0]["subsidies"] == []  # no budget: no offer
    sponsors.top_up(admin, programme["id"], 3000)  # less than a premium: pays what is left
    q = quote(client, liu)
    assert (
        q["lines"][0]["subsidies"][0]["amount_fen"] == 3000 and q["total_pay_fen"] == PREMIUM - 3000
    )


def test_quota_of_zero_left_makes_no_offer(app, client, sponsors, liu):
    """A programme for one person: once 刘强 took the place, nobody else is offered anything."""
    admin, programme = sponsors.relief_fund(budget_fen=PREMIUM * 10, quota=1, categories=("dibao",))
    place_order(client, liu, [], method=None)
    after = sponsors.read(admin, programme["id"])
    assert (after["beneficiaries_reserved"], after["quota"]) == (1, 1)
    with app.app_context():
        from app.common.clock import today_shanghai
        from app.database import get_session
        from app.enrollment.subsidies import offers_for
        from app.members.models import Person
        from app.products.services import current_product, definition_of

        s = get_session()
        person = s.query(Person).filter_by(name="刘强").first()
        product = current_product(today_shanghai())
        assert offers_for(s, product, definition_of(product), [person]) == []


def test_budget_gone_between_quote_and_order_is_a_409_and_nothing_is_written(
    app, client, sponsors, liu, monkeypatch
):
    """The offer is a snapshot; the reservation is the authority. Another order takes the whole
    budget after 刘强's quote, while the provider still sees the old snapshot."""
    import dataclasses

    import app.sponsors.services as sponsor_services
    from app.database import transaction

    admin, programme = sponsors.relief_fund(budget_fen=PREMIUM)
    assert quote(client, liu)["total_pay_fen"] == 0
    with app.app_context(), transaction() as s:
        sponsor_services.reserve_budget(s, programme["id"], PREMIUM, None)
    real = sponsor_services.to_rule_programme
    monkeypatch.setattr(
        sponsor_services,
        "to_rule_programme",
        lambda p: dataclasses.replace(real(p), budget_remaining_fen=PREMIUM),
    )

    resp = client.post(
        "/orders",
        headers={**bearer(liu["token"]), **key()},
        json=order_body(client, [], True, None),
    )
    body = assert_problem(resp, 409, "subsidy_unavailable")
    assert body["detail"] == "资助名额或预算已用完，请重新获取报价"
    assert client.get("/orders", headers=bearer(liu["token"])).get_json() == []
    assert sponsors.figures(programme["id"]) == (PREMIUM, PREMIUM, 1)
    checks_hold(app)


def test_expiry_of_an_unpaid_order_releases_the_reservation(app, client, sponsors, liu, frozen):
    """A charity pays a fixed 20 yuan; 刘强 means to pay the rest with WeChat but never does."""
    org = sponsors.organisation(CHARITY_USCC, "赣州市慈善总会", "charity")
    admin = sponsors.admin(org["id"], "charity_admin")
    programme = sponsors.programme(
        admin,
        rule={"kind": "fixed", "amount_fen": 2000},
        categories=["dibao"],
        budget_fen=10_000,
        name="慈善助保",
    )
    who = liu
    order = place_order(client, who, [], method="wechat")
    assert order["total_subsidy_fen"] == 2000 and order["status"] == "pending_payment"
    assert sponsors.read(admin, programme["id"])["budget_reserved_fen"] == 2000

    from app.payments.services import expire_orders

    frozen.shift(31 * 60)
    with app.app_context():
        assert expire_orders() == 1
    assert sponsors.figures(programme["id"]) == (10_000, 0, 0)
    checks_hold(app)


def test_surrender_gives_the_subsidy_back_to_the_programme(app, client, sponsors, liu):
    admin, programme = sponsors.relief_fund(budget_fen=PREMIUM * 2)
    place_order(client, liu, [], method=None)
    [policy] = client.get("/policies", headers=bearer(liu["token"])).get_json()
    resp = client.post(
        f"/policies/{policy['id']}/surrender", headers={**bearer(liu["token"]), **key()}
    )
    assert resp.status_code == 200, resp.get_json()
    assert [(r["method"], r["status"]) for r in resp.get_json()["refunds"]] == [
        ("sponsor", "succeeded")
    ]
    # the member paid nothing and gets nothing back: the premium went back to the fund
    assert resp.get_json()["policy"]["refund"] == {
        "status": "succeeded",
        "label": "已退款",
        "amount_fen": 0,
        "sponsor_fen": PREMIUM,
    }
    after = sponsors.read(admin, programme["id"])
    assert (after["budget_reserved_fen"], after["beneficiaries_reserved"]) == (0, 0)
    report = client.get(
        f"/staff/programmes/{programme['id']}/report", headers=bearer(admin)
    ).get_json()
    assert (report["spent_fen"], report["active_policies_funded"]) == (0, 0)
    checks_hold(app)
