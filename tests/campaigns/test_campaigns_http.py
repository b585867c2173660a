"""Invite campaigns through HTTP: a charity admin makes a campaign, the QR code decodes (zxing-cpp)
to a link that previews the campaign to anyone, and a verified resident who redeems it is insured
at once at the charity's cost; the quota, the budget and every refusal behave as documented."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from app.campaigns.models import Campaign, CampaignRedemption
from app.database import get_session, utcnow
from app.enrollment.models import LedgerEntry, Order
from app.identity.idnumber import mask
from app.members.models import Person
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from app.sponsors.services import check_programmes
from tests.campaigns.conftest import PREMIUM, local, token_of
from tests.conftest import add_relative, bearer
from tests.enrollment.conftest import place_order
from tests.security.support import assert_leaks_nothing, assert_problem, person_secrets
from tests.sponsors.conftest import EMPLOYER_USCC, uscc


def _count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def _ledgers_consistent(app) -> None:
    with app.app_context():
        assert check_programmes() == []
        assert check_ledger() == []


def test_scan_the_qr_code_preview_and_be_enrolled_for_free(campaigns, app, client, residents):
    admin, programme = campaigns.charity(budget_fen=3 * PREMIUM)
    campaign = campaigns.campaign(admin, programme["id"], quota=2)
    assert (campaign["claimed"], campaign["places_left"], campaign["effective_status"]) == (
        0,
        2,
        "active",
    )

    # The QR code decodes to the very link the staff view shows, on PUBLIC_BASE_URL.
    png = client.get(campaign["qr_png_url"], headers=bearer(admin))
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.format == "PNG" and min(image.size) >= 300 and not image.info
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == campaign["link"]
    assert decoded.text.startswith("http://127.0.0.1:5000/public/campaigns/preview?token=")

    # Following the link: a public preview, the same for anyone, with nothing personal in it.
    preview = client.get(local(decoded.text))
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["organisation_name"] == "赣州市慈善总会" and body["organisation_kind"] == "charity"
    assert body["product_name"] == "赣州惠民保 2026（示范）" and body["plan_year"] == 2026
    assert body["premium_fen_max"] == PREMIUM and body["places_left"] == 2
    assert body["expires_on"] == "2026-12-31" and "全额资助" in body["pays"]
    assert (body["coverage_start"], body["coverage_end"]) == ("2026-01-01", "2026-12-31")

    # 刘强 scans (logged in, verified): insured at once, nothing to pay.
    liu = campaigns.resident("刘强")
    resp = campaigns.redeem(liu, token_of(decoded.text))
    assert resp.status_code == 201, resp.get_json()
    first = resp.get_json()
    assert first["created"] is True and first["organisation_name"] == "赣州市慈善总会"
    assert first["policy"]["status"] == "active" and first["policy"]["premium_fen"] == PREMIUM
    assert first["policy"]["insured_name_masked"] == "*强"
    assert client.get("/policies", headers=bearer(liu)).get_json() == [first["policy"]]
    order = client.get(f"/orders/{first['order_id']}", headers=bearer(liu)).get_json()
    assert (order["status"], order["total_pay_fen"], order["total_subsidy_fen"]) == (
        "paid",
        0,
        PREMIUM,
    )

    # Scanning again (another Idempotency-Key): the same policy, 200, nothing new anywhere.
    again = campaigns.redeem(liu, token_of(decoded.text))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["created"] is False and again.get_json()["policy"] == first["policy"]
    assert _count(app, Order) == 1 and _count(app, CampaignRedemption) == 1

    # Money: the charity's budget paid the whole premium, once; every ledger agrees.
    figures = client.get(f"/staff/programmes/{programme['id']}", headers=bearer(admin)).get_json()
    assert (figures["budget_reserved_fen"], figures["beneficiaries_reserved"]) == (PREMIUM, 1)
    assert (
        _count(
            app,
            LedgerEntry,
            LedgerEntry.kind == "sponsor_subsidy",
            LedgerEntry.programme_id == programme["id"],
        )
        == 1
    )
    _ledgers_consistent(app)
    staff_view = client.get(f"/staff/campaigns/{campaign['id']}", headers=bearer(admin)).get_json()
    assert (staff_view["claimed"], staff_view["places_left"]) == (1, 1)


def test_the_link_works_for_anyone_but_enrolls_only_the_caller(campaigns, client, residents):
    """The preview is public and identical for every caller; redeeming needs a member token."""
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    liu = campaigns.resident("刘强")
    answers = [
        client.get(local(link), headers=headers).get_json()
        for headers in ({}, bearer(liu), bearer(admin))
    ]
    assert answers[0] == answers[1] == answers[2]
    resp = client.post(
        "/me/campaign-redemptions",
        headers={**bearer(admin), "Idempotency-Key": "k" * 12},
        json={"token": token_of(link), "terms": {"version": "2026.1", "accepted": True}},
    )
    assert_problem(resp, 401, "token_audience")


def test_already_insured_this_year_is_a_409(campaigns, client, family):
    """张伟 insured himself (personal account) before scanning."""
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"])
    order = place_order(client, family, [])
    assert order["status"] == "pending_payment"  # an open order is already "enrolling"
    body = assert_problem(
        campaigns.redeem(family["token"], token_of(campaign["link"])),
        409,
        "campaign_already_insured",
    )
    assert "已投保" in body["detail"]
    with campaigns.app.app_context():
        assert get_session().get(Campaign, campaign["id"]).claimed == 0


@pytest.mark.parametrize(
    "change, code",
    [
        ({"eligibility": {"categories": ["dibao"]}}, "campaign_not_eligible_category"),
        ({"eligibility": {"min_age": 60}}, "campaign_not_eligible_age"),
        ({"eligibility": {"max_age": 39}}, "campaign_not_eligible_age"),
        ({"eligibility": {"region_prefix": "360722"}}, "campaign_not_eligible_region"),
    ],
)
def test_a_person_outside_the_rules_is_refused_with_the_rule_named(campaigns, app, change, code):
    """张伟: no identity flag, 40 on 2026-01-01 (born 1985-03-12), insured in 360702."""
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"], **change)["link"]
    zhang = campaigns.resident("张伟")
    body = assert_problem(campaigns.redeem(zhang, token_of(link)), 422, code)
    assert "仅限" in body["detail"]
    assert _count(app, Order) == 0 and _count(app, Policy) == 0


@pytest.mark.parametrize(
    "rules",
    [
        {"categories": ["dibao", "disabled"]},
        {"min_age": 57, "max_age": 57},  # 刘强, born 1968-09-30: 57 on 2026-01-01
        {"region_prefix": "360722"},
        {"categories": ["dibao"], "min_age": 18, "region_prefix": "3607"},
    ],
)
def test_a_person_inside_the_rules_is_enrolled(campaigns, rules):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"], eligibility=rules)["link"]
    resp = campaigns.redeem(campaigns.resident("刘强"), token_of(link))
    assert resp.status_code == 201, resp.get_json()


def test_a_category_programme_pays_only_its_categories_whatever_the_campaign_says(campaigns, app):
    """A programme for 低保 and 特困 people: its campaign's own rules (here only the city) do not
    open its money to 张伟, who has no flag; 刘强 (低保) is enrolled. A campaign for a category
    the programme does not pay for is refused when it is made."""
    admin, programme = campaigns.charity(categories=("dibao", "tekun"))
    link = campaigns.campaign(admin, programme["id"], eligibility={"region_prefix": "3607"})["link"]
    body = assert_problem(
        campaigns.redeem(campaigns.resident("张伟"), token_of(link)),
        422,
        "campaign_not_eligible_category",
    )
    assert body["detail"] == "该邀请仅限低保对象、特困人员参加"
    assert _count(app, Order) == 0 and _count(app, Policy) == 0
    resp = campaigns.redeem(campaigns.resident("刘强"), token_of(link))
    assert resp.status_code == 201, resp.get_json()
    refused = campaigns.create(admin, programme["id"], eligibility={"categories": ["disabled"]})
    assert_problem(refused, 422, "campaign_category")


def test_the_product_rules_still_apply(campaigns):
    """王芳's basic insurance is suspended, 赵敏 is insured outside the city: the product's own
    eligibility refuses them, with its own codes."""
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    assert_problem(
        campaigns.redeem(campaigns.resident("王芳"), token_of(link)),
        422,
        "basic_insurance_suspended",
    )
    assert_problem(
        campaigns.redeem(campaigns.resident("赵敏"), token_of(link)), 422, "region_not_covered"
    )


def test_an_unverified_member_must_verify_first(campaigns, client):
    from tests.conftest import login

    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    token = login(client, "never-verified")["access_token"]
    assert_problem(campaigns.redeem(token, token_of(link)), 422, "identity_not_verified")


def test_a_stale_identity_is_checked_with_the_bureau_again(campaigns, app, residents, monkeypatch):
    """A snapshot older than VERIFICATION_MAX_AGE_SECONDS is re-verified before eligibility is
    decided: 刘强 stopped being 低保 since he verified, so a 低保-only campaign refuses him."""
    from app.integrations.bureau.sandbox_models import SandboxResident

    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"], eligibility={"categories": ["dibao"]})["link"]
    liu = campaigns.resident("刘强")
    from app.database import transaction

    with app.app_context(), transaction() as s:
        row = s.scalar(
            select(SandboxResident).where(SandboxResident.psn_no == residents["刘强"].psn_no)
        )
        row.idet_types = []
        person = s.scalar(select(Person).where(Person.psn_no == residents["刘强"].psn_no))
        person.verified_at = utcnow() - timedelta(days=2)
    assert_problem(campaigns.redeem(liu, token_of(link)), 422, "campaign_not_eligible_category")
    with app.app_context():
        person = get_session().scalar(
            select(Person).where(Person.psn_no == residents["刘强"].psn_no)
        )
        assert person.identity_flags == [] and utcnow() - person.verified_at < timedelta(minutes=5)


def test_quota_reached_is_a_409_and_nobody_else_gets_in(campaigns, app, residents):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"], quota=2)["link"]
    for name in ("刘强", "陈静"):
        assert campaigns.redeem(campaigns.resident(name), token_of(link)).status_code == 201
    late = campaigns.resident("周军")
    assert_problem(campaigns.redeem(late, token_of(link)), 409, "campaign_exhausted")
    assert_problem(campaigns.client.get(local(link)), 409, "campaign_exhausted")
    assert _count(app, Policy) == 2
    _ledgers_consistent(app)


def test_budget_exhausted_is_a_409_and_rolls_the_place_back(campaigns, app, client):
    """Budget for one premium shared by two campaigns of one place each: once the first is
    redeemed, the second is refused for the budget, says so on its public page and in the staff
    list (no place left), and the place its scan would have taken is not counted."""
    admin, programme = campaigns.charity(budget_fen=PREMIUM)
    first = campaigns.campaign(admin, programme["id"], quota=1)
    second = campaigns.campaign(admin, programme["id"], quota=1, name="第二批")
    assert client.get(local(second["link"])).get_json()["places_left"] == 1
    assert campaigns.redeem(campaigns.resident("刘强"), token_of(first["link"])).status_code == 201
    body = assert_problem(
        campaigns.redeem(campaigns.resident("陈静"), token_of(second["link"])),
        409,
        "campaign_budget_exhausted",
    )
    assert "预算" in body["detail"]
    assert_problem(client.get(local(second["link"])), 409, "campaign_budget_exhausted")
    staff_view = client.get(f"/staff/campaigns/{second['id']}", headers=bearer(admin)).get_json()
    assert (staff_view["places_left"], staff_view["effective_status"]) == (0, "budget_exhausted")
    with app.app_context():
        assert get_session().get(Campaign, second["id"]).claimed == 0
    assert _count(app, Order) == 1
    _ledgers_consistent(app)


def test_places_left_counts_the_budget_as_well_as_the_quota(campaigns, client):
    admin, programme = campaigns.charity(budget_fen=3 * PREMIUM)
    campaign = campaigns.campaign(admin, programme["id"], quota=3)
    other = campaigns.campaign(admin, programme["id"], quota=2, name="第二批")
    assert client.get(local(campaign["link"])).get_json()["places_left"] == 3
    campaigns.redeem(campaigns.resident("刘强"), token_of(other["link"]))
    campaigns.redeem(campaigns.resident("陈静"), token_of(other["link"]))
    # its own three places are untouched, but the budget pays for one more person only
    assert client.get(local(campaign["link"])).get_json()["places_left"] == 1


def test_a_quota_the_budget_cannot_pay_for_is_refused_with_the_numbers(campaigns):
    admin, programme = campaigns.charity(budget_fen=2 * PREMIUM + 1)
    body = assert_problem(
        campaigns.create(admin, programme["id"], quota=3), 422, "campaign_quota_over_budget"
    )
    assert body["detail"] == (
        "名额 3 人超出项目可资助人数：需资助 3 人，但剩余预算 178.01 元，每人最高资助 89.00 元，"
        "只够资助 2 人。请减少名额或先追加预算"
    )
    assert campaigns.create(admin, programme["id"], quota=2).status_code == 201


def test_revoked_link_is_gone_but_the_policies_it_gave_stay(campaigns, app, client):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"])
    liu = campaigns.resident("刘强")
    first = campaigns.redeem(liu, token_of(campaign["link"])).get_json()
    revoked = client.post(f"/staff/campaigns/{campaign['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["effective_status"] == "revoked" and revoked.get_json()["revoked_at"]
    # Revoking again changes nothing (and is not audited twice).
    again = client.post(f"/staff/campaigns/{campaign['id']}/revoke", headers=bearer(admin))
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]

    for resp in (
        client.get(local(campaign["link"])),
        campaigns.redeem(campaigns.resident("陈静"), token_of(campaign["link"])),
    ):
        body = assert_problem(resp, 410, "campaign_revoked")
        assert "撤销" in body["detail"]
    # 刘强 scanning again still finds his policy: revoking stops new people, not cover given.
    replay = campaigns.redeem(liu, token_of(campaign["link"]))
    assert replay.status_code == 200 and replay.get_json()["policy"]["id"] == first["policy"]["id"]
    with app.app_context():
        from app.audit.models import AuditEvent

        assert (
            get_session().scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "campaign.revoked")
            )
            == 1
        )


def test_expired_link_is_gone(campaigns, client):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"], expires_on="2026-11-30")["link"]
    # 2026-11-30 is still good until midnight in Shanghai (16:00 UTC)...
    with time_machine.travel("2026-11-30T15:59:00+00:00", tick=False):
        assert client.get(local(link)).status_code == 200
    # ...and gone from 2026-12-01 00:00 Shanghai.
    with time_machine.travel("2026-11-30T16:00:01+00:00", tick=True):
        liu = campaigns.resident("刘强")
        assert_problem(client.get(local(link)), 410, "campaign_expired")
        assert_problem(campaigns.redeem(liu, token_of(link)), 410, "campaign_expired")


def test_paused_and_closed_programmes(campaigns, client):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    liu = campaigns.resident("刘强")
    status = f"/staff/programmes/{programme['id']}/status"
    assert client.post(status, headers=bearer(admin), json={"action": "pause"}).status_code == 200
    assert_problem(campaigns.redeem(liu, token_of(link)), 409, "campaign_programme_paused")
    assert client.post(status, headers=bearer(admin), json={"action": "close"}).status_code == 200
    assert_problem(campaigns.redeem(liu, token_of(link)), 410, "campaign_programme_closed")
    assert_problem(client.get(local(link)), 410, "campaign_programme_closed")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # MAC altered
        lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # payload altered
        lambda t: t.split(".")[0],  # MAC missing
        lambda t: "not-a-token",
        lambda t: t + ".extra",
    ],
)
def test_forged_or_altered_links_are_a_plain_404(campaigns, client, mangle):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    forged = mangle(token_of(link))
    body = assert_problem(
        client.get("/public/campaigns/preview", query_string={"token": forged}),
        404,
        "campaign_link_invalid",
    )
    assert "二维码无效" in body["detail"]
    assert_leaks_nothing(
        client.get("/public/campaigns/preview", query_string={"token": forged}),
        ["赣州市慈善总会", "扫码领取惠民保"],
    )
    assert_problem(
        campaigns.redeem(campaigns.resident("刘强"), forged), 404, "campaign_link_invalid"
    )


def test_a_certificate_token_is_not_a_campaign_token(campaigns, client, family):
    """Different keys and domains: a genuine policy-certificate token opens no campaign."""
    from tests.enrollment.conftest import pay

    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    [policy] = client.get("/policies", headers=bearer(family["token"])).get_json()
    cert = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(family["token"]))
    cert_token = token_of(cert.get_json()["verify_url"])
    assert_problem(
        client.get("/public/campaigns/preview", query_string={"token": cert_token}),
        404,
        "campaign_link_invalid",
    )


def test_terms_must_be_accepted_and_current(campaigns):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    liu = campaigns.resident("刘强")
    assert_problem(campaigns.redeem(liu, token_of(link), accepted=False), 422, "terms_not_accepted")
    assert_problem(
        campaigns.redeem(liu, token_of(link), version="2025.9"), 422, "terms_version_outdated"
    )


def test_the_same_idempotency_key_replays_the_first_answer(campaigns, app):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    liu = campaigns.resident("刘强")
    first = campaigns.redeem(liu, token_of(link), key="scan-once-0001")
    replay = campaigns.redeem(liu, token_of(link), key="scan-once-0001")
    assert first.status_code == replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == first.get_json() and _count(app, Order) == 1


# --- staff side -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"programme_id": 999999}, 404, "programme_not_found"),
        ({"expires_on": "2027-01-01"}, 422, "campaign_expiry_after_programme"),
        ({"expires_on": "2026-11-22"}, 422, "campaign_expiry_past"),
        ({"eligibility": {"min_age": 70, "max_age": 60}}, 422, "campaign_age_range"),
        ({"eligibility": {"region_prefix": "36-07"}}, 422, "validation_failed"),
        ({"eligibility": {"categories": ["rich"]}}, 422, "validation_failed"),
        ({"quota": 0}, 422, "validation_failed"),
        ({"quota": "5"}, 422, "validation_failed"),
        ({"unknown": 1}, 422, "validation_failed"),
    ],
)
def test_campaign_validation(campaigns, change, status, code):
    admin, programme = campaigns.charity()
    change = dict(change)
    programme_id = change.pop("programme_id", programme["id"])
    assert_problem(campaigns.create(admin, programme_id, **change), status, code)


def test_only_a_full_premium_programme_can_back_a_campaign(campaigns, sponsors):
    """A campaign enrolls with nothing to pay; a partial rule would leave a remainder."""
    org = sponsors.organisation(EMPLOYER_USCC, "赣州某科技有限公司", "employer")
    admin = sponsors.admin(org["id"], "employer_admin")
    programme = sponsors.programme(
        admin,
        rule={"kind": "percentage", "basis_points": 5000},
        roster_only=True,
        budget_fen=10_000,
    )
    assert_problem(campaigns.create(admin, programme["id"]), 422, "campaign_programme_not_full")


def test_a_closed_programme_takes_no_new_campaign(campaigns, client):
    admin, programme = campaigns.charity()
    client.post(
        f"/staff/programmes/{programme['id']}/status",
        headers=bearer(admin),
        json={"action": "close"},
    )
    assert_problem(campaigns.create(admin, programme["id"]), 409, "programme_closed")


def test_another_organisations_programme_cannot_back_a_campaign(campaigns, sponsors):
    _admin_a, programme = campaigns.charity()
    other = sponsors.organisation(uscc("51360700MJ5555555"), "另一慈善会", "charity")
    admin_b = sponsors.admin(other["id"], "charity_admin")
    body = assert_problem(campaigns.create(admin_b, programme["id"]), 404, "programme_not_found")
    assert "慈善助保" not in str(body)


def test_staff_list_filters_and_effective_status(campaigns, client):
    admin, programme = campaigns.charity()
    first = campaigns.campaign(admin, programme["id"], name="第一期")
    second = campaigns.campaign(admin, programme["id"], name="第二期", quota=1)
    campaigns.redeem(campaigns.resident("刘强"), token_of(second["link"]))
    client.post(f"/staff/campaigns/{first['id']}/revoke", headers=bearer(admin))
    listed = client.get("/staff/campaigns", headers=bearer(admin)).get_json()
    assert [(c["name"], c["status"], c["effective_status"]) for c in listed] == [
        ("第二期", "active", "exhausted"),
        ("第一期", "revoked", "revoked"),
    ]
    active = client.get(
        "/staff/campaigns", headers=bearer(admin), query_string={"status": "active"}
    )
    assert [c["id"] for c in active.get_json()] == [second["id"]]
    other = client.get(
        "/staff/campaigns",
        headers=bearer(admin),
        query_string={"programme_id": programme["id"] + 1},
    )
    assert other.get_json() == []


def test_the_sponsor_sees_the_campaign_beneficiary_masked(campaigns, client, residents):
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    campaigns.redeem(campaigns.resident("刘强"), token_of(link))
    page = client.get("/staff/reports/beneficiaries", headers=bearer(admin))
    assert page.status_code == 200, page.get_json()
    [row] = page.get_json()["items"]
    assert row["insured_name_masked"] == "*强"
    assert row["id_number_masked"] == mask(residents["刘强"].certno)
    assert_leaks_nothing(page, person_secrets(residents["刘强"])[:2] + [residents["刘强"].psn_no])


def test_an_invitation_enrolls_the_scanners_verified_relative(campaigns, app, client, residents):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"], quota=2)
    chen = campaigns.resident("陈静")
    added = add_relative(client, chen, residents["周军"], "parent")
    assert added.status_code == 201, added.get_json()
    relative_id = added.get_json()["id"]

    first = campaigns.redeem(chen, token_of(campaign["link"]), relative_id=relative_id)
    assert first.status_code == 201, first.get_json()
    policy = first.get_json()["policy"]
    assert policy["insured_name_masked"] == "*军" and policy["status"] == "active"
    # scanning again for the same relative answers with the same policy; the member's own
    # redemption is a second person and a second place
    again = campaigns.redeem(chen, token_of(campaign["link"]), relative_id=relative_id)
    assert again.status_code == 200 and again.get_json()["policy"]["id"] == policy["id"]
    mine = campaigns.redeem(chen, token_of(campaign["link"]))
    assert mine.status_code == 201, mine.get_json()
    assert mine.get_json()["policy"]["insured_name_masked"] == "*静"
    with app.app_context():
        assert get_session().get(Campaign, campaign["id"]).claimed == 2
    # the member holds the relative's policy: it is in their list
    listed = client.get("/policies", headers=bearer(chen)).get_json()
    assert {p["id"] for p in listed} >= {policy["id"], mine.get_json()["policy"]["id"]}
    _ledgers_consistent(app)


def test_a_relative_is_held_to_the_product_and_to_the_member(campaigns, client, residents):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"])
    chen = campaigns.resident("陈静")
    sibling = add_relative(client, chen, residents["周军"], "sibling")
    assert sibling.status_code == 201, sibling.get_json()
    # the demo product insures self, spouse, children and parents only
    assert_problem(
        campaigns.redeem(chen, token_of(campaign["link"]), relative_id=sibling.get_json()["id"]),
        422,
        "relation_not_allowed",
    )
    # someone else's relative does not exist for this member
    other = campaigns.resident("孙丽")
    assert_problem(
        campaigns.redeem(other, token_of(campaign["link"]), relative_id=sibling.get_json()["id"]),
        404,
        "relative_not_found",
    )
