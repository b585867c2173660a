"""Function-level access (QUALITY.md): a role x operation matrix; anything not allowed is denied.

Each row of MATRIX is an operation (url rule as in app.url_map, method); each column a caller.
A cell is the exact status that caller gets for a well-formed request: a 2xx means allowed, 401
means no token or a token for the other audience (member vs staff), 403 means a staff role that
may not. A new route fails `test_matrix_covers_every_route` until it has a row here and a request
builder in REQUESTS. A builder is called once per caller (denied callers first) and returns the
client.open keyword arguments (`json`, `query_string`, `headers`, e.g. an Idempotency-Key) plus
path values; when the request consumes something (a refresh token, an object to delete) and more
than one caller is allowed, build a fresh one per call. Objects a row needs (an order, a policy)
are made once per test by World helpers, on first use, directly (tests/factories.py: the requests
under test are the matrix's, not the set-up's). Public routes whose well-formed request is
refused for everyone alike (a forged notification, a garbage certificate token) name the stable
code of that refusal in PUBLIC_REFUSALS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import ORGANISATION_ROLES
from app.config import Config
from app.database import get_session
from app.demo.seed import DEMO_STAFF_PASSWORD
from tests import factories
from tests.conftest import CONSENT, bearer
from tests.enrollment.conftest import key, order_body
from tests.security.support import (
    ORG_ADMIN_PASSWORD,
    api_routes,
    assert_leaks_nothing,
    assert_problem,
    assert_unauthorized,
    create_org_admin,
    person_secrets,
    staff_login,
)

MATRIX_NOW = "2026-11-23T02:00:00+00:00"
ROLES = ("anonymous", "member", "reviewer", "operator", "charity_admin")

#                                                     anon member reviewer operator charity
MATRIX: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("/auth/wechat/login", "POST"): (200, 200, 200, 200, 200),
    ("/auth/refresh", "POST"): (200, 200, 200, 200, 200),
    ("/auth/logout", "POST"): (204, 204, 204, 204, 204),
    ("/auth/staff/login", "POST"): (200, 200, 200, 200, 200),
    ("/me", "GET"): (401, 200, 401, 401, 401),
    ("/me/identity", "POST"): (401, 200, 401, 401, 401),
    ("/me/identity/refresh", "POST"): (401, 200, 401, 401, 401),
    ("/me/value-estimate", "POST"): (401, 200, 401, 401, 401),
    ("/me/value-estimate/consent", "GET"): (401, 200, 401, 401, 401),
    ("/me/value-estimate/consent", "POST"): (401, 200, 401, 401, 401),
    ("/me/value-estimate/consent", "DELETE"): (401, 200, 401, 401, 401),
    ("/me/consents", "GET"): (401, 200, 401, 401, 401),
    ("/me/consents", "POST"): (401, 200, 401, 401, 401),
    ("/me/consents/withdrawal", "POST"): (401, 200, 401, 401, 401),
    ("/me/identity", "DELETE"): (401, 200, 401, 401, 401),
    ("/me/closure", "GET"): (401, 200, 401, 401, 401),
    ("/me/closure", "POST"): (401, 200, 401, 401, 401),
    ("/me/relatives", "GET"): (401, 200, 401, 401, 401),
    ("/me/relatives", "POST"): (401, 201, 401, 401, 401),
    ("/me/relatives/<int:relative_id>", "GET"): (401, 200, 401, 401, 401),
    ("/me/relatives/<int:relative_id>", "DELETE"): (401, 204, 401, 401, 401),
    ("/staff/members/<int:member_id>", "GET"): (401, 401, 200, 200, 403),
    ("/staff/audit-events", "GET"): (401, 401, 403, 200, 403),
    ("/products", "GET"): (200, 200, 200, 200, 200),
    ("/products/current", "GET"): (200, 200, 200, 200, 200),
    ("/products/<product_code:code>", "GET"): (200, 200, 200, 200, 200),
    ("/products/<product_code:code>/terms", "GET"): (200, 200, 200, 200, 200),
    ("/quotes", "POST"): (401, 200, 401, 401, 401),
    ("/orders", "GET"): (401, 200, 401, 401, 401),
    ("/orders", "POST"): (401, 201, 401, 401, 401),
    ("/orders/<int:order_id>", "GET"): (401, 200, 401, 401, 401),
    ("/orders/<int:order_id>/payments", "POST"): (401, 200, 401, 401, 401),
    ("/orders/<int:order_id>/payments/<int:payment_id>", "GET"): (401, 200, 401, 401, 401),
    ("/orders/<int:order_id>/sandbox-wechat-payment", "POST"): (401, 200, 401, 401, 401),
    ("/payments/wechat/notify", "POST"): (401, 401, 401, 401, 401),
    ("/policies", "GET"): (401, 200, 401, 401, 401),
    ("/policies/<int:policy_id>", "GET"): (401, 200, 401, 401, 401),
    ("/policies/<int:policy_id>/certificate", "GET"): (401, 200, 401, 401, 401),
    ("/policies/<int:policy_id>/certificate.png", "GET"): (401, 200, 401, 401, 401),
    ("/policies/<int:policy_id>/policy.pdf", "GET"): (401, 200, 401, 401, 401),
    ("/policies/<int:policy_id>/surrender", "POST"): (401, 200, 401, 401, 401),
    ("/public/certificates/verify", "GET"): (404, 404, 404, 404, 404),
    ("/staff/organisations", "POST"): (401, 401, 403, 201, 403),
    ("/staff/organisations/<int:organisation_id>", "GET"): (401, 401, 403, 200, 200),
    ("/staff/programmes", "POST"): (401, 401, 403, 403, 201),
    ("/staff/programmes", "GET"): (401, 401, 403, 200, 200),
    ("/staff/programmes/<int:programme_id>", "GET"): (401, 401, 403, 200, 200),
    ("/staff/programmes/<int:programme_id>/top-ups", "POST"): (401, 401, 403, 403, 200),
    ("/staff/programmes/<int:programme_id>/status", "POST"): (401, 401, 403, 403, 200),
    ("/staff/programmes/<int:programme_id>/report", "GET"): (401, 401, 403, 200, 200),
    ("/healthz", "GET"): (200, 200, 200, 200, 200),
    ("/readyz", "GET"): (200, 200, 200, 200, 200),
    ("/metrics", "GET"): (401, 401, 401, 401, 401),
    ("/public/statistics", "GET"): (200, 200, 200, 200, 200),
    ("/staff/disclosure/settlement", "GET"): (401, 401, 403, 200, 403),
    ("/staff/disclosure/settlement.csv", "GET"): (401, 401, 403, 200, 403),
    ("/staff/dashboard", "GET"): (401, 401, 403, 200, 403),
    ("/me/fhir", "GET"): (401, 200, 401, 401, 401),
}

# Public routes (no token asked for) that refuse the row's request for every caller alike, and
# the stable code of that refusal: a WeChat notification without WeChat's signature headers,
# and a certificate token that was never signed.
PUBLIC_REFUSALS: dict[tuple[str, str], str] = {
    ("/payments/wechat/notify", "POST"): "notification_rejected",
    ("/public/certificates/verify", "GET"): "certificate_invalid",
    # Not public, but no caller's token is the operator's METRICS_TOKEN: refused alike.
    ("/metrics", "GET"): "metrics_unauthorized",
}


@dataclass
class World:
    app: Flask
    client: FlaskClient
    residents: dict
    tokens: dict[str, str | None]
    member_id: int
    spouse_id: int
    child_id: int
    _logins: int = 0
    _made: dict = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)  # order and policy numbers made so far
    charity_id: int = 0  # organisation 1, see _matrix_charity

    def fresh_refresh_token(self) -> str:
        self._logins += 1
        return factories.login(self.app, f"matrix-refresh-{self._logins}")["refresh_token"]

    # --- the member's orders and policies, made once per test on first use (the window is open:
    # see _demo_window_open) -----------------------------------------------------------------
    def _once(self, name: str, make: Callable[[], int]) -> int:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def _order(self, relative_ids: list[int], include_self: bool, method: str, **how) -> dict:
        order = factories.order(self.app, self.member_id, relative_ids, include_self, method, **how)
        self.numbers.append(order["order_no"])
        return order

    def unpaid_order(self) -> int:
        """An order for the spouse, to be paid from the personal account."""
        return self._once(
            "unpaid", lambda: self._order([self.spouse_id], False, "personal_account")["id"]
        )

    def wechat_order(self) -> int:
        """An order for the child with a WeChat payment started (awaiting the payer)."""

        def make() -> int:
            order = self._order([self.child_id], False, "wechat", pay=True)
            assert order["status"] == "pending_payment" and order["payments"] == ["pending"], order
            return order["id"]

        return self._once("wechat", make)

    def payment_of(self, order_id: int) -> int:
        """The order's (latest) payment."""
        from app.enrollment.models import Payment

        with self.app.app_context():
            return get_session().scalar(
                select(Payment.id).where(Payment.order_id == order_id).order_by(Payment.id.desc())
            )

    def policy(self) -> int:
        """The member's own policy, paid from the personal account."""

        def make() -> int:
            order = self._order([], True, "personal_account", pay=True)
            assert order["status"] == "paid", order
            [policy] = order["policies"]
            self.numbers.append(policy["policy_no"])
            return policy["id"]

        return self._once("policy", make)

    # --- sponsors: organisation 1 is the charity whose admin is the charity_admin column ----
    @staticmethod
    def uscc(first17: str) -> str:
        from app.sponsors.rules import uscc_check_char

        return first17 + uscc_check_char(first17)

    def organisation(self) -> int:
        """The charity (organisation 1), made by the `world` fixture: an admin account needs an
        organisation of its role's kind to exist first."""
        return self.charity_id

    def programmes_listing(self) -> dict:
        """No arguments; organisation 1 exists so its admin lists its (empty) programmes."""
        self.organisation()
        return {}

    def programme_body(self) -> dict:
        self.organisation()
        return {
            "name": "矩阵助保",
            "plan_year": 2026,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "rule": {"kind": "full"},
            "eligibility": {"categories": ["dibao"]},
        }

    def programme(self) -> int:
        def make() -> int:
            self.organisation()
            return factories.programme(
                self.app, "charity-admin-1", name="矩阵助保", eligibility={"categories": ["dibao"]}
            )

        return self._once("programme", make)

    def order_body(self, **selection) -> dict:
        return order_body(self.client, **selection)

    def identity_body(self, name: str, **extra) -> dict:
        resident = self.residents[name]
        return {"name": resident.name, "id_number": resident.certno, "consent": CONSENT, **extra}


Request = Callable[[World], dict]
REQUESTS: dict[tuple[str, str], Request] = {
    ("/auth/wechat/login", "POST"): lambda w: {"json": {"code": "matrix-login"}},
    ("/auth/refresh", "POST"): lambda w: {"json": {"refresh_token": w.fresh_refresh_token()}},
    ("/auth/logout", "POST"): lambda w: {"json": {"refresh_token": w.fresh_refresh_token()}},
    ("/auth/staff/login", "POST"): lambda w: {
        "json": {"username": "demo-reviewer", "password": DEMO_STAFF_PASSWORD}
    },
    ("/me", "GET"): lambda w: {},
    ("/me/identity", "POST"): lambda w: {"json": w.identity_body("张伟")},
    ("/me/identity/refresh", "POST"): lambda w: {},
    ("/me/value-estimate", "POST"): lambda w: {},
    ("/me/value-estimate/consent", "GET"): lambda w: {},
    ("/me/value-estimate/consent", "POST"): lambda w: {
        "json": {
            "consent": {"accepted": True, "text_version": Config.ESTIMATE_CONSENT_TEXT_VERSION}
        }
    },
    ("/me/value-estimate/consent", "DELETE"): lambda w: {},
    ("/me/consents", "GET"): lambda w: {},
    ("/me/consents", "POST"): lambda w: {"json": CONSENT},
    ("/me/consents/withdrawal", "POST"): lambda w: {},
    ("/me/identity", "DELETE"): lambda w: {},
    ("/me/closure", "GET"): lambda w: {},
    ("/me/closure", "POST"): lambda w: {"json": {"confirm": True}},
    ("/me/relatives", "GET"): lambda w: {},
    ("/me/relatives", "POST"): lambda w: {"json": w.identity_body("张建国", relation="parent")},
    ("/me/relatives/<int:relative_id>", "GET"): lambda w: {"relative_id": w.spouse_id},
    ("/me/relatives/<int:relative_id>", "DELETE"): lambda w: {"relative_id": w.child_id},
    ("/staff/members/<int:member_id>", "GET"): lambda w: {"member_id": w.member_id},
    ("/staff/audit-events", "GET"): lambda w: {"query_string": {"page": 1, "page_size": 5}},
    ("/products", "GET"): lambda w: {},
    ("/products/current", "GET"): lambda w: {},
    ("/products/<product_code:code>", "GET"): lambda w: {"code": "huhuibao-2021"},
    ("/products/<product_code:code>/terms", "GET"): lambda w: {"code": "ganzhou-demo-2026"},
    ("/quotes", "POST"): lambda w: {"json": {"relative_ids": [w.spouse_id]}},
    ("/orders", "GET"): lambda w: {},
    ("/orders", "POST"): lambda w: {"headers": key(), "json": w.order_body(relative_ids=[])},
    ("/orders/<int:order_id>", "GET"): lambda w: {"order_id": w.unpaid_order()},
    ("/orders/<int:order_id>/payments", "POST"): lambda w: {
        "order_id": w.unpaid_order(),
        "headers": key(),
        "json": {"method": "personal_account"},
    },
    ("/orders/<int:order_id>/payments/<int:payment_id>", "GET"): lambda w: {
        "order_id": w.wechat_order(),
        "payment_id": w.payment_of(w.wechat_order()),
    },
    ("/orders/<int:order_id>/sandbox-wechat-payment", "POST"): lambda w: {
        "order_id": w.wechat_order(),
        "headers": key(),
    },
    # No Wechatpay-Signature/-Timestamp/-Nonce/-Serial headers: not from WeChat.
    ("/payments/wechat/notify", "POST"): lambda w: {
        "json": {
            "id": "matrix-event",
            "event_type": "TRANSACTION.SUCCESS",
            "resource_type": "encrypt-resource",
            "resource": {
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": "",
                "nonce": "",
                "associated_data": "transaction",
            },
        }
    },
    ("/policies", "GET"): lambda w: {},
    ("/policies/<int:policy_id>", "GET"): lambda w: {"policy_id": w.policy()},
    ("/policies/<int:policy_id>/certificate", "GET"): lambda w: {"policy_id": w.policy()},
    ("/policies/<int:policy_id>/certificate.png", "GET"): lambda w: {"policy_id": w.policy()},
    ("/policies/<int:policy_id>/policy.pdf", "GET"): lambda w: {"policy_id": w.policy()},
    ("/policies/<int:policy_id>/surrender", "POST"): lambda w: {
        "policy_id": w.policy(),
        "headers": key(),
    },
    ("/public/certificates/verify", "GET"): lambda w: {
        "query_string": {"token": "bm90LWEtdG9rZW4.Zm9yZ2VkLW1hYy1oZXJlLTAwMDA"}
    },
    ("/staff/organisations", "POST"): lambda w: {
        "json": {
            "uscc": w.uscc("91360700MA35MATRX"),
            "name": "矩阵测试有限公司",
            "kind": "employer",
        }
    },
    ("/staff/organisations/<int:organisation_id>", "GET"): lambda w: {
        "organisation_id": w.organisation()
    },
    ("/staff/programmes", "POST"): lambda w: {"json": w.programme_body()},
    ("/staff/programmes", "GET"): lambda w: w.programmes_listing(),
    ("/staff/programmes/<int:programme_id>", "GET"): lambda w: {"programme_id": w.programme()},
    ("/staff/programmes/<int:programme_id>/top-ups", "POST"): lambda w: {
        "programme_id": w.programme(),
        "headers": key(),
        "json": {"amount_fen": 100},
    },
    ("/staff/programmes/<int:programme_id>/status", "POST"): lambda w: {
        "programme_id": w.programme(),
        "json": {"action": "pause"},
    },
    ("/staff/programmes/<int:programme_id>/report", "GET"): lambda w: {
        "programme_id": w.programme()
    },
    ("/healthz", "GET"): lambda w: {},
    ("/readyz", "GET"): lambda w: {},
    ("/metrics", "GET"): lambda w: {},
    ("/public/statistics", "GET"): lambda w: {"query_string": {"plan_year": 2026}},
    ("/staff/disclosure/settlement", "GET"): lambda w: {"query_string": {"plan_year": 2026}},
    ("/staff/disclosure/settlement.csv", "GET"): lambda w: {"query_string": {"plan_year": 2026}},
    ("/staff/dashboard", "GET"): lambda w: {},
    ("/me/fhir", "GET"): lambda w: {},
}

# Claim routes keep their rows and requests in their own module.
from tests.security import claims_matrix  # noqa: E402

MATRIX.update(claims_matrix.ROWS)
REQUESTS.update(claims_matrix.REQUESTS)

# So do invite campaigns and sponsor reports.
from tests.security import campaigns_matrix  # noqa: E402

MATRIX.update(campaigns_matrix.ROWS)
REQUESTS.update(campaigns_matrix.REQUESTS)

# And rosters with their batch-enrollment jobs.
from tests.security import rosters_matrix  # noqa: E402

MATRIX.update(rosters_matrix.ROWS)
REQUESTS.update(rosters_matrix.REQUESTS)

# And renewal (members' consents; operators' runs).
from tests.security import renewals_matrix  # noqa: E402

MATRIX.update(renewals_matrix.ROWS)
REQUESTS.update(renewals_matrix.REQUESTS)

# And the product catalogues (operators only).
from tests.security import catalogues_matrix  # noqa: E402

MATRIX.update(catalogues_matrix.ROWS)
REQUESTS.update(catalogues_matrix.REQUESTS)

# And staff accounts' sign-in locks (operators only).
from tests.security import staff_accounts_matrix  # noqa: E402

MATRIX.update(staff_accounts_matrix.ROWS)
REQUESTS.update(staff_accounts_matrix.REQUESTS)

# And the special-drug service (members apply and claim; reviewers decide).
from tests.security import special_drugs_matrix  # noqa: E402

MATRIX.update(special_drugs_matrix.ROWS)
REQUESTS.update(special_drugs_matrix.REQUESTS)

# And the hospitals' direct-settlement API (signed, no token) with the operators' reports.
from tests.security import direct_settlement_matrix  # noqa: E402

MATRIX.update(direct_settlement_matrix.ROWS)
REQUESTS.update(direct_settlement_matrix.REQUESTS)
PUBLIC_REFUSALS.update(direct_settlement_matrix.REFUSALS)


def _build_path(rule: str, values: dict) -> str:
    """Fill a url rule's `<converter:name>` variables from `values`."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"REQUESTS gives no value for <{name}> in {rule}"
        return str(values[name])

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", fill, rule)


def call(world: World, rule: str, method: str, role: str):
    kwargs = REQUESTS[(rule, method)](world)
    headers = kwargs.pop("headers", {})
    path_values = {
        k: kwargs.pop(k)
        for k in list(kwargs)
        if k not in ("json", "query_string", "data", "content_type")
    }
    token = world.tokens[role]
    if token:
        headers = {**headers, **bearer(token)}
    return world.client.open(
        _build_path(rule, path_values), method=method, headers=headers, **kwargs
    )


@pytest.fixture(autouse=True)
def _demo_window_open():
    """The matrix runs on a day the demo product's window is open (2026-11-23 10:00 Shanghai);
    the clock keeps ticking so tokens and rate limits behave as usual."""
    with time_machine.travel(MATRIX_NOW, tick=True):
        yield


def _matrix_charity(app) -> int:
    """Organisation 1: the charity whose admin is the charity_admin column."""
    org_id = factories.organisation(
        app, "charity", "矩阵慈善总会", uscc_code=World.uscc("51360700MJ3333333")
    )
    assert org_id == 1, "the charity_admin column is organisation 1's admin"
    return org_id


@pytest.fixture
def world(fast_password_hashing, seeded, residents) -> World:
    """Member 张伟 (verified) with 李娜 (spouse) and 张小宝 (child), the charity and its admin, and
    a token per column: built directly (tests/factories.py), since none of it is under test."""
    member = factories.verified_member(seeded, "matrix-member", residents["张伟"])
    spouse_id = factories.relative(seeded, member["member_id"], residents["李娜"], "spouse")
    child_id = factories.relative(seeded, member["member_id"], residents["张小宝"], "child")
    factories.estimate_consent(seeded, member["member_id"])
    charity_id = _matrix_charity(seeded)
    factories.org_admin(seeded, "charity-admin-1", organisation_id=charity_id)
    tokens = {
        "anonymous": None,
        "member": member["access_token"],
        "reviewer": factories.staff_token(seeded, "demo-reviewer"),
        "operator": factories.staff_token(seeded, "demo-operator"),
        "charity_admin": factories.staff_token(seeded, "charity-admin-1"),
    }
    return World(
        seeded,
        seeded.test_client(),
        residents,
        tokens,
        member["member_id"],
        spouse_id,
        child_id,
        charity_id=charity_id,
    )


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda k: f"{k[1]} {k[0]}")
def test_role_matrix(world, key):
    rule, method = key
    expected = dict(zip(ROLES, MATRIX[key], strict=True))
    secrets = person_secrets(world.residents["张伟"]) + person_secrets(world.residents["李娜"])
    # Denied callers first, so an allowed call that changes state (DELETE, paying, surrendering)
    # comes last, and succeeds only if no denied call changed the object before it.
    order = sorted(ROLES, key=lambda role: expected[role] < 400)
    public_refusal = PUBLIC_REFUSALS.get(key)
    mismatches = []
    for role in order:
        resp = call(world, rule, method, role)
        if resp.status_code != expected[role]:
            mismatches.append(
                f"{role}: expected {expected[role]}, got {resp.status_code} "
                f"{resp.get_data(as_text=True)[:200]}"
            )
            continue
        if public_refusal is not None:  # the same refusal for everyone, token or not
            assert_problem(resp, expected[role], public_refusal)
        elif expected[role] == 401:  # no token, or a token for the other audience
            assert_unauthorized(resp, "token_missing" if role == "anonymous" else "token_audience")
        elif expected[role] == 403:
            assert_problem(resp, 403, "role_forbidden")
        if expected[role] >= 400:
            assert_leaks_nothing(resp, secrets + world.numbers)
    assert not mismatches, f"{method} {rule}:\n" + "\n".join(mismatches)


def test_matrix_covers_every_route(app):
    routes = set(api_routes(app))
    missing = sorted(routes - set(MATRIX))
    assert not missing, (
        "Add a row to MATRIX and a request to REQUESTS in "
        f"tests/security/test_role_matrix.py for: {missing}"
    )
    assert not sorted(set(MATRIX) - routes), "MATRIX rows for routes that no longer exist"
    assert set(REQUESTS) == set(MATRIX)


def test_public_certificate_check_answers_every_caller_alike(world):
    """A genuine certificate link: every caller, token or none, gets the same 200 answer."""
    policy_id = world.policy()
    cert = world.client.get(
        f"/policies/{policy_id}/certificate", headers=bearer(world.tokens["member"])
    )
    query = cert.get_json()["verify_url"].split("?", 1)[1]
    bodies = []
    for role in ROLES:
        token = world.tokens[role]
        resp = world.client.get(
            f"/public/certificates/verify?{query}", headers=bearer(token) if token else {}
        )
        assert resp.status_code == 200, (role, resp.get_json())
        bodies.append(resp.get_json())
    assert all(body == bodies[0] for body in bodies)
    # Genuine and standing; bought after the coverage start of a plan year whose terms give
    # cover from the day of payment, so in force at once.
    assert bodies[0]["status"] == "active"
    assert (bodies[0]["verdict"], bodies[0]["valid"]) == ("in_force", True)
    assert_leaks_nothing(
        world.client.get(f"/public/certificates/verify?{query}"),
        [world.residents["张伟"].name, world.residents["张伟"].certno],
    )


@pytest.mark.parametrize("role", ORGANISATION_ROLES)
def test_every_organisation_admin_role_is_kept_out_of_insurer_staff_routes(
    fast_password_hashing, seeded, role
):
    client = seeded.test_client()
    create_org_admin(seeded, f"{role}-7", role=role)  # with an organisation of its own kind
    token = staff_login(client, f"{role}-7", ORG_ADMIN_PASSWORD)["access_token"]
    assert_problem(client.get("/staff/members/1", headers=bearer(token)), 403, "role_forbidden")
    assert_problem(client.get("/staff/audit-events", headers=bearer(token)), 403, "role_forbidden")
    assert_unauthorized(client.get("/me", headers=bearer(token)), "token_audience")


# --- audited reads -------------------------------------------------------------------------


def _audit_rows(app, action: str = "member.read_sensitive") -> list[AuditEvent]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def _audit_total(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(AuditEvent))


def test_staff_read_writes_exactly_one_audit_row(world):
    before = _audit_rows(world.app)
    resp = call(world, "/staff/members/<int:member_id>", "GET", "reviewer")
    assert resp.status_code == 200
    assert resp.get_json()["member"]["member_id"] == world.member_id
    assert len(resp.get_json()["relatives"]) == 2

    after = _audit_rows(world.app)
    assert len(after) == len(before) + 1
    row = after[-1]
    reviewer_id = staff_login(world.client, "demo-reviewer", DEMO_STAFF_PASSWORD)["staff_id"]
    assert (row.actor_type, row.actor_id) == ("staff", reviewer_id)
    assert (row.object_type, row.object_id) == ("member", world.member_id)
    assert row.request_id == resp.headers["X-Request-Id"]
    assert row.detail == {"role": "reviewer", "relatives": 2}
    # The audit trail itself holds no personal data.
    operator_view = call(world, "/staff/audit-events", "GET", "operator")
    assert operator_view.status_code == 200
    assert_leaks_nothing(operator_view, person_secrets(world.residents["张伟"]))


def test_denied_staff_reads_write_no_audit_row(world):
    before = _audit_rows(world.app)
    for role in ("anonymous", "member", "charity_admin"):
        assert call(world, "/staff/members/<int:member_id>", "GET", role).status_code in (401, 403)
    assert _audit_rows(world.app) == before


@pytest.mark.parametrize("failure", ["writer-raises", "insert-rejected-at-commit"])
def test_read_and_audit_row_are_one_transaction(world, monkeypatch, failure):
    """If the audit row cannot be written, the read is not served and nothing is committed."""
    import app.audit.services as audit_services
    import app.staff.services as staff_services

    real_record = audit_services.record

    def failing_record(session, **kwargs):
        if failure == "writer-raises":
            real_record(session, **kwargs)
            raise RuntimeError("audit store unavailable: 张伟 secret-marker")
        # A row the database refuses (NOT NULL action) when the transaction commits.
        return real_record(session, **{**kwargs, "action": None})

    monkeypatch.setattr(staff_services, "audit", failing_record)
    total_before = _audit_total(world.app)
    resp = call(world, "/staff/members/<int:member_id>", "GET", "reviewer")

    body = assert_problem(resp, 500, "internal_error")
    assert set(body) == {"type", "title", "status", "detail", "code"}
    text = resp.get_data(as_text=True)
    for leak in (
        "Traceback",
        "RuntimeError",
        "IntegrityError",
        "secret-marker",
        "audit_events",
        'File "',
        "sqlalchemy",
    ):
        assert leak not in text
    assert_leaks_nothing(
        resp, person_secrets(world.residents["张伟"]) + person_secrets(world.residents["李娜"])
    )
    assert _audit_total(world.app) == total_before

    # And with the writer restored, the same read is served and audited again.
    monkeypatch.setattr(staff_services, "audit", real_record)
    assert call(world, "/staff/members/<int:member_id>", "GET", "reviewer").status_code == 200
    assert _audit_total(world.app) == total_before + 1
