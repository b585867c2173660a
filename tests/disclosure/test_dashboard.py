"""The operator dashboard's figures (app/disclosure/dashboard.py), each checked exactly, after the
disclosure scenario (tests/disclosure/conftest.py: enrollments from December to February, a
relief fund, an employer, a surrender) and, on 2026-03-20, four claims through the real
services: one from a bureau settlement closed under the deductible, one approved and paid, one
approved whose transfer fails (back to review), one rejected by a reviewer; and a WeChat
payment left pending since 08:00. The same
figures over HTTP (GET /staff/dashboard, operators only)."""

from __future__ import annotations

import io
from datetime import date

import pytest
import time_machine
from PIL import Image
from sqlalchemy import event, select

from app.claims.models import Claim
from app.database import get_session
from app.demo.seed import DEMO_STAFF_PASSWORD
from app.disclosure.dashboard import dashboard
from app.disclosure.early_warnings import has_fraud_flag
from tests import factories
from tests.claims.conftest import key
from tests.conftest import bearer, login, seed_app, seed_catalogues_on
from tests.disclosure.conftest import Scenario
from tests.enrollment.conftest import place_order
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.security.support import staff_login

PENDING_AT = "2026-03-20T00:00:00+00:00"  # 08:00 in Shanghai: 张建国 starts a WeChat payment
CLAIMS_AT = "2026-03-20T02:00:00+00:00"
LOOK_AT = "2026-03-20T03:00:00+00:00"  # 11:00: the operator looks
PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}
# The sandbox bank refuses an account ending 0000 (account_invalid, permanent).
BAD_ACCOUNT = "6222020200112230000"
PREMIUM = 8900


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, "JPEG")
    return buf.getvalue()


def _manual_claim(client, token, policy_id, name, account, self_pay_fen, invoice_no) -> int:
    body = {
        "policy_id": policy_id,
        "care_kind": "emergency",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-03-01",
        "discharged_on": "2026-03-01",
        "diagnosis": "急性胃肠炎",
        "medfee_sumamt_fen": self_pay_fen + 60_000,
        "hifp_pay_fen": 60_000,
        "in_policy_self_pay_fen": self_pay_fen,
        "payee": {**PAYEE, "name": name, "bank_account": account},
        "invoices": [
            {"issuer": "赣州市人民医院", "number": invoice_no, "amount_fen": self_pay_fen + 60_000}
        ],
    }
    draft = client.post("/claims", headers=bearer(token), json=body)
    assert draft.status_code == 201, draft.get_json()
    claim_id = draft.get_json()["id"]
    for doc_type in ("invoice", "settlement_sheet"):
        resp = client.post(
            f"/claims/{claim_id}/documents",
            headers=bearer(token),
            data={"doc_type": doc_type, "file": (io.BytesIO(_jpeg()), "a.jpg", "image/jpeg")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_json()
    resp = client.post(f"/claims/{claim_id}/submit", headers={**bearer(token), **key()})
    assert resp.get_json()["status"] == "pending_review", resp.get_json()
    return claim_id


@pytest.fixture
def live(fast_password_hashing, app_factory, residents):
    """The scenario, the claims and the pending payment (see the module doc). Thresholds low
    enough for this small world to raise each warning: a budget from 10% used (the relief fund
    has spent 8,900 of its 89,000), failing payouts and fraud flags from one."""
    app = seed_catalogues_on(
        seed_app(
            app_factory(
                DASHBOARD_BUDGET_WARN_BP=1000,
                DASHBOARD_PAYOUT_FAILURE_MIN=1,
                DASHBOARD_FRAUD_MIN_FLAGGED=1,
            )
        )
    )
    client = app.test_client()
    scenario = Scenario(app, client, residents)
    scenario.run()
    with time_machine.travel(PENDING_AT, tick=False):
        zhang_jianguo = scenario.member("dashboard-zhangjg", "张建国")
        pending = place_order(client, zhang_jianguo, [], method="wechat")
        resp = client.post(
            f"/orders/{pending['id']}/payments",
            headers={**bearer(zhang_jianguo["token"]), **key()},
            json={"method": "wechat"},
        )
        assert resp.status_code == 200, resp.get_json()
    with time_machine.travel(CLAIMS_AT, tick=True):
        token = login(client, "disclosure-zhang")["access_token"]
        policies = {
            p["insured_name_masked"]: p
            for p in client.get("/policies", headers=bearer(token)).get_json()
        }
        mine = policies["*伟"]
        records = client.get(
            f"/policies/{mine['id']}/settlement-records", headers=bearer(token)
        ).get_json()
        [february] = [r for r in records if r["claimable"]]
        # 张伟's February stay stays under the deductible: closed with nothing to pay.
        closed = client.post(
            "/claims/from-settlement",
            headers={**bearer(token), **key()},
            json={"policy_id": mine["id"], "setl_id": february["setl_id"], "payee": PAYEE},
        ).get_json()
        assert (closed["status"], closed["paid_fen"]) == ("closed", 0), closed
        reviewer = factories.staff_principal(app, "demo-reviewer")
        from app.claims import services as claims

        # 李娜 (20,000 yuan self-paid) and 张小宝 (paid to his father's account ending 0000):
        # both approved by the reviewer; the first is paid, the second's transfer fails and the
        # claim goes back to review.
        paid = _manual_claim(
            client, token, policies["*娜"]["id"], "李娜", PAYEE["bank_account"], 2_000_000, "D1"
        )
        failing = _manual_claim(
            client, token, policies["**宝"]["id"], "张伟", BAD_ACCOUNT, 1_800_000, "D2"
        )
        with app.app_context():
            for claim_id in (paid, failing):
                claims.assign(reviewer, claim_id, None)
            assert claims.approve(reviewer, paid, "材料齐全").status == "paid"
            assert claims.approve(reviewer, failing, "材料齐全").status == "pending_review"
        # 张伟: a small claim on an invoice already used by 李娜's (flagged duplicate_invoice),
        # which the reviewer rejects.
        rejected = _manual_claim(
            client, token, mine["id"], "张伟", PAYEE["bank_account"], 30_000, "D1"
        )
        factories.assign_claim(app, "demo-reviewer", rejected)
        factories.reject_claim(app, "demo-reviewer", rejected)
    return {"app": app, "client": client, "pending": pending}


def _claims_rows(app) -> list[Claim]:
    with app.app_context():
        rows = list(get_session().scalars(select(Claim).order_by(Claim.id)))
        get_session().expunge_all()
        return rows


def test_every_figure(live, residents):
    app = live["app"]
    with time_machine.travel(LOOK_AT, tick=False), app.app_context():
        d = dashboard()
    assert d["today"] == "2026-03-20"
    assert d["product"]["code"] == "ganzhou-demo-2026"

    # Enrolled and still covered: 张伟, 李娜, 张小宝 (December), 刘强 and 孙丽 (January 28);
    # 陈静 surrendered; 张建国 has not paid.
    e = d["enrollment"]
    assert (e["total"], e["today"]) == (5, 0)
    assert e["by_insurance_type"] == {"employee": 2, "resident": 3, "unknown": 0}
    assert e["by_funding_source"] == {
        "personal_account": 3,
        "wechat": 1,
        "employer": 0,
        "charity": 0,
        "relief_fund": 1,
        "paired_assistance": 0,
    }
    # The last 30 days, 2026-02-19 .. 2026-03-20: nobody enrolled in them.
    assert [x["date"] for x in e["by_day"]][::29] == ["2026-02-19", "2026-03-20"]
    assert len(e["by_day"]) == 30 and sum(x["people"] for x in e["by_day"]) == 0
    # Areas from the insured people's medical-insurance area codes (the bureau's insuplc_admdvs).
    expected_areas: dict[str, int] = {}
    for name in ("张伟", "李娜", "张小宝", "刘强", "孙丽"):
        code = residents[name].insuplc_admdvs
        expected_areas[code] = expected_areas.get(code, 0) + 1
    assert expected_areas == {"360702": 3, "360722": 1, "360781": 1}
    by_area = {row["area_code"]: row for row in e["by_area"]}
    assert {code: row["people"] for code, row in by_area.items() if row["people"]} == (
        expected_areas
    )
    assert len(by_area) == 18 and by_area["360702"]["name"] == "章贡区"

    # 5 of 8,600,000 = 0.0006% -> 0.01% half up; the target is 20%: 1,720,000 people.
    assert d["participation"] == {
        "enrolled": 5,
        "population": 8_600_000,
        "rate_bp": 0,
        "rate_display": "0.00%",
        "target_bp": 2000,
        "target_people": 1_720_000,
        "progress_bp": 0,
        "reached": False,
    }
    assert d["premiums"] == {
        "collected_fen": 53_400,
        "refunded_fen": 8_900,
        "net_fen": 44_500,
        "collected_by_source_fen": {
            "personal_account": 32_634,
            "wechat": 8_900,
            "employer": 2_966,
            "charity": 0,
            "relief_fund": 8_900,
            "paired_assistance": 0,
        },
    }

    claims = {c.claim_no: c for c in _claims_rows(app)}
    [paid_claim] = [c for c in claims.values() if c.status == "paid"]
    [failed_claim] = [c for c in claims.values() if c.status == "pending_review"]
    assert d["claims"] == {
        "received": 4,
        "in_review": 1,
        "approved": 0,
        "paid": 1,
        "rejected": 1,
        "closed": 1,
        "reversed": 0,
        "approved_unpaid_fen": 0,
    }
    paid_fen = paid_claim.paid_fen
    failed_fen = failed_claim.payable_fen
    assert paid_fen > 0 and failed_fen > 0
    assert d["payouts"] == {
        "paid": 1,
        "paid_fen": paid_fen,
        "failed": 1,
        "failed_fen": failed_fen,
        "pending": 0,
        "pending_fen": 0,
    }

    # Loss ratio: the settlement's own figures; projected over 79 of 365 days of cover.
    lr = d["loss_ratio"]
    assert (lr["claims_paid_fen"], lr["net_premium_fen"]) == (paid_fen, 44_500)
    assert lr["loss_ratio_bp"] == (2 * paid_fen * 10_000 + 44_500) // (2 * 44_500)
    assert (lr["floor_bp"], lr["corridor_low_bp"], lr["corridor_high_bp"]) == (8000, 9500, 10500)
    assert (lr["coverage_days"], lr["elapsed_days"]) == (365, 31 + 28 + 20)
    numerator, denominator = paid_fen * 365 * 10_000, 79 * 44_500
    assert lr["projected_bp"] == (2 * numerator + denominator) // (2 * denominator)

    warnings = {w["code"]: w for w in d["warnings"]}
    # The paid claim alone is far above 105% of the premium.
    assert lr["projected_bp"] > 10_500
    assert warnings["loss_ratio_projected_above_corridor"]["level"] == "critical"
    assert (
        warnings["loss_ratio_projected_above_corridor"]["figures"]["projected_loss_ratio_bp"]
        == (lr["projected_bp"])
    )
    # The relief fund: 8,900 of 89,000 committed = 10%, at the test's threshold.
    budget = warnings["sponsor_budget_nearly_spent"]
    assert (
        budget["figures"]["budget_total_fen"],
        budget["figures"]["budget_committed_fen"],
        budget["figures"]["used_bp"],
    ) == (89_000, 8_900, 1000)
    assert "低保特困人员惠民保资助" in budget["message"]
    # 张建国's WeChat payment: pending since 08:00, three hours at 11:00.
    backlog = warnings["reconciliation_backlog"]
    assert (backlog["level"], backlog["figures"]) == (
        "warning",
        {
            "kind": "payment",
            "count": 1,
            "amount_fen": PREMIUM,
            "oldest_age_seconds": 3 * 3600,
            "age_threshold_seconds": 3600,
        },
    )
    # One transfer failed of the two made today: 50%, at the critical threshold.
    failing = warnings["payouts_failing"]
    assert (failing["level"], failing["figures"]) == (
        "critical",
        {
            "window_days": 7,
            "succeeded": 1,
            "failed": 1,
            "failed_fen": failed_fen,
            "failed_share_bp": 5000,
            "warn_bp": 1000,
        },
    )
    # Fraud flags, from the stored flags of the four claims submitted today; no claim in the 28
    # days before, so any flagged claim is unusual.
    flagged = sum(has_fraud_flag(c.flags or []) for c in claims.values())
    assert flagged == 1  # the duplicate invoice (a failed transfer's flag is not a fraud flag)
    fraud = warnings["fraud_flags_unusual"]
    assert (fraud["level"], fraud["figures"]) == (
        "warning",
        {
            "window_days": 7,
            "baseline_days": 28,
            "recent_claims": 4,
            "recent_flagged": 1,
            "recent_share_bp": 2500,
            "baseline_claims": 0,
            "baseline_flagged": 0,
            "baseline_share_bp": None,
            "factor_pct": 200,
        },
    )
    assert len(d["warnings"]) == 5


def test_a_new_enrollment_moves_the_figures(live, residents):
    """周军 (a resident of 章贡区, 360702) enrolls and pays by WeChat at 11:00: one more person
    today, as a resident paying by WeChat, in 章贡区; premiums up by 8,900."""
    app, client = live["app"], live["client"]
    with time_machine.travel(LOOK_AT, tick=False), app.app_context():
        before = dashboard()
    with time_machine.travel(LOOK_AT, tick=False):
        scenario = Scenario(app, client, residents)
        scenario.enroll_paid(scenario.member("dashboard-zhoujun", "周军"), method="wechat")
        with app.app_context():
            after = dashboard()
    e0, e1 = before["enrollment"], after["enrollment"]
    assert (e1["total"], e1["today"]) == (e0["total"] + 1, e0["today"] + 1) == (6, 1)
    assert e1["by_day"][-1] == {"date": "2026-03-20", "people": 1}
    assert e1["by_day"][:-1] == e0["by_day"][:-1]
    assert e1["by_insurance_type"]["resident"] == e0["by_insurance_type"]["resident"] + 1
    assert e1["by_funding_source"]["wechat"] == e0["by_funding_source"]["wechat"] + 1
    area = lambda d: {r["area_code"]: r["people"] for r in d["enrollment"]["by_area"]}  # noqa: E731
    assert residents["周军"].insuplc_admdvs == "360702"
    assert area(after)["360702"] == area(before)["360702"] + 1 == 4
    assert after["premiums"]["collected_fen"] == before["premiums"]["collected_fen"] + PREMIUM
    assert after["participation"]["enrolled"] == 6


def test_the_areas_are_counted_again_only_after_an_event(live, residents):
    """The dashboard polls; its by-area figures (the one join of enrollments to people) are
    kept per version of the product's counters: a refresh with nothing new does not run the
    area query again, one after 周军 enrolls does, and counts him."""
    app, client = live["app"], live["client"]
    area_queries: list[str] = []

    def seen(conn, cursor, statement, *args):
        if "GROUP BY persons.region_code" in statement:
            area_queries.append(statement)

    area = lambda d: {r["area_code"]: r["people"] for r in d["enrollment"]["by_area"]}  # noqa: E731
    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with time_machine.travel(LOOK_AT, tick=False):
            with app.app_context():
                first = dashboard()
            with app.app_context():
                again = dashboard()
            assert len(area_queries) == 1  # the refresh used the kept rows
            assert again["enrollment"]["by_area"] == first["enrollment"]["by_area"]
            scenario = Scenario(app, client, residents)
            scenario.enroll_paid(scenario.member("dashboard-zhoujun", "周军"), method="wechat")
            with app.app_context():
                after = dashboard()
            assert len(area_queries) == 2  # an enrollment moved the counters: counted again
            with app.app_context():
                dashboard()
            assert len(area_queries) == 2
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert area(after)["360702"] == area(first)["360702"] + 1 == 4


def test_the_api_gives_the_same_figures_to_operators_only(live):
    app, client = live["app"], live["client"]
    with time_machine.travel(LOOK_AT, tick=False):
        operator = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)["access_token"]
        reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)["access_token"]
        resp = client.get("/staff/dashboard", headers=bearer(operator))
        with app.app_context():
            expected = dashboard()
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == expected
        assert client.get("/staff/dashboard", headers=bearer(reviewer)).status_code == 403
        assert client.get("/staff/dashboard").status_code == 401
        member = login(client, "disclosure-zhang")["access_token"]
        assert client.get("/staff/dashboard", headers=bearer(member)).status_code == 401
        unknown = client.get("/staff/dashboard?product=no-such", headers=bearer(operator))
        assert unknown.status_code == 404
        bad = client.get("/staff/dashboard?product=NO%20SUCH", headers=bearer(operator))
        assert bad.status_code == 422
        # The product asked for by code, retired ones included: 沪惠保 2021 has no activity.
        old = client.get("/staff/dashboard?product=huhuibao-2021", headers=bearer(operator))
        assert old.get_json()["enrollment"]["total"] == 0
        assert old.get_json()["participation"]["target_bp"] is None

    # No personal data: no name, ID number, bank account or claim number in the body.
    body = resp.get_data(as_text=True)
    for rows in _claims_rows(app):
        assert rows.claim_no not in body
    for text in ("张伟", "李娜", "张小宝", "刘强", "孙丽", "陈静", "张建国", "6222020200"):
        assert text not in body
    assert "360702198" not in body


def test_value_estimates_and_their_conversions_are_counted(live):
    """Three estimates shown for the product's year, one of those members enrolled: 3 shown, 1
    converted, 33.33%. Counts only: the figures carry no person."""
    from app.database import transaction
    from app.disclosure.aggregates import bump, record_estimate_shown
    from app.disclosure.metrics import ESTIMATES_CONVERTED

    app = live["app"]
    with time_machine.travel(LOOK_AT, tick=False), app.app_context():
        before = dashboard()
        product = before["product"]
        from sqlalchemy import select as sel

        from app.database import get_session
        from app.products.models import Product

        product_id = get_session().scalar(sel(Product.id).where(Product.code == product["code"]))
        with transaction() as session:
            for _ in range(3):
                record_estimate_shown(session, product_id, product["plan_year"], date(2026, 3, 20))
            bump(
                session,
                product_id=product_id,
                plan_year=product["plan_year"],
                on=date(2026, 3, 20),
                metric=ESTIMATES_CONVERTED,
            )
        after = dashboard()
    assert before["value_estimates"] == {"shown": 0, "converted": 0, "conversion_bp": None}
    assert after["value_estimates"] == {"shown": 3, "converted": 1, "conversion_bp": 3333}
