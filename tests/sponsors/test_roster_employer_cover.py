"""Roster-based eligibility and employer group cover, end to end through HTTP.

- A resident on a programme's roster qualifies for it: their own quote names the funder and
  their enrollment is free; a resident not on the roster pays.
- Employer group cover: the employer funds a full-premium, roster-only programme, uploads its
  staff and runs the batch job; an employee then sees the policy the employer paid, and adds a
  relative through the normal member flow at their own cost (personal account, 家庭共济).
"""

from __future__ import annotations

from tests.conftest import add_relative, bearer, login, verify
from tests.enrollment.conftest import GUARDIAN, key, order_body, pay, place_order
from tests.jobs.support import (
    PREMIUM_FEN,
    by_name,
    employer_programme,
    roster_csv,
    start_job,
    upload,
)


def test_a_rostered_resident_gets_the_subsidy_in_the_quote(sponsors, client, residents):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5, kind="charity")
    upload(client, admin, programme["id"], roster_csv([residents["李娜"]]))

    li_na = login(client, "li-na")["access_token"]
    assert verify(client, li_na, residents["李娜"]).status_code == 200
    quote = client.post("/quotes", headers=bearer(li_na), json={"include_self": True})
    assert quote.status_code == 200, quote.get_json()
    [line] = quote.get_json()["lines"]
    assert (line["premium_fen"], line["subsidy_fen"], line["pay_fen"]) == (
        PREMIUM_FEN,
        PREMIUM_FEN,
        0,
    )
    assert [(s["funder_name"], s["amount_fen"]) for s in line["subsidies"]] == [
        ("赣州市慈善总会", PREMIUM_FEN)
    ]

    # 刘强 is not on this roster (his 低保 flag does not matter to a roster-only programme).
    liu = login(client, "liu-qiang")["access_token"]
    assert verify(client, liu, residents["刘强"]).status_code == 200
    [other] = client.post("/quotes", headers=bearer(liu), json={"include_self": True}).get_json()[
        "lines"
    ]
    assert (other["subsidy_fen"], other["pay_fen"]) == (0, PREMIUM_FEN)

    # Enrolling goes through the member flow; the programme's budget is reserved and spent.
    order = place_order(client, {"token": li_na}, [], method=None)
    assert (order["status"], order["total_pay_fen"]) == ("paid", 0)
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 5, PREMIUM_FEN, 1)


def test_employer_group_cover_and_relatives_at_the_employees_cost(sponsors, client, residents):
    employer, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 100)
    staff = [residents["张伟"], residents["陈静"], residents["孙丽"]]  # employee insurance
    uploaded = upload(client, employer, programme["id"], roster_csv(staff))
    assert uploaded.get_json()["added"] == 3
    job = start_job(client, employer, programme["id"]).get_json()
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 3, 0)

    # 张伟 logs in to the mini-program: the employer's policy is there, and he is covered.
    zhang = login(client, "zhang-wei")["access_token"]
    assert verify(client, zhang, residents["张伟"]).status_code == 200
    [policy] = client.get("/policies", headers=bearer(zhang)).get_json()
    assert (policy["status"], policy["plan_year"]) == ("active", 2026)
    cert = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(zhang))
    assert cert.status_code == 200
    quote = client.post("/quotes", headers=bearer(zhang), json={"include_self": True}).get_json()
    assert [r["code"] for r in quote["lines"][0]["reasons"]] == ["already_insured"]
    # The employer paid: the employee cannot surrender it for a refund to himself.
    refused = client.post(f"/policies/{policy['id']}/surrender", headers={**bearer(zhang), **key()})
    assert refused.status_code == 422 and refused.get_json()["code"] == "surrender_payer_only"

    # His spouse and child are not on the roster: he pays for them, from his personal account.
    spouse = add_relative(client, zhang, residents["李娜"], "spouse").get_json()["id"]
    child = add_relative(
        client, zhang, residents["张小宝"], "child", guardian_consent=GUARDIAN
    ).get_json()["id"]
    quote = client.post(
        "/quotes",
        headers=bearer(zhang),
        json={"include_self": False, "relative_ids": [spouse, child]},
    ).get_json()
    assert quote["total_subsidy_fen"] == 0 and quote["total_pay_fen"] == 2 * PREMIUM_FEN
    resp = client.post(
        "/orders",
        headers={**bearer(zhang), **key()},
        json=order_body(client, [spouse, child], include_self=False),
    )
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    paid = pay(client, {"token": zhang}, order["id"])
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid", paid.get_json()

    policies = client.get("/policies", headers=bearer(zhang)).get_json()
    assert len(policies) == 3 and {p["status"] for p in policies} == {"active"}
    # The employer paid for its three employees only; the family's premiums came from 张伟.
    assert sponsors.figures(programme["id"]) == (PREMIUM_FEN * 100, PREMIUM_FEN * 3, 3)
    report = client.get(
        f"/staff/programmes/{programme['id']}/report", headers=bearer(employer)
    ).get_json()
    assert (report["spent_fen"], report["active_policies_funded"]) == (PREMIUM_FEN * 3, 3)
    me = client.get("/orders", headers=bearer(zhang)).get_json()
    assert [(o["total_pay_fen"], o["payment_method"]) for o in me] == [
        (2 * PREMIUM_FEN, "personal_account")
    ]
    # Another member cannot see the employees' policies.
    stranger = login(client, "stranger")["access_token"]
    assert verify(client, stranger, residents["刘强"]).status_code == 200
    assert client.get(f"/policies/{policy['id']}", headers=bearer(stranger)).status_code == 404
    assert by_name("陈静").certno not in client.get("/policies", headers=bearer(stranger)).get_data(
        as_text=True
    )
