"""Fixtures for sponsorship: the operator registers organisations, their admins run programmes
(through the API), and members enroll against them (tests/enrollment/conftest.py's window).
Staff accounts and their tokens are made directly (tests/factories.py): staff login is tested in
tests/security."""

from __future__ import annotations

import uuid

import pytest

from app.sponsors.rules import uscc_check_char
from tests import factories
from tests.conftest import bearer
from tests.enrollment.conftest import family, frozen  # noqa: F401  (fixtures)
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


RELIEF_USCC = uscc("11360700MB1234567")  # a 机构编制 / 机关 body (民政局)
CHARITY_USCC = uscc("51360700MJ9876543")  # a 民政 社会团体 (慈善总会)
EMPLOYER_USCC = uscc("91360700MA35ABCDE")  # an enterprise

PROGRAMME_2026 = {"plan_year": 2026, "starts_on": "2026-01-01", "ends_on": "2026-12-31"}


def idem() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


class Sponsors:
    """Drives the sponsor API like the people who use it."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.operator = factories.staff_token(app, "demo-operator")
        self._admins = 0

    def organisation(self, uscc_code: str, name: str, kind: str) -> dict:
        resp = self.client.post(
            "/staff/organisations",
            headers=bearer(self.operator),
            json={"uscc": uscc_code, "name": name, "kind": kind},
        )
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def admin(self, organisation_id: int, role: str = "fund_admin") -> str:
        self._admins += 1
        username = f"{role}-{organisation_id}-{self._admins}"
        factories.org_admin(self.app, username, role=role, organisation_id=organisation_id)
        return factories.staff_token(self.app, username)

    def programme(
        self,
        admin: str,
        *,
        rule: dict,
        categories=(),
        roster_only=False,
        quota=None,
        budget_fen: int = 0,
        name="资助项目",
        **extra,
    ) -> dict:
        body = {
            "name": name,
            **PROGRAMME_2026,
            "rule": rule,
            "eligibility": {"categories": list(categories), "roster_only": roster_only},
            **extra,
        }
        if quota is not None:
            body["quota"] = quota
        resp = self.client.post("/staff/programmes", headers=bearer(admin), json=body)
        assert resp.status_code == 201, resp.get_json()
        programme = resp.get_json()
        if budget_fen:
            programme = self.top_up(admin, programme["id"], budget_fen)
        return programme

    def top_up(self, admin: str, programme_id: int, amount_fen: int) -> dict:
        resp = self.client.post(
            f"/staff/programmes/{programme_id}/top-ups",
            headers={**bearer(admin), **idem()},
            json={"amount_fen": amount_fen},
        )
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def read(self, admin: str, programme_id: int) -> dict:
        resp = self.client.get(f"/staff/programmes/{programme_id}", headers=bearer(admin))
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def figures(self, programme_id: int) -> tuple[int, int, int]:
        """(budget_total_fen, budget_reserved_fen, beneficiaries_reserved) straight from the DB."""
        from app.database import get_session
        from app.sponsors.models import Programme

        with self.app.app_context():
            p = get_session().get(Programme, programme_id)
            return p.budget_total_fen, p.budget_reserved_fen, p.beneficiaries_reserved

    def relief_fund(
        self, *, budget_fen=8900 * 10, categories=("dibao", "tekun"), rule=None, quota=None
    ) -> tuple[str, dict]:
        org = self.organisation(RELIEF_USCC, "赣州市民政局", "relief_fund")
        admin = self.admin(org["id"], "fund_admin")
        programme = self.programme(
            admin,
            rule=rule or {"kind": "full"},
            categories=categories,
            budget_fen=budget_fen,
            quota=quota,
            name="低保特困人员惠民保资助",
        )
        return admin, programme


@pytest.fixture
def sponsors(fast_password_hashing, seeded, client, frozen):
    return Sponsors(seeded, client)
