"""The member's consents, withdrawal, unbinding and closure over HTTP (/me/consents,
/me/consents/withdrawal, DELETE /me/identity, /me/closure), with the sandbox bureau."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.database import get_session
from app.enrollment.models import Order
from app.identity.services import person_index
from app.members.models import Consent, Member, Person, Relative
from tests import factories
from tests.conftest import CONSENT, add_relative, bearer, login, verify
from tests.web.conftest import ENROLLED_AT, file_claim

PROBLEM = "application/problem+json"
AFTER_COVER = "2027-01-15T02:00:00+00:00"  # the 2026 cover has ended


def count(app, model, *where) -> int:
    with app.app_context():
        n = get_session().scalar(select(func.count()).select_from(model).where(*where))
        get_session().rollback()
        return n


def person_exists(app, resident) -> bool:
    with app.app_context():
        found = get_session().scalar(
            select(Person.id).where(Person.id_number_index == person_index(resident.certno))
        )
        get_session().rollback()
        return found is not None


def assert_problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_json()
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["code"] == code, body
    assert any("\u4e00" <= c <= "\u9fff" for c in body["detail"]), body  # Chinese for the phone
    return body


def no_id_numbers(app, text: str, *residents) -> None:
    for r in residents:
        assert r.certno not in text
    with app.app_context():
        details = " ".join(str(d) for d in get_session().scalars(select(AuditEvent.detail)))
        get_session().rollback()
    for r in residents:
        assert r.certno not in details


@pytest.fixture
def zhang(seeded, residents):
    """张伟, verified, with his wife 李娜 added (tokens and member_id)."""
    made = factories.verified_member(seeded, "privacy-zhang", residents["张伟"])
    factories.relative(seeded, made["member_id"], residents["李娜"], "spouse")
    return made


@pytest.fixture
def insured(seeded, residents):
    """张伟 and 李娜 insured for 2026 (enrolled last December), with a claim for 李娜 under
    review; the member's tokens, member_id, policy_id of 李娜 and the claim's id."""
    with time_machine.travel(ENROLLED_AT, tick=True):
        made = factories.verified_member(seeded, "privacy-insured", residents["张伟"])
        spouse = factories.relative(seeded, made["member_id"], residents["李娜"], "spouse")
        order = factories.order(seeded, made["member_id"], [spouse], pay=True)
    assert order["status"] == "paid", order
    with seeded.app_context():
        self_person = get_session().get(Member, made["member_id"]).person_id
        get_session().rollback()
    [policy_id] = [p["id"] for p in order["policies"] if p["person_id"] != self_person]
    claim = file_claim(seeded, made["member_id"], policy_id)
    made = factories.login(seeded, "privacy-insured")  # tokens of today, not of last December
    return made | {"policy_id": policy_id, "claim_id": claim["id"], "order_no": order["order_no"]}


# --- consents ----------------------------------------------------------------------------------


def test_the_member_sees_what_they_consented_to(client, zhang):
    resp = client.get("/me/consents", headers=bearer(zhang["access_token"]))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["personal_information"]["state"] == "granted"
    assert body["personal_information"]["state_label"] == "已同意"
    subjects = {(r["purpose"], r["subject_label"]) for r in body["records"]}
    assert ("identity_verification", "本人") in subjects
    assert ("identity_verification", "配偶") in subjects
    assert all(r["text_version"] and r["recorded_at"] for r in body["records"])
    notice = body["withdrawal"]
    assert "已生效的保单继续有效，保障期间和保障责任不变" in notice["continues"]
    assert any("核验" in s for s in notice["stops"])


def test_the_order_terms_and_renewal_consents_are_listed(client, insured, residents):
    token = insured["access_token"]
    version = client.application.config["RENEWAL_CONSENT_VERSION"]
    renewal = client.post(
        "/renewals/consents",
        headers=bearer(token),
        json={
            "policy_id": insured["policy_id"],
            "consent": {"version": version, "accepted": True},
        },
    )
    assert renewal.status_code == 201, renewal.get_json()
    resp = client.get("/me/consents", headers=bearer(token))
    body = resp.get_json()
    [terms] = body["product_terms"]
    assert terms["order_no"] == insured["order_no"]
    assert terms["terms_version"] and terms["agreed_at"] and terms["product_name"]
    [listed] = body["renewal_consents"]
    assert listed["text_version"] == version and listed["status"] == "active"
    assert listed["relation"] == "spouse" and listed["name_masked"] != "李娜"
    no_id_numbers(client.application, resp.get_data(as_text=True), residents["李娜"])


def test_withdrawal_stops_new_processing_and_calls_no_bureau(client, zhang, residents, monkeypatch):
    app, token = client.application, zhang["access_token"]
    resp = client.post("/me/consents/withdrawal", headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["personal_information"]["state"] == "withdrawn"
    assert count(app, AuditEvent, AuditEvent.action == "privacy.consent_withdrawn") == 1

    from app.identity import services as identity

    def no_bureau(*args, **kwargs):
        raise AssertionError("the bureau was asked after a withdrawal")

    monkeypatch.setattr(identity, "lookup_with_limits", no_bureau)
    refused = [
        add_relative(client, token, residents["张建国"], "parent"),
        verify(client, token, residents["张伟"]),
        client.post("/me/identity/refresh", headers=bearer(token)),
        client.post("/quotes", headers=bearer(token), json={"include_self": True}),
        client.post("/me/value-estimate", headers=bearer(token)),
    ]
    for resp in refused:
        body = assert_problem(resp, 422 if resp.status_code == 422 else 403, "consent_required")
        assert "您已撤回个人信息处理同意" in body["detail"]
    # what exists is still shown
    assert client.get("/me/relatives", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=bearer(token)).get_json()["identity_verified"] is True


def test_withdrawing_twice_records_one_withdrawal(client, zhang):
    app, token = client.application, zhang["access_token"]
    first = client.post("/me/consents/withdrawal", headers=bearer(token))
    again = client.post("/me/consents/withdrawal", headers=bearer(token))
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    withdrawn = Consent.purpose == "identity_verification_withdrawn"
    assert count(app, Consent, withdrawn) == 1


def test_nothing_to_withdraw_before_any_consent(client, seeded):
    token = login(client, "privacy-fresh")["access_token"]
    resp = client.post("/me/consents/withdrawal", headers=bearer(token))
    assert_problem(resp, 409, "conflict")


def test_consenting_again_resumes_processing(client, zhang, residents):
    token = zhang["access_token"]
    client.post("/me/consents/withdrawal", headers=bearer(token))
    resp = client.post("/me/consents", headers=bearer(token), json=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["personal_information"] == {
        "state": "granted",
        "state_label": "已同意",
        "text_version": CONSENT["text_version"],
        "recorded_at": resp.get_json()["personal_information"]["recorded_at"],
    }
    added = add_relative(client, token, residents["张建国"], "parent")
    assert added.status_code == 201, added.get_json()


@pytest.mark.parametrize(
    "body, code",
    [
        ({"accepted": False, "text_version": "pi-2026-01"}, "consent_required"),
        ({"accepted": True}, "validation_failed"),  # which text was read is required
        ({"accepted": True, "text_version": ""}, "validation_failed"),
        ({"accepted": True, "text_version": "pi-2026-01", "extra": 1}, "validation_failed"),
    ],
)
def test_consenting_again_refuses_bad_input(client, zhang, body, code):
    token = zhang["access_token"]
    client.post("/me/consents/withdrawal", headers=bearer(token))
    assert_problem(client.post("/me/consents", headers=bearer(token), json=body), 422, code)
    state = client.get("/me/consents", headers=bearer(token)).get_json()
    assert state["personal_information"]["state"] == "withdrawn"


def test_what_stays_after_a_withdrawal(client, insured, seeded):
    """The policy is seen and keeps covering; the claim under review runs on (answering the
    reviewer); a new claim or a new order is refused until the member consents again."""
    token = insured["access_token"]
    factories.assign_claim(seeded, "demo-reviewer", insured["claim_id"])
    factories.request_claim_info(seeded, "demo-reviewer", insured["claim_id"], "请补充说明")
    assert client.post("/me/consents/withdrawal", headers=bearer(token)).status_code == 200

    policies = client.get("/policies", headers=bearer(token)).get_json()
    assert {p["status"] for p in policies} == {"active"}
    claim = client.get(f"/claims/{insured['claim_id']}", headers=bearer(token))
    assert claim.status_code == 200
    answered = client.post(
        f"/claims/{insured['claim_id']}/answer", headers=bearer(token), json={"message": "已说明"}
    )
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["status"] == "pending_review"

    new_claim = client.post(
        "/claims",
        headers=bearer(token),
        json={"policy_id": insured["policy_id"], "care_kind": "emergency"},
    )
    assert_problem(new_claim, 422, "consent_required")


# --- unbinding ---------------------------------------------------------------------------------


def test_unbinding_a_wrong_identity_erases_it_and_frees_the_account(client, seeded, residents):
    app = client.application
    token = login(client, "privacy-wrong")["access_token"]
    assert verify(client, token, residents["张建国"]).status_code == 200
    resp = client.delete("/me/identity", headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["identity_verified"] is False and resp.get_json()["person"] is None
    assert not person_exists(app, residents["张建国"])  # nobody else holds him: erased
    assert count(app, AuditEvent, AuditEvent.action == "identity.unbound") == 1
    # the right identity can now be bound
    assert verify(client, token, residents["张伟"]).status_code == 200
    no_id_numbers(app, resp.get_data(as_text=True), residents["张建国"])


def test_a_person_someone_else_holds_is_kept_on_unbind(client, seeded, residents):
    app = client.application
    other = factories.verified_member(seeded, "privacy-holder", residents["张伟"])
    factories.relative(seeded, other["member_id"], residents["李娜"], "spouse")
    token = login(client, "privacy-mistake")["access_token"]
    assert verify(client, token, residents["李娜"]).status_code == 200
    assert client.delete("/me/identity", headers=bearer(token)).status_code == 200
    assert person_exists(app, residents["李娜"])  # 张伟's wife stays on his account


def test_unbinding_is_refused_when_an_order_rests_on_it(client, insured, residents):
    app, token = client.application, insured["access_token"]
    resp = client.delete("/me/identity", headers=bearer(token))
    body = assert_problem(resp, 409, "identity_unbind_blocked")
    codes = {b["code"] for b in body["errors"]["blockers"]}
    assert {"has_orders", "has_policies", "has_claims"} <= codes
    assert client.get("/me", headers=bearer(token)).get_json()["identity_verified"] is True
    assert count(app, AuditEvent, AuditEvent.action == "identity.unbound") == 0
    no_id_numbers(app, resp.get_data(as_text=True), residents["张伟"], residents["李娜"])


def test_nothing_to_unbind(client, seeded):
    token = login(client, "privacy-unbound")["access_token"]
    assert_problem(
        client.delete("/me/identity", headers=bearer(token)), 422, "identity_not_verified"
    )


# --- closure -----------------------------------------------------------------------------------


def test_closing_an_empty_account(client, zhang, residents):
    app, token = client.application, zhang["access_token"]
    preview = client.get("/me/closure", headers=bearer(token)).get_json()
    assert preview["can_close"] is True and preview["blockers"] == []
    assert preview["retain_until"] is None  # nothing under retention

    resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["closed"] is True and body["closed_at"] and body["retain_until"] is None

    # tokens revoked, the openid freed: the same WeChat login makes a new account
    refreshed = client.post("/auth/refresh", json={"refresh_token": zhang["refresh_token"]})
    assert refreshed.status_code == 401
    again = login(client, "privacy-zhang")
    assert again["member_id"] != zhang["member_id"] and again["identity_verified"] is False
    # the people the account held, referenced by nothing else, are erased; relatives gone
    assert not person_exists(app, residents["张伟"]) and not person_exists(app, residents["李娜"])
    assert count(app, Relative, Relative.member_id == zhang["member_id"]) == 0
    [event] = _events(app, "member.closed")
    assert event["people_erased"] == 2 and event["people_retained"] == 0
    # the session ends with the account: the same access token is refused at once
    second = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert_problem(second, 401, "refresh_token_revoked")
    refused = add_relative(client, token, residents["张建国"], "parent")
    assert_problem(refused, 401, "refresh_token_revoked")
    # closing again (a retry that lost its answer) answers the same and audits once
    with app.app_context():
        from app.members.closure import close_account

        assert close_account(zhang["member_id"])["closed_at"].isoformat() == body["closed_at"]
    assert len(_events(app, "member.closed")) == 1
    no_id_numbers(app, resp.get_data(as_text=True), residents["张伟"], residents["李娜"])


def _events(app, action: str) -> list[dict]:
    """The audit details of `action`'s rows."""
    with app.app_context():
        rows = list(
            get_session().scalars(select(AuditEvent.detail).where(AuditEvent.action == action))
        )
        get_session().rollback()
        return rows


def test_closure_is_refused_while_cover_and_a_claim_are_open(client, insured):
    token = insured["access_token"]
    preview = client.get("/me/closure", headers=bearer(token)).get_json()
    assert preview["can_close"] is False
    resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    body = assert_problem(resp, 409, "account_closure_blocked")
    blockers = {b["code"]: b["count"] for b in body["errors"]["blockers"]}
    assert blockers == {"policy_in_force": 2, "claim_not_final": 1}
    assert {b["code"] for b in preview["blockers"]} == set(blockers)
    assert client.get("/me", headers=bearer(token)).get_json()["closed_at"] is None


def test_closure_after_cover_ended_keeps_the_insurance_records(client, insured, residents, seeded):
    """The claim is settled, the 2026 cover has ended: the account closes, the insured people
    and their records are kept until 2031-12-31 (five years after the cover's end)."""
    app = client.application
    factories.assign_claim(seeded, "demo-reviewer", insured["claim_id"])
    factories.reject_claim(seeded, "demo-reviewer", insured["claim_id"])
    with time_machine.travel(AFTER_COVER, tick=True):
        token = factories.login(seeded, "privacy-insured")["access_token"]
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["retain_until"] == "2031-12-31"
    assert person_exists(app, residents["张伟"]) and person_exists(app, residents["李娜"])
    assert count(app, Order, Order.member_id == insured["member_id"]) == 1
    with app.app_context():
        member = get_session().get(Member, insured["member_id"])
        assert member.openid == f"closed:{member.id}" and member.person_id is None
        get_session().rollback()
    [event] = _events(app, "member.closed")
    assert event["people_retained"] == 2 and event["retain_until"] == "2031-12-31"
    no_id_numbers(app, resp.get_data(as_text=True), residents["张伟"], residents["李娜"])


DECIDED = "2026-12-10T02:00:00+00:00"  # 10:00 in Shanghai; 复核 may be asked until 2027-01-09
IN_RECHECK_PERIOD = "2027-01-02T02:00:00+00:00"  # the 2026 cover has ended, 复核 still open


def _closure_at(client, seeded, at: str) -> tuple[str, dict]:
    with time_machine.travel(at, tick=True):
        token = factories.login(seeded, "privacy-insured")["access_token"]
        return token, client.get("/me/closure", headers=bearer(token)).get_json()


def test_closure_preview_warns_that_closing_gives_up_a_recheck(client, insured, seeded):
    """A reviewer's rejection may be taken to 复核 for CLAIM_RECHECK_DAYS; a closed account can
    ask for nothing. The preview lists such a claim as a warning, not a blocker, with a Chinese
    text saying closing gives the right up; closing is still allowed; once the period is over
    there is nothing to warn of."""
    with time_machine.travel(DECIDED, tick=True):
        factories.assign_claim(seeded, "demo-reviewer", insured["claim_id"])
        factories.reject_claim(seeded, "demo-reviewer", insured["claim_id"])
        token = factories.login(seeded, "privacy-insured")["access_token"]
        during_cover = client.get("/me/closure", headers=bearer(token)).get_json()
    # while the cover runs it blocks; the open 复核 is a warning beside it
    assert [b["code"] for b in during_cover["blockers"]] == ["policy_in_force"]
    assert [w["code"] for w in during_cover["warnings"]] == ["claim_recheck_open"]

    _, after_period = _closure_at(client, seeded, AFTER_COVER)
    assert after_period["can_close"] is True and after_period["warnings"] == []

    token, preview = _closure_at(client, seeded, IN_RECHECK_PERIOD)
    assert preview["can_close"] is True and preview["blockers"] == []
    [warning] = preview["warnings"]
    assert warning["code"] == "claim_recheck_open" and warning["count"] == 1
    assert "注销账号即视为放弃申请复核的权利" in warning["message"]
    assert "2027年01月09日 10:00" in warning["message"]
    [claim] = warning["claims"]
    assert claim["id"] == insured["claim_id"] and claim["claim_no"]
    assert claim["recheck_deadline"].startswith("2027-01-09T02:00:00")
    with time_machine.travel(IN_RECHECK_PERIOD, tick=True):
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200, resp.get_json()  # a warning, not a blocker
    assert resp.get_json()["closed"] is True and resp.get_json()["warnings"] == []


def test_a_recheck_asked_is_no_longer_a_warning_but_a_claim_not_final(client, insured, seeded):
    with time_machine.travel(DECIDED, tick=True):
        factories.assign_claim(seeded, "demo-reviewer", insured["claim_id"])
        factories.reject_claim(seeded, "demo-reviewer", insured["claim_id"])
    token, _ = _closure_at(client, seeded, IN_RECHECK_PERIOD)
    with time_machine.travel(IN_RECHECK_PERIOD, tick=True):
        asked = client.post(
            f"/claims/{insured['claim_id']}/recheck",
            headers=bearer(token),
            json={"reason": "手术属于保障范围，请复核"},
        )
        assert asked.status_code == 200, asked.get_json()
        preview = client.get("/me/closure", headers=bearer(token)).get_json()
    assert preview["warnings"] == []
    assert [b["code"] for b in preview["blockers"]] == ["claim_not_final"]


@pytest.mark.parametrize(
    "body",
    [None, {}, {"confirm": False}, {"confirm": "yes please"}, {"confirm": True, "reason": "x"}],
)
def test_closure_needs_a_confirmation(client, zhang, body):
    token = zhang["access_token"]
    resp = client.post("/me/closure", headers=bearer(token), json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] in ("validation_failed", "bad_request")
    assert client.get("/me", headers=bearer(token)).get_json()["closed_at"] is None


# --- one member cannot act for another ---------------------------------------------------------


def test_each_member_acts_on_their_own_account_only(client, seeded, residents, insured):
    a = factories.verified_member(seeded, "privacy-other", residents["张建国"])["access_token"]
    b = insured["access_token"]
    assert client.post("/me/consents/withdrawal", headers=bearer(a)).status_code == 200
    b_view = client.get("/me/consents", headers=bearer(b)).get_json()
    assert b_view["personal_information"]["state"] == "granted"  # B untouched
    a_view = client.get("/me/consents", headers=bearer(a)).get_json()
    assert a_view["product_terms"] == []  # B's order is not in A's view
    assert insured["order_no"] not in str(a_view)
    # A's closure closes A only
    assert client.post("/me/closure", headers=bearer(a), json={"confirm": True}).status_code == 200
    assert client.get("/me", headers=bearer(b)).get_json()["closed_at"] is None
    assert client.get("/me/closure", headers=bearer(b)).get_json()["closed"] is False


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/me/consents"),
        ("POST", "/me/consents"),
        ("POST", "/me/consents/withdrawal"),
        ("DELETE", "/me/identity"),
        ("GET", "/me/closure"),
        ("POST", "/me/closure"),
    ],
)
def test_anonymous_callers_are_refused(client, seeded, method, path):
    resp = client.open(path, method=method, json={"confirm": True})
    assert resp.status_code == 401 and resp.get_json()["code"] == "token_missing"


def test_a_withdrawal_stops_fetching_settlement_records(client, insured, monkeypatch):
    """Listing a policy's settlement records asks the bureau for health data (the one-tap claim's
    first step): after a withdrawal it is refused before the bureau is asked."""
    from app.integrations.bureau.sandbox import SandboxBureau

    token = insured["access_token"]
    path = f"/policies/{insured['policy_id']}/settlement-records"
    assert client.get(path, headers=bearer(token)).status_code == 200
    assert client.post("/me/consents/withdrawal", headers=bearer(token)).status_code == 200

    def no_bureau(*args, **kwargs):
        raise AssertionError("the bureau was asked for settlement records after a withdrawal")

    monkeypatch.setattr(SandboxBureau, "settlement_records", no_bureau)
    body = assert_problem(client.get(path, headers=bearer(token)), 422, "consent_required")
    assert "您已撤回个人信息处理同意" in body["detail"]
