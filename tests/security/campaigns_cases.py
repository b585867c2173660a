"""Cross-owner cases for the invite-campaign routes (registered into test_object_access's
registry). Organisation A (a charity) owns a campaign; B, another organisation's admin, gets the
same bare 404 as for an id that never existed, learns nothing of the campaign (name, link,
organisation, figures), and changes nothing: A's link still works and its campaign stays active."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests import factories
from tests.conftest import bearer
from tests.security.test_object_access import UNKNOWN_ID, World, cross_owner


@dataclass
class CampaignWorld:
    admin_a: str
    admin_b: str
    campaign: dict
    secrets: list[str]


def _campaign_world(client, world: World) -> CampaignWorld:
    from tests.security.support import create_organisation

    org_a = create_organisation(world.app, "charity", "赣州市慈善总会A")
    org_b = create_organisation(world.app, "charity", "赣州市慈善总会B")
    factories.org_admin(world.app, "campaign-admin-a", organisation_id=org_a)
    admin_a = world.staff("campaign-admin-a")
    admin_b = world.org_admin(organisation_id=org_b)
    # A's programme, funded (made directly: tests/factories.py); the campaign through the API.
    programme_id = factories.programme(
        world.app,
        "campaign-admin-a",
        name="扫码助保专项A",
        eligibility={"roster_only": True},
        budget_fen=89_000,
    )
    resp = client.post(
        "/staff/campaigns",
        headers=bearer(admin_a),
        json={
            "programme_id": programme_id,
            "name": "邀请活动A专属",
            "quota": 7,
            "expires_on": "2026-12-31",
        },
    )
    assert resp.status_code == 201, resp.get_json()
    campaign = resp.get_json()
    token = parse_qs(urlsplit(campaign["link"]).query)["token"][0]
    secrets = ["邀请活动A专属", "扫码助保专项A", "赣州市慈善总会A", token, campaign["link"]]
    return CampaignWorld(admin_a, admin_b, campaign, secrets)


def _still_active_for_its_owner(client, cw: CampaignWorld) -> None:
    own = client.get(f"/staff/campaigns/{cw.campaign['id']}", headers=bearer(cw.admin_a))
    assert own.status_code == 200 and own.get_json()["status"] == "active", own.get_json()
    link = urlsplit(cw.campaign["link"])
    assert client.get(f"{link.path}?{link.query}").status_code == 200


@cross_owner("/staff/campaigns/<int:campaign_id>", "GET")
@cross_owner("/staff/campaigns/<int:campaign_id>/qr.png", "GET")
def _read_campaign_of_another_organisation(client, world: World):
    """Neither the campaign as data nor its QR code (which is the link itself)."""
    cw = _campaign_world(client, world)
    for suffix in ("", "/qr.png"):
        resp = client.get(
            f"/staff/campaigns/{cw.campaign['id']}{suffix}", headers=bearer(cw.admin_b)
        )
        world.assert_hidden(
            resp,
            "campaign_not_found",
            secrets=cw.secrets,
            same_as=client.get(
                f"/staff/campaigns/{UNKNOWN_ID}{suffix}", headers=bearer(cw.admin_b)
            ),
        )
        assert resp.mimetype == "application/problem+json"  # never an image
    listed = client.get("/staff/campaigns", headers=bearer(cw.admin_b))
    assert listed.status_code == 200 and listed.get_json() == []
    png = client.get(f"/staff/campaigns/{cw.campaign['id']}/qr.png", headers=bearer(cw.admin_a))
    assert png.status_code == 200 and png.mimetype == "image/png"
    _still_active_for_its_owner(client, cw)


@cross_owner("/staff/campaigns/<int:campaign_id>/revoke", "POST")
def _revoke_campaign_of_another_organisation(client, world: World):
    cw = _campaign_world(client, world)
    revoked_before = world.audit_count("campaign.revoked")
    resp = client.post(f"/staff/campaigns/{cw.campaign['id']}/revoke", headers=bearer(cw.admin_b))
    world.assert_hidden(
        resp,
        "campaign_not_found",
        secrets=cw.secrets,
        same_as=client.post(f"/staff/campaigns/{UNKNOWN_ID}/revoke", headers=bearer(cw.admin_b)),
    )
    # Nothing happened: the campaign is active, its link works, no revocation was recorded.
    _still_active_for_its_owner(client, cw)
    assert world.audit_count("campaign.revoked") == revoked_before
    # A's own admin can (the route works).
    resp = client.post(f"/staff/campaigns/{cw.campaign['id']}/revoke", headers=bearer(cw.admin_a))
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
