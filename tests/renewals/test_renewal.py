"""Renewal (续保): consent at enrollment or later (versioned, revocable), the operator's run when
next year's window opens (re-verify, debit the personal account or notify to pay), every outcome
visible to the member and in the run's report, resumable after an interruption, and idempotent
(running twice renews once)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.config import Config
from app.database import get_session
from app.outbox.models import OutboxEvent
from app.policies.models import Policy
from app.renewals import runs
from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import family as family
from tests.enrollment.conftest import frozen as frozen
from tests.enrollment.conftest import key, order_body, pay
from tests.enrollment.test_orders import PREMIUM, balance

CONSENT = {"version": Config.RENEWAL_CONSENT_VERSION, "accepted": True}
DECEMBER = "2026-12-06T02:00:00+00:00"  # 10:00 in Shanghai: the 2027 window is open


@pytest.fixture
def enrolled(app, client, family):
    """张伟 pays for himself, his wife and his son in November 2026, agreeing at enrollment to
    renew himself and his wife from his personal account; the son's renewal is agreed later,
    to be paid by hand."""
    body = order_body(
        client,
        [family["spouse"]],
        renewal={"auto_debit": True, "consent": CONSENT},
    )
    resp = client.post("/orders", headers={**bearer(family["token"]), **key()}, json=body)
    assert resp.status_code == 201, resp.get_json()
    assert pay(client, family, resp.get_json()["id"]).get_json()["state"] == "paid"
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, [family["child"]], include_self=False),
    )
    assert pay(client, family, resp.get_json()["id"]).get_json()["state"] == "paid"
    policies = client.get("/policies", headers=bearer(family["token"])).get_json()
    assert {p["plan_year"] for p in policies} == {2026} and len(policies) == 3
    child_policy = next(p for p in policies if p["insured_person_id"] not in mine(client, family))
    resp = client.post(
        "/renewals/consents",
        headers=bearer(family["token"]),
        json={"policy_id": child_policy["id"], "auto_debit": False, "consent": CONSENT},
    )
    assert resp.status_code == 201, resp.get_json()
    family["traveller"].move_to(DECEMBER)
    family["token"] = factories.login(app, "family-zhang")["access_token"]  # a new day's login
    return family


def mine(client, family) -> set[int]:
    """The people with an auto-debit consent."""
    body = client.get("/renewals", headers=bearer(family["token"])).get_json()
    return {c["person_id"] for c in body["consents"] if c["auto_debit"]}


def policies_of_year(app, year: int) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(Policy).where(Policy.plan_year == year)
        )


def start(client, operator):
    return client.post(
        "/staff/renewal-runs",
        headers={**bearer(operator), **key()},
        json={"product_code": "ganzhou-demo-2027"},
    )


@pytest.fixture
def operator(seeded):
    return factories.staff_token(seeded, "demo-operator")


def test_consent_is_recorded_with_its_version_and_checked(client, family):
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(
            client,
            [],
            renewal={"auto_debit": True, "consent": {"version": "renewal-2020", "accepted": True}},
        ),
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "renewal_consent_outdated"
    assert client.get("/orders", headers=bearer(family["token"])).get_json() == []  # no order
    resp = client.post(
        "/orders",
        headers={**bearer(family["token"]), **key()},
        json=order_body(client, [], renewal={"consent": {**CONSENT, "accepted": False}}),
    )
    assert resp.get_json()["code"] == "renewal_consent_not_accepted"
    body = client.get("/renewals", headers=bearer(family["token"])).get_json()
    assert body == {"consent_text_version": "renewal-2026-12", "consents": [], "outcomes": []}


def test_the_run_renews_by_consent_and_every_outcome_is_visible(app, client, enrolled, operator):
    before = balance(app)
    resp = start(client, operator)
    assert resp.status_code == 201, resp.get_json()
    report = resp.get_json()
    assert (report["status"], report["total"], report["processed"]) == ("completed", 3, 3)
    assert report["counts"]["renewed"] == 2 and report["counts"]["awaiting_payment"] == 1
    assert balance(app) == before - 2 * PREMIUM  # husband and wife, from his account
    assert policies_of_year(app, 2027) == 2

    body = client.get("/renewals", headers=bearer(enrolled["token"])).get_json()
    outcomes = {o["status"]: o for o in body["outcomes"]}
    assert sorted(o["status"] for o in body["outcomes"]) == [
        "awaiting_payment",
        "renewed",
        "renewed",
    ]
    assert all(o["plan_year"] == 2027 for o in body["outcomes"])
    assert "2027-01-01 至 2027-12-31" in outcomes["renewed"]["message"]
    assert "89.00 元" in outcomes["awaiting_payment"]["message"]
    assert outcomes["awaiting_payment"]["status_label"].startswith("待缴费")
    renewed = client.get(
        f"/policies/{outcomes['renewed']['policy_id']}", headers=bearer(enrolled["token"])
    ).get_json()
    assert (renewed["plan_year"], renewed["coverage_start"]) == (2027, "2027-01-01")
    with app.app_context():
        kinds = get_session().scalars(select(OutboxEvent.kind)).all()
    assert sorted(k for k in kinds if k.startswith("renewal.")) == [
        "renewal.awaiting_payment",
        "renewal.renewed",
        "renewal.renewed",
    ]

    # Running twice renews once: a second run finds nothing left to do.
    again = start(client, operator).get_json()
    assert (again["status"], again["total"]) == ("completed", 0)
    assert policies_of_year(app, 2027) == 2 and balance(app) == before - 2 * PREMIUM


def test_opting_out_before_the_run(app, client, enrolled, operator):
    body = client.get("/renewals", headers=bearer(enrolled["token"])).get_json()
    wife = next(c for c in body["consents"] if c["relation"] == "spouse")
    resp = client.post(f"/renewals/consents/{wife['id']}/revoke", headers=bearer(enrolled["token"]))
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
    report = start(client, operator).get_json()
    assert report["total"] == 2 and report["counts"]["renewed"] == 1
    assert policies_of_year(app, 2027) == 1


def test_an_interrupted_run_resumes_where_it_stopped(app, client, enrolled, operator, monkeypatch):
    real = runs.process
    calls = []

    def crash_on_second(outcome_id):
        calls.append(outcome_id)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(outcome_id)

    monkeypatch.setattr(runs, "process", crash_on_second)
    report = start(client, operator).get_json()
    assert (report["status"], report["processed"], report["error_code"]) == (
        "failed",
        1,
        "internal_error",
    )
    monkeypatch.setattr(runs, "process", real)
    resp = client.post(f"/staff/renewal-runs/{report['id']}/resume", headers=bearer(operator))
    assert resp.status_code == 200, resp.get_json()
    resumed = resp.get_json()
    assert (resumed["status"], resumed["processed"], resumed["runs"]) == ("completed", 3, 2)
    assert resumed["counts"]["renewed"] == 2 and policies_of_year(app, 2027) == 2
    # A finished run is not started again.
    again = client.post(f"/staff/renewal-runs/{report['id']}/resume", headers=bearer(operator))
    assert again.status_code == 409 and again.get_json()["code"] == "renewal_run_busy"


def test_a_run_stopped_after_ordering_settles_from_the_order(app, client, enrolled, operator):
    """The order and the debit happened, the outcome was not yet written (a crash): resuming
    settles it from the paid order instead of ordering again."""
    from app.renewals.models import RenewalOutcome

    report = start(client, operator).get_json()
    with app.app_context():
        session = get_session()
        outcome = session.scalar(
            select(RenewalOutcome).where(RenewalOutcome.status == "renewed").limit(1)
        )
        outcome.status = "pending"  # as if the process died before concluding
        session.commit()
        assert runs.process(outcome.id) == "renewed"
    assert policies_of_year(app, 2027) == 2 and report["counts"]["renewed"] == 2


def test_only_an_operator_starts_a_run_and_only_in_the_window(app, client, enrolled, operator):
    reviewer = factories.staff_token(app, "demo-reviewer")
    assert start(client, reviewer).status_code == 403
    assert start(client, enrolled["token"]).status_code in (401, 403)
    enrolled["traveller"].move_to("2027-01-02T02:00:00+00:00")
    resp = start(client, factories.staff_token(app, "demo-operator"))
    assert resp.status_code == 422 and resp.get_json()["code"] == "renewal_window_closed"


def test_the_cli_runs_and_reports(app, enrolled):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["renewals", "run", "ganzhou-demo-2027"])
    assert result.exit_code == 0, result.output
    assert "completed" in result.output and "renewed: 2" in result.output
    run_id = result.output.split()[1].rstrip(":")
    report = runner.invoke(args=["renewals", "report", run_id])
    assert "awaiting_payment: 1" in report.output
    bad = runner.invoke(args=["renewals", "run", "ganzhou-demo-2026"])
    assert bad.exit_code != 0 and "renewal_not_offered" in bad.output


def test_the_demo_family_is_the_cohort_the_run_renews(app, client, seeded):
    """`flask demo seed` enrolls 张伟's family with an auto-debit renewal consent; in December
    `flask renewals run ganzhou-demo-2027` renews all three, each outcome visible to him."""
    import time_machine

    from app.demo.family import DEMO_CODE, seed_family
    from app.demo.residents import generate
    from tests.conftest import login

    with time_machine.travel(DECEMBER, tick=True):
        with app.app_context():
            assert seed_family(generate(10)) == 3
        result = app.test_cli_runner().invoke(args=["renewals", "run", "ganzhou-demo-2027"])
        assert result.exit_code == 0, result.output
        assert "renewed: 3" in result.output
        token = login(client, DEMO_CODE)["access_token"]
        body = client.get("/renewals", headers=bearer(token)).get_json()
        assert [o["status"] for o in body["outcomes"]] == ["renewed"] * 3
        years = client.get("/policies", headers=bearer(token)).get_json()
        assert sorted(p["plan_year"] for p in years) == [2026, 2026, 2026, 2027, 2027, 2027]


def test_re_verification_and_eligibility_decide_each_outcome(app, client, enrolled, operator):
    """李娜's basic insurance was suspended since she enrolled: the bureau's fresh answer makes
    her not eligible. The son was already enrolled for 2027 by hand: nothing to renew."""
    from sqlalchemy import update

    from app.database import transaction
    from app.integrations.bureau.sandbox_models import SandboxResident
    from tests.enrollment.test_orders import SHOWCASE

    with app.app_context(), transaction() as s:
        s.execute(
            update(SandboxResident)
            .where(SandboxResident.psn_no == SHOWCASE["李娜"].psn_no)
            .values(psn_insu_stas="2")
        )
    resp = client.post(
        "/orders",
        headers={**bearer(enrolled["token"]), **key()},
        json=order_body(client, [enrolled["child"]], include_self=False),
    )
    assert resp.status_code == 201 and resp.get_json()["plan_year"] == 2027
    assert pay(client, enrolled, resp.get_json()["id"]).get_json()["state"] == "paid"
    # One policy (or open order) per person per plan year: 2027 is taken now, 2026 was before.
    again = client.post(
        "/quotes",
        headers=bearer(enrolled["token"]),
        json={"include_self": False, "relative_ids": [enrolled["child"]]},
    ).get_json()
    assert (again["plan_year"], again["coverage_start"]) == (2027, "2027-01-01")
    assert [r["code"] for r in again["lines"][0]["reasons"]] == ["already_insured"]
    report = start(client, operator).get_json()
    by_status = {o["status"]: o for o in report["outcomes"]}
    assert sorted(by_status) == ["already_insured", "not_eligible", "renewed"]
    assert by_status["not_eligible"]["reason_code"] == "basic_insurance_suspended"
    assert "暂停" in by_status["not_eligible"]["message"]
    assert by_status["already_insured"]["name_masked"] == "**宝"


def test_a_consent_given_with_an_order_is_written_in_the_orders_own_transaction(
    app, client, family, monkeypatch
):
    """The order and the consents given with it commit together, whoever calls the service
    (not only inside the keyed route's one transaction): when writing a consent is refused, no
    order is left behind; over HTTP the refusal is the key's answer."""
    from app.enrollment.models import Order
    from app.enrollment.services import Selection
    from app.error_catalogue import E
    from app.errors import DomainError
    from app.members.models import Relative
    from app.renewals import services

    def refuse(*args, **kwargs):
        raise E.renewal_payer_only()

    body = order_body(client, [family["spouse"]], renewal={"auto_debit": True, "consent": CONSENT})
    monkeypatch.setattr(services, "_record", refuse)
    with app.app_context():
        session = get_session()
        member_id = session.get_one(Relative, family["spouse"]).member_id
        with pytest.raises(DomainError):
            services.create_order_with_consent(
                member_id,
                body["renewal"],
                product_code=None,
                selection=Selection(True, (family["spouse"],)),
                payment_method="personal_account",
                terms_version=body["terms"]["version"],
                terms_accepted=True,
            )
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    headers = {**bearer(family["token"]), **key()}
    resp = client.post("/orders", headers=headers, json=body)
    assert resp.status_code == 422 and resp.get_json()["code"] == "renewal_payer_only"
    assert client.get("/orders", headers=bearer(family["token"])).get_json() == []
    again = client.post("/orders", headers=headers, json=body)
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") == "true"
    monkeypatch.undo()
    placed = client.post("/orders", headers={**bearer(family["token"]), **key()}, json=body)
    assert placed.status_code == 201, placed.get_json()
    consents = client.get("/renewals", headers=bearer(family["token"])).get_json()["consents"]
    assert len(consents) == 2  # 张伟 and his wife, with the order


def test_a_relative_the_member_removed_is_not_renewed_from_his_account(
    app, client, enrolled, operator
):
    """张伟 removes his wife from his relatives after consenting to renew her from his personal
    account: the run renews him alone and debits one premium, and tells him why not her."""
    before = balance(app)
    resp = client.delete(f"/me/relatives/{enrolled['spouse']}", headers=bearer(enrolled["token"]))
    assert resp.status_code == 204
    report = start(client, operator).get_json()
    by_name = {o["name_masked"]: o for o in report["outcomes"]}
    assert by_name["*伟"]["status"] == "renewed"
    assert (by_name["*娜"]["status"], by_name["*娜"]["reason_code"]) == (
        "not_eligible",
        "relative_removed",
    )
    assert by_name["*娜"]["policy_id"] is None
    assert balance(app) == before - PREMIUM  # his own premium only
    assert policies_of_year(app, 2027) == 1


def test_a_member_who_withdrew_consent_is_not_renewed(app, client, enrolled, operator):
    """张伟 withdraws his consent to the processing of personal information (PIPL art. 15): the
    run verifies, orders and debits nothing for his account, and tells him why."""
    before = balance(app)
    resp = client.post("/me/consents/withdrawal", headers=bearer(enrolled["token"]))
    assert resp.status_code == 200
    report = start(client, operator).get_json()
    assert {(o["status"], o["reason_code"]) for o in report["outcomes"]} == {
        ("failed", "consent_withdrawn")
    }
    assert all(o["policy_id"] is None for o in report["outcomes"])
    assert balance(app) == before
    assert policies_of_year(app, 2027) == 0


def test_an_unpaid_order_by_hand_is_not_reported_as_insured(app, client, enrolled, operator):
    """张伟 started a WeChat order for his wife's 2027 cover and has not paid it when the run
    comes: her auto-debit renewal cannot be ordered (one open order per person and year), and she
    is not insured either, so the outcome asks him to pay that order (it may still close unpaid),
    and nothing is debited for her."""
    before = balance(app)
    resp = client.post(
        "/orders",
        headers={**bearer(enrolled["token"]), **key()},
        json=order_body(client, [enrolled["spouse"]], include_self=False, method="wechat"),
    )
    assert resp.status_code == 201 and resp.get_json()["status"] == "pending_payment"
    report = start(client, operator).get_json()
    wife = next(o for o in report["outcomes"] if o["name_masked"] == "*娜")
    assert (wife["status"], wife["reason_code"]) == ("awaiting_payment", "order_unpaid")
    assert "已投保" not in wife["message"] and "尚未支付" in wife["message"]
    assert balance(app) == before - PREMIUM  # his own renewal only
    assert policies_of_year(app, 2027) == 1
