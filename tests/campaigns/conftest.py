"""Fixtures for invite campaigns: a charity (through the sponsor API) with a full-premium,
roster-only programme (so it subsidises nobody through ordinary quotes: only its campaigns pay),
and residents who log in, verify and scan. Time is frozen at 2026-11-23 10:00 Shanghai, when the
demo product's window is open (tests/enrollment/conftest.py)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import family, frozen, terms_version  # noqa: F401  (fixtures)
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.sponsors.conftest import CHARITY_USCC, Sponsors, sponsors  # noqa: F401  (fixture)

PREMIUM = 8900  # the demo product's flat premium (89 yuan)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def local(link: str) -> str:
    """The path and query of an absolute link, for the test client."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


class Campaigns:
    def __init__(self, sponsors: Sponsors, residents: dict):
        self.sponsors, self.client, self.app = sponsors, sponsors.client, sponsors.app
        self.residents = residents

    def charity(
        self,
        *,
        budget_fen: int = 10 * PREMIUM,
        quota: int | None = None,
        uscc: str = CHARITY_USCC,
        name: str = "赣州市慈善总会",
        categories: tuple[str, ...] = (),
    ) -> tuple[str, dict]:
        """A charity and its full-premium programme: roster-only, or for `categories`."""
        org = self.sponsors.organisation(uscc, name, "charity")
        admin = self.sponsors.admin(org["id"], "charity_admin")
        programme = self.sponsors.programme(
            admin,
            rule={"kind": "full"},
            categories=categories,
            roster_only=not categories,
            budget_fen=budget_fen,
            quota=quota,
            name="慈善助保",
        )
        return admin, programme

    def create(self, admin: str, programme_id: int, **overrides):
        body = {
            "programme_id": programme_id,
            "name": "扫码领取惠民保",
            "quota": 5,
            "expires_on": "2026-12-31",
            **overrides,
        }
        return self.client.post("/staff/campaigns", headers=bearer(admin), json=body)

    def campaign(self, admin: str, programme_id: int, **overrides) -> dict:
        resp = self.create(admin, programme_id, **overrides)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def resident(self, name: str, code: str | None = None) -> str:
        """A member verified as `name` (made directly: tests/factories.py); their token."""
        code = code or f"scan-{name}"
        return factories.verified_member(self.app, code, self.residents[name])["access_token"]

    def redeem(
        self,
        member_token: str,
        campaign_token: str,
        *,
        key: str | None = None,
        version: str | None = None,
        accepted: bool = True,
        relative_id: int | None = None,
    ):
        return self.client.post(
            "/me/campaign-redemptions",
            headers={**bearer(member_token), "Idempotency-Key": key or uuid.uuid4().hex},
            json={
                "token": campaign_token,
                "terms": {"version": version or terms_version(self.client), "accepted": accepted},
                **({"relative_id": relative_id} if relative_id is not None else {}),
            },
        )


@pytest.fixture
def campaigns(sponsors, residents) -> Campaigns:
    return Campaigns(sponsors, residents)
