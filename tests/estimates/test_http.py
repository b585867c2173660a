"""The value estimate through HTTP: consent, the estimate for the 张 family, its equality with
one-tap claims on the same records, withdrawal, relatives, rate limit, audit, counters."""

from __future__ import annotations

from sqlalchemy import func, select

from app.config import Config
from tests.claims.conftest import insured_family, key  # noqa: F401  (fixture)
from tests.conftest import bearer

CONSENT = {"consent": {"accepted": True, "text_version": Config.ESTIMATE_CONSENT_TEXT_VERSION}}
PAYEE = {"name": "张伟", "bank_name": "工商银行", "bank_account": "6222020200112233445"}


def _consent(client, token):
    resp = client.post("/me/value-estimate/consent", headers=bearer(token), json=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _estimate(client, token):
    return client.post("/me/value-estimate", headers=bearer(token))


def test_estimate_needs_consent(client, insured_family):
    token = insured_family["token"]
    resp = _estimate(client, token)
    assert resp.status_code == 403
    assert resp.get_json()["code"] == "estimate_consent_required"


def test_estimate_equals_one_tap_claims(client, insured_family):
    token = insured_family["token"]
    assert _consent(client, token)["granted"] is True
    resp = _estimate(client, token)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert "不是对过去或未来赔付的承诺" in body["notice"]
    people = {p["name"]: p for p in body["people"]}
    assert set(people) == {"张伟", "李娜", "张小宝"}
    assert all(p["included"] for p in people.values())
    assert body["total"]["payable_fen"] == sum(p["payable_fen"] for p in people.values())
    assert body["total"]["premium_fen"] == 3 * 8900
    # the same records, claimed one tap at a time in order of care on the family's policies
    claimed_total = 0
    for masked, policy in insured_family["by_name"].items():
        person = next(p for p in people.values() if p["name"][-1] == masked[-1])
        run = [r for r in person["records"] if r["skipped_reason"] is None]
        assert run, person
        for record in sorted(run, key=lambda r: (r["care_start"], r["setl_id"])):
            claim = client.post(
                "/claims/from-settlement",
                headers={**bearer(token), **key()},
                json={
                    "policy_id": policy["id"],
                    "setl_id": record["setl_id"],
                    "payee": PAYEE | ({"name": "李娜"} if person["name"] == "李娜" else {}),
                },
            )
            assert claim.status_code == 201, claim.get_json()
            paid = claim.get_json()["adjudication"]
            assert paid["payable_fen"] == record["payable_fen"], record
            # line by line: the same explanation the claim shows
            assert [l["zh"] for l in paid["lines"]] == [l["zh"] for l in record["lines"]]
            claimed_total += paid["payable_fen"]
    assert claimed_total == body["total"]["payable_fen"]
    assert claimed_total > 0


def _audit(app, action: str) -> list:
    """(object_id, detail) of the audit rows with this action, oldest first."""
    from app.audit.models import AuditEvent
    from app.database import get_session

    with app.app_context():
        rows = get_session().execute(
            select(AuditEvent.object_id, AuditEvent.detail)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        out = [tuple(r) for r in rows]
        get_session().rollback()
    return out


def _counter(app, metric: str) -> int:
    from app.database import get_session
    from app.disclosure.models import DisclosureCounter

    with app.app_context():
        value = get_session().scalar(
            select(func.coalesce(func.sum(DisclosureCounter.value), 0)).where(
                DisclosureCounter.metric == metric
            )
        )
        get_session().rollback()
    return value


def _set(app, fn) -> None:
    from app.database import transaction

    with app.app_context(), transaction() as s:
        fn(s)


def test_withdrawing_consent_stops_estimates(app, client, insured_family):
    token = insured_family["token"]
    _consent(client, token)
    assert _estimate(client, token).status_code == 200
    gone = client.delete("/me/value-estimate/consent", headers=bearer(token))
    assert gone.status_code == 200 and gone.get_json()["granted"] is False
    refused = _estimate(client, token)
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "estimate_consent_withdrawn"
    again = client.delete("/me/value-estimate/consent", headers=bearer(token))
    assert again.status_code == 409 and again.get_json()["code"] == "estimate_consent_not_given"
    # consent given again: estimates again
    _consent(client, token)
    assert _estimate(client, token).status_code == 200
    granted = _audit(app, "estimate.consent_granted")
    assert len(granted) == 2 and len(_audit(app, "estimate.consent_withdrawn")) == 1
    assert granted[0][1] == {"text_version": "estimate-2026-12"}


def test_refused_consent_is_not_recorded(app, client, insured_family):
    body = {"consent": {"accepted": False, "text_version": "estimate-2026-12"}}
    resp = client.post(
        "/me/value-estimate/consent", headers=bearer(insured_family["token"]), json=body
    )
    assert resp.status_code == 403 and resp.get_json()["code"] == "estimate_consent_required"
    assert _audit(app, "estimate.consent_granted") == []


def test_consent_to_another_text_version_is_refused_and_not_recorded(app, client, insured_family):
    """A separate consent is to the text the member was shown (current_text_version), not to
    whatever string is sent, e.g. the null `text_version` of a member who never consented."""
    token = insured_family["token"]
    shown = client.get("/me/value-estimate/consent", headers=bearer(token)).get_json()
    assert shown["text_version"] is None and shown["current_text_version"] == "estimate-2026-12"
    for version in ("None", "estimate-2025-01"):
        body = {"consent": {"accepted": True, "text_version": version}}
        resp = client.post("/me/value-estimate/consent", headers=bearer(token), json=body)
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["code"] == "estimate_consent_outdated"
        assert "estimate-2026-12" in resp.get_json()["detail"]
    assert _audit(app, "estimate.consent_granted") == []
    assert _estimate(client, token).get_json()["code"] == "estimate_consent_required"


def test_each_fetch_is_audited_without_personal_data(app, client, insured_family):
    token = insured_family["token"]
    _consent(client, token)
    body = _estimate(client, token).get_json()
    fetched = _audit(app, "estimate.records_fetched")
    assert sorted(r[0] for r in fetched) == sorted(p["person_id"] for p in body["people"])
    for _, detail in fetched:
        assert set(detail) == {"relation", "plan_year", "records"}
        text = repr(detail)
        assert not any(p["name"] in text for p in body["people"])
    assert len(_audit(app, "estimate.shown")) == 1


def test_only_verified_relatives_and_the_guardians_child(app, client, insured_family):
    from app.members.models import Person, Relative

    token = insured_family["token"]
    people = {p["insured_name_masked"]: p for p in insured_family["policies"]}
    assert people  # the family: 张伟, 李娜 (spouse), 张小宝 (child, guardian consent)

    def unverify_spouse_and_drop_guardian_consent(s):
        for rel in s.scalars(select(Relative)):
            if rel.relation == "spouse":
                person = s.get(Person, rel.person_id)
                person.psn_no, person.verified_at = None, None
            if rel.relation == "child":
                rel.guardian_consent_id = None

    _set(app, unverify_spouse_and_drop_guardian_consent)
    _consent(client, token)
    body = _estimate(client, token).get_json()
    by_relation = {p["relation"]: p for p in body["people"]}
    assert by_relation["self"]["included"] is True
    assert by_relation["spouse"]["included"] is False
    assert "尚未完成医保身份核验" in by_relation["spouse"]["excluded_reason"]
    assert by_relation["child"]["included"] is False
    assert "监护人" in by_relation["child"]["excluded_reason"]
    for p in (by_relation["spouse"], by_relation["child"]):
        assert p["records"] == [] and p["payable_fen"] == 0
    # nothing was fetched for them, and the total is the member's own
    fetched = _audit(app, "estimate.records_fetched")
    assert [r[0] for r in fetched] == [by_relation["self"]["person_id"]]
    assert body["total"]["payable_fen"] == by_relation["self"]["payable_fen"]
    assert body["total"]["premium_fen"] == by_relation["self"]["premium_fen"]


def test_rate_limited_as_identity_checks(app_factory, residents):
    import time_machine

    from tests import factories
    from tests.conftest import seed_app, seed_catalogues_on
    from tests.enrollment.conftest import NOW

    limited = seed_catalogues_on(seed_app(app_factory(RATE_LIMIT_ESTIMATE_PER_USER="2 per hour")))
    client = limited.test_client()
    with time_machine.travel(NOW, tick=True):
        token = factories.verified_member(limited, "estimate-rl", residents["张伟"])["access_token"]
        _consent(client, token)
        assert _estimate(client, token).status_code == 200
        assert _estimate(client, token).status_code == 200
        refused = _estimate(client, token)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"]
    # refused before the bureau was asked: two fetches audited, not three
    assert len(_audit(limited, "estimate.records_fetched")) == 2


def test_counters_shown_and_converted(app_factory, residents):
    import time_machine

    from tests import factories
    from tests.conftest import seed_app, seed_catalogues_on
    from tests.enrollment.conftest import NOW

    seeded = seed_catalogues_on(seed_app(app_factory()))
    client = seeded.test_client()
    with time_machine.travel(NOW, tick=True):
        made = factories.verified_member(seeded, "estimate-conv", residents["张伟"])
        member_id, token = made["member_id"], made["access_token"]
        spouse = factories.relative(seeded, member_id, residents["李娜"], "spouse")
        child = factories.relative(seeded, member_id, residents["张小宝"], "child")
        factories.order(seeded, member_id, pay=True)  # enrolled before any estimate
        assert _counter(seeded, "estimates_converted") == 0
        _consent(client, token)
        assert _estimate(client, token).status_code == 200
        assert _estimate(client, token).status_code == 200
        assert _counter(seeded, "estimates_shown") == 2
        assert _counter(seeded, "estimates_converted") == 0
        factories.order(seeded, member_id, [spouse], include_self=False, pay=True)
        assert _counter(seeded, "estimates_converted") == 1
        factories.order(seeded, member_id, [child], include_self=False, pay=True)
    assert _counter(seeded, "estimates_converted") == 1  # once per member and plan year
    assert _counter(seeded, "estimates_shown") == 2
    # the counters carry no person: only product, year, month, metric
    assert len(_audit(seeded, "estimate.converted")) == 1


def test_a_renewal_is_not_a_conversion(app_factory, residents):
    """The conversion counts people the estimate brought in: a member renewing next year's
    cover for a person insured by the product it renews is not one, a newly insured relative
    is. 2026-12-06: the 2027 product (renewing the 2026 one) is on sale."""
    import time_machine

    from tests import factories
    from tests.conftest import seed_app, seed_catalogues_on
    from tests.enrollment.conftest import NOW

    seeded = seed_catalogues_on(seed_app(app_factory()))
    client = seeded.test_client()
    with time_machine.travel(NOW, tick=True):
        made = factories.verified_member(seeded, "estimate-renew", residents["张伟"])
        member_id = made["member_id"]
        child = factories.relative(seeded, member_id, residents["张小宝"], "child")
        factories.order(seeded, member_id, pay=True)  # 2026: 张伟 insured
    with time_machine.travel("2026-12-06T02:00:00+00:00", tick=True):
        token = factories.login(seeded, "estimate-renew")["access_token"]
        _consent(client, token)
        shown = _estimate(client, token)
        assert (shown.status_code, shown.get_json()["plan_year"]) == (200, 2027)
        renewed = factories.order(seeded, member_id, pay=True)  # 2027: 张伟 again, a renewal
        assert renewed["status"] == "paid"
        assert _counter(seeded, "estimates_converted") == 0
        factories.order(seeded, member_id, [child], include_self=False, pay=True)  # new to cover
    assert _counter(seeded, "estimates_converted") == 1
    assert len(_audit(seeded, "estimate.converted")) == 1


def test_nothing_fetched_is_stored(app, client, insured_family):
    from app.claims.line_models import ClaimFeeLine
    from app.claims.models import AccumulatorEntry, AccumulatorYear, Claim
    from app.database import get_session
    from app.members.models import Consent

    def counts():
        with app.app_context():
            s = get_session()
            out = {
                model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (Claim, ClaimFeeLine, AccumulatorYear, AccumulatorEntry, Consent)
            }
            s.rollback()
        return out

    token = insured_family["token"]
    _consent(client, token)
    before = counts()
    body = _estimate(client, token).get_json()
    assert body["total"]["payable_fen"] > 0
    assert counts() == before  # no claim, no line, no accumulator: the records left with the answer


def test_in_december_last_year_is_matched_against_its_own_catalogues(app, client, insured_family):
    """With next year's product on sale (December), the estimate recomputes the past year under
    its terms, and each record's fee lines are matched against the catalogues in force on the
    date of care: the 2026 product's (2027's own lists start with its cover). 张伟's stroke stay
    has 依达拉奉右莰醇 on the 2026 商保目录, so the out-of-policy bucket pays for it, as a one-tap
    claim on that record does; the terms being the same, the year pays what it paid in November."""
    import time_machine

    from tests import factories

    token = insured_family["token"]
    _consent(client, token)
    november = _estimate(client, token).get_json()
    with time_machine.travel("2026-12-06T02:00:00+00:00", tick=True):
        token = factories.login(app, "claims-zhang")["access_token"]
        resp = _estimate(client, token)
        assert resp.status_code == 200, resp.get_json()
        december = resp.get_json()
    assert (december["plan_year"], december["period"]["plan_year"]) == (2027, 2026)
    him = next(p for p in december["people"] if p["name"] == "张伟")
    assert {b["bucket"] for b in him["by_bucket"]} >= {"in_policy", "out_of_policy"}
    lines = [l["zh"] for r in him["records"] for l in r.get("lines", [])]
    assert not any("无生效的商保目录版本" in line for line in lines)
    assert december["total"] == november["total"]
