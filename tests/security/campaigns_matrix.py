"""Role-matrix rows and requests for invite campaigns and sponsor reports (merged into
test_role_matrix's MATRIX and REQUESTS). An organisation's admins run its campaigns and read its
reports; a member redeems a campaign link for themselves; anyone previews a link; insurer staff
(reviewers, operators) are kept out of both."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import key

#                                                          anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("/staff/campaigns", "POST"): (401, 401, 403, 403, 201),
    ("/staff/campaigns", "GET"): (401, 401, 403, 403, 200),
    ("/staff/campaigns/<int:campaign_id>", "GET"): (401, 401, 403, 403, 200),
    ("/staff/campaigns/<int:campaign_id>/qr.png", "GET"): (401, 401, 403, 403, 200),
    ("/staff/campaigns/<int:campaign_id>/revoke", "POST"): (401, 401, 403, 403, 200),
    ("/public/campaigns/preview", "GET"): (200, 200, 200, 200, 200),
    ("/me/campaign-redemptions", "POST"): (401, 201, 401, 401, 401),
    ("/staff/reports/summary", "GET"): (401, 401, 403, 403, 200),
    ("/staff/reports/beneficiaries", "GET"): (401, 401, 403, 403, 200),
    ("/staff/reports/donations", "GET"): (401, 401, 403, 403, 200),
    ("/staff/reports/donations.csv", "GET"): (401, 401, 403, 403, 200),
    ("/staff/reports/outcomes", "GET"): (401, 401, 403, 403, 200),
}


def _campaign_body(w) -> dict:
    """A campaign on a roster programme of the charity (full premium, funded): an invitation
    stands in for its roster, so the member who redeems needs no bureau category."""

    def funded() -> int:
        w.programme()  # the charity and its organisation
        return factories.programme(
            w.app,
            "charity-admin-1",
            name="矩阵扫码助保",
            eligibility={"roster_only": True},
            budget_fen=10 * 8900,
        )

    return {
        "programme_id": w._once("funded_programme", funded),
        "name": "矩阵扫码领保",
        "quota": 5,
        "expires_on": "2026-12-31",
    }


def _campaign(w) -> dict:
    def make() -> dict:
        resp = w.client.post(
            "/staff/campaigns", headers=bearer(w.tokens["charity_admin"]), json=_campaign_body(w)
        )
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    return w._once("campaign", make)


def _token(w) -> str:
    return parse_qs(urlsplit(_campaign(w)["link"]).query)["token"][0]


def _terms(w) -> dict:
    return {
        "version": w.client.get("/products/current").get_json()["terms_version"],
        "accepted": True,
    }


REQUESTS = {
    ("/staff/campaigns", "POST"): lambda w: {"json": _campaign_body(w)},
    ("/staff/campaigns", "GET"): lambda w: {"query_string": {"status": "active"}},
    ("/staff/campaigns/<int:campaign_id>", "GET"): lambda w: {"campaign_id": _campaign(w)["id"]},
    ("/staff/campaigns/<int:campaign_id>/qr.png", "GET"): lambda w: {
        "campaign_id": _campaign(w)["id"]
    },
    ("/staff/campaigns/<int:campaign_id>/revoke", "POST"): lambda w: {
        "campaign_id": _campaign(w)["id"]
    },
    ("/public/campaigns/preview", "GET"): lambda w: {"query_string": {"token": _token(w)}},
    # The member (张伟, verified, not yet insured) redeems for himself.
    ("/me/campaign-redemptions", "POST"): lambda w: {
        "headers": key(),
        "json": {"token": _token(w), "terms": _terms(w)},
    },
    ("/staff/reports/summary", "GET"): lambda w: {"query_string": {"plan_year": 2026}},
    ("/staff/reports/beneficiaries", "GET"): lambda w: {"query_string": {"page_size": 10}},
    ("/staff/reports/donations", "GET"): lambda w: {"query_string": {"year": 2026}},
    ("/staff/reports/donations.csv", "GET"): lambda w: {"query_string": {"year": 2026}},
    ("/staff/reports/outcomes", "GET"): lambda w: {},
}
