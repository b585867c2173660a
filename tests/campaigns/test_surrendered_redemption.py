"""A campaign policy surrendered (退保): the sponsor refund gives the programme its money and its
place back at once, and the campaign gives its place back with it, so the campaign's places left
agree with the budget; the person who surrendered gets a coded 409 on scanning the same invitation
again (not 200 with the void policy, which looked like cover), and may still enroll the ordinary
way. The rule is written in docs/sponsorship.md ("Invite campaigns")."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.campaigns.models import Campaign
from app.database import get_session
from app.enrollment.models import Order
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from app.sponsors.services import check_programmes
from tests.campaigns.conftest import PREMIUM, local, token_of
from tests.conftest import add_relative, bearer
from tests.security.support import assert_problem


def _surrender(client, member: str, policy_id: int):
    resp = client.post(
        f"/policies/{policy_id}/surrender",
        headers={**bearer(member), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _figures(client, admin: str, programme_id: int, campaign_id: int) -> dict:
    """The programme's reservation, the campaign's claimed places and its places left as the
    staff view and the public preview give them (0 when the preview refuses the link)."""
    programme = client.get(f"/staff/programmes/{programme_id}", headers=bearer(admin)).get_json()
    campaign = client.get(f"/staff/campaigns/{campaign_id}", headers=bearer(admin)).get_json()
    preview = client.get(local(campaign["link"]))
    return {
        "reserved_fen": programme["budget_reserved_fen"],
        "people": programme["beneficiaries_reserved"],
        "claimed": campaign["claimed"],
        "places_left": campaign["places_left"],
        "public_places_left": preview.get_json()["places_left"]
        if preview.status_code == 200
        else 0,
    }


def _count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def test_a_surrendered_place_goes_back_and_the_rescan_is_a_coded_409(campaigns, app, client):
    admin, programme = campaigns.charity(budget_fen=10 * PREMIUM)
    campaign = campaigns.campaign(admin, programme["id"], quota=10)
    liu = campaigns.resident("刘强")
    redeemed = campaigns.redeem(liu, token_of(campaign["link"]))
    assert redeemed.status_code == 201, redeemed.get_json()
    policy_id = redeemed.get_json()["policy"]["id"]
    assert _figures(client, admin, programme["id"], campaign["id"]) == {
        "reserved_fen": PREMIUM,
        "people": 1,
        "claimed": 1,
        "places_left": 9,
        "public_places_left": 9,
    }

    surrendered = _surrender(client, liu, policy_id)
    assert surrendered["policy"]["status"] == "void"
    # The sponsor refund released the budget and the place: the campaign agrees with it.
    assert _figures(client, admin, programme["id"], campaign["id"]) == {
        "reserved_fen": 0,
        "people": 0,
        "claimed": 0,
        "places_left": 10,
        "public_places_left": 10,
    }

    # Scanning again: a clear refusal, not 200 with the void policy; nothing written.
    again = campaigns.redeem(liu, token_of(campaign["link"]))
    body = assert_problem(again, 409, "campaign_redemption_surrendered")
    assert "退保" in body["detail"] and "自行投保" in body["detail"]
    assert _count(app, Order) == 1 and _count(app, Policy) == 1
    assert _figures(client, admin, programme["id"], campaign["id"])["claimed"] == 0

    with app.app_context():
        session = get_session()
        assert check_programmes() == [] and check_ledger() == []
        released = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.place_released")
        ).all()
        assert [(e.object_id, e.detail["policy_id"]) for e in released] == [
            (campaign["id"], policy_id)
        ]


def test_the_freed_place_is_taken_by_someone_else(campaigns, client):
    """Quota 1: once the first person surrendered, the next scanner is enrolled (before, the
    campaign stayed exhausted with its budget unspent)."""
    admin, programme = campaigns.charity(budget_fen=10 * PREMIUM)
    campaign = campaigns.campaign(admin, programme["id"], quota=1)
    liu = campaigns.resident("刘强")
    first = campaigns.redeem(liu, token_of(campaign["link"])).get_json()
    chen = campaigns.resident("陈静")
    assert_problem(campaigns.redeem(chen, token_of(campaign["link"])), 409, "campaign_exhausted")
    _surrender(client, liu, first["policy"]["id"])
    taken = campaigns.redeem(chen, token_of(campaign["link"]))
    assert taken.status_code == 201, taken.get_json()
    figures = _figures(client, admin, programme["id"], campaign["id"])
    assert (figures["claimed"], figures["places_left"], figures["people"]) == (1, 0, 1)


def test_who_surrendered_may_still_enroll_the_ordinary_way(campaigns, client):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"])
    liu = campaigns.resident("刘强")
    first = campaigns.redeem(liu, token_of(campaign["link"])).get_json()
    _surrender(client, liu, first["policy"]["id"])
    quote = client.post(
        "/quotes", headers=bearer(liu), json={"include_self": True, "relative_ids": []}
    )
    assert quote.status_code == 200, quote.get_json()
    [line] = quote.get_json()["lines"]
    assert line["eligible"] is True and line["pay_fen"] == PREMIUM  # no campaign money for him


def test_a_relative_whose_campaign_cover_was_surrendered(campaigns, app, client, residents):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"])
    liu = campaigns.resident("刘强")
    relative = add_relative(client, liu, residents["陈静"], "spouse")
    assert relative.status_code == 201, relative.get_json()
    relative_id = relative.get_json()["id"]
    first = campaigns.redeem(liu, token_of(campaign["link"]), relative_id=relative_id)
    assert first.status_code == 201, first.get_json()
    _surrender(client, liu, first.get_json()["policy"]["id"])
    again = campaigns.redeem(liu, token_of(campaign["link"]), relative_id=relative_id)
    body = assert_problem(again, 409, "campaign_redemption_surrendered")
    assert body["detail"].startswith("该家属")
    # 刘强 himself never redeemed it: he still may.
    assert campaigns.redeem(liu, token_of(campaign["link"])).status_code == 201
    with app.app_context():
        claimed = get_session().scalar(
            select(Campaign.claimed).where(Campaign.id == campaign["id"])
        )
    assert claimed == 1
