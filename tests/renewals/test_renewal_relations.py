"""Renewal (续保) and the relation rules (app/members/relation_rules.py): the run renews a
relative under the relation on the member's list today (a relation corrected since the consent
counts as corrected), and the personal account does not renew one that breaks the rules.

张伟 (born 1985) has 张建国 (born 1942) on his list as his "child", stored before the rules; he
insured him for 2026 with WeChat Pay and consented to renew him from his personal account.
"""

from __future__ import annotations

import pytest

from app.database import get_session
from app.enrollment.models import OrderItem
from app.members.models import Relative
from app.policies.models import Policy
from tests import factories
from tests.conftest import CONSENT as PI_CONSENT
from tests.conftest import bearer
from tests.enrollment.conftest import family as family
from tests.enrollment.conftest import frozen as frozen
from tests.enrollment.conftest import pay, place_order
from tests.enrollment.test_orders import PREMIUM, balance
from tests.renewals.test_renewal import CONSENT, DECEMBER, start
from tests.renewals.test_renewal import operator as operator


@pytest.fixture
def father_as_child(app, client, family, residents):
    with app.app_context():
        member_id = get_session().get_one(Relative, family["spouse"]).member_id
    wrong = factories.relative(app, member_id, residents["张建国"], "child")
    order = place_order(client, family, [wrong], include_self=False, method="wechat")
    assert pay(client, family, order["id"], "wechat").get_json()["state"] == "awaiting_wechat"
    paid = client.post(
        f"/orders/{order['id']}/sandbox-wechat-payment", headers=bearer(family["token"])
    )
    assert paid.get_json()["outcome"] == "paid", paid.get_json()
    [policy] = [
        p
        for p in client.get("/policies", headers=bearer(family["token"])).get_json()
        if p["insured_name_masked"] == "**国"
    ]
    resp = client.post(
        "/renewals/consents",
        headers=bearer(family["token"]),
        json={"policy_id": policy["id"], "auto_debit": True, "consent": CONSENT},
    )
    assert resp.status_code == 201, resp.get_json()
    family["traveller"].move_to(DECEMBER)
    family["token"] = factories.login(app, "family-zhang")["access_token"]
    family["wrong"] = wrong
    return family


def test_a_relative_breaking_the_rules_is_not_renewed_from_the_account(
    app, client, father_as_child, operator
):
    before = balance(app)
    report = start(client, operator).get_json()
    [outcome] = report["outcomes"]
    assert (outcome["status"], outcome["reason_code"]) == ("awaiting_payment", "payment_due")
    assert "子女应比您年轻至少12周岁" in outcome["message"]
    assert balance(app) == before  # nothing debited
    with app.app_context():
        assert get_session().query(Policy).filter(Policy.plan_year == 2027).count() == 0


def test_a_relation_corrected_before_the_run_is_renewed_from_the_account(
    app, client, father_as_child, operator, residents
):
    """He removes 张建国 and adds him again as his parent (checked with the bureau): the run
    renews him under the corrected relation, from the account."""
    token = father_as_child["token"]
    assert (
        client.delete(f"/me/relatives/{father_as_child['wrong']}", headers=bearer(token))
    ).status_code == 204
    father = {
        "name": "张建国",
        "id_number": residents["张建国"].certno,
        "relation": "parent",
        "consent": PI_CONSENT,
    }
    added = client.post("/me/relatives", headers=bearer(token), json=father)
    assert added.status_code == 201, added.get_json()

    before = balance(app)
    report = start(client, operator).get_json()
    [outcome] = report["outcomes"]
    assert outcome["status"] == "renewed", outcome
    assert balance(app) == before - PREMIUM
    with app.app_context():
        policy = get_session().query(Policy).filter(Policy.plan_year == 2027).one()
        item = get_session().get_one(OrderItem, policy.order_item_id)
        assert item.relation == "parent"
