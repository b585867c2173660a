"""Fixtures for the sponsor console: a charity whose full-premium programme paid for three
residents through an invite campaign (tests/campaigns), a roster-only programme of an employer
with a funded budget (tests/jobs/support.py), and a second organisation to probe scoping.
Time is frozen at 2026-11-23 10:00 Shanghai (tests/enrollment/conftest.py), the demo product's
window open."""

from __future__ import annotations

import pytest

from tests import factories
from tests.campaigns.conftest import PREMIUM, Campaigns, token_of
from tests.enrollment.conftest import family, frozen  # noqa: F401  (fixtures)
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.sponsors.conftest import EMPLOYER_USCC, sponsors  # noqa: F401  (fixture)

PEOPLE = ("刘强", "陈静", "周军")


def username_of(sponsors, organisation_id: int, role: str) -> str:
    """The account Sponsors.admin made last for this organisation (its naming scheme)."""
    return f"{role}-{organisation_id}-{sponsors._admins}"


@pytest.fixture
def charity(sponsors, residents):
    """The charity: budget for 10 premiums, one campaign, three residents redeemed it."""
    campaigns = Campaigns(sponsors, residents)
    admin, programme = campaigns.charity(budget_fen=10 * PREMIUM)
    username = username_of(sponsors, programme["organisation_id"], "charity_admin")
    campaign = campaigns.campaign(admin, programme["id"], quota=5)
    for name in PEOPLE:
        resp = campaigns.redeem(campaigns.resident(name), token_of(campaign["link"]))
        assert resp.status_code == 201, resp.get_json()
    return {
        "admin": admin,
        "username": username,
        "principal": factories.staff_principal(sponsors.app, username),
        "programme": programme,
        "campaign": campaign,
    }


@pytest.fixture
def employer(sponsors):
    """Another organisation (an employer) with a programme of its own."""
    org = sponsors.organisation(EMPLOYER_USCC, "赣州示范科技有限公司", "employer")
    admin = sponsors.admin(org["id"], "employer_admin")
    username = username_of(sponsors, org["id"], "employer_admin")
    programme = sponsors.programme(
        admin, rule={"kind": "full"}, roster_only=True, budget_fen=5 * PREMIUM, name="职工惠民保"
    )
    return {
        "admin": admin,
        "username": username,
        "principal": factories.staff_principal(sponsors.app, username),
        "programme": programme,
    }
