"""Object-level access (QUALITY.md): every route with an id in its path is tried by someone who
does not own the object, and the answer is a 404 that says nothing about the object.

HOW TO EXTEND (every new route with a `<...>` path variable needs this, or the sweep fails):

    @cross_owner("/policies/<int:policy_id>", "GET")         # the rule exactly as in app.url_map
    def _policy_of_another_member(client, world):
        a = world.verified_member("owner-a", "张伟")            # owner A creates the object
        policy_id = ...                                         # through the public API
        b = world.verified_member("intruder-b", "刘强")         # B (or another organisation)
        resp = client.get(f"/policies/{policy_id}", headers=bearer(b))
        world.assert_hidden(resp, "policy_not_found",           # 404 problem+json, nothing of
                            secrets=world.secrets("张伟"),      # the object, and the same body
                            same_as=client.get(f"/policies/{UNKNOWN_ID}", headers=bearer(b)))
        # ... then show the object still exists, unchanged, for its owner.

One function may serve several methods: `@cross_owner(rule, "GET", "PATCH")`. `world` (class
`World` below) makes members and staff with their tokens (`world.org_admin(organisation_id=2)` for another
organisation), verifies identities, adds relatives and counts audit rows; add helpers there when
a new kind of object needs them. Routes whose objects belong to nobody still get an entry:
staff reads by role (show the wrong audience or role gets 401/403 with nothing of the object and
an unknown id a bare 404), a public catalogue (show an unknown or unpublished id is a bare 404).
World builds that state directly (tests/factories.py), not through the API: what is under test
here is the attempt on another's object, so only the attempt and its checks go through HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.config import Config
from app.database import get_session
from app.enrollment.models import LedgerEntry, Order, Payment, Refund
from app.identity.idnumber import mask_name
from app.integrations.bureau.sandbox_models import SandboxResident
from app.policies.models import Policy
from tests import factories
from tests.conftest import GUARDIAN_CONSENT, add_relative, bearer
from tests.enrollment.conftest import NOW as ENROLLMENT_NOW
from tests.enrollment.conftest import key
from tests.security.support import (
    DB_INTEGER_MAX,
    OUT_OF_RANGE_ID_BUG_OPEN,
    api_routes,
    assert_leaks_nothing,
    assert_problem,
    assert_unauthorized,
    person_secrets,
)

CrossOwnerCase = Callable[[FlaskClient, "World"], None]
CROSS_OWNER_CASES: dict[tuple[str, str], CrossOwnerCase] = {}


def cross_owner(rule: str, *methods: str) -> Callable[[CrossOwnerCase], CrossOwnerCase]:
    """Register `fn` as the cross-owner attempt for (rule, method) of each method."""

    def register(fn: CrossOwnerCase) -> CrossOwnerCase:
        for method in methods:
            key = (rule, method.upper())
            assert key not in CROSS_OWNER_CASES, f"two cross-owner cases for {key}"
            CROSS_OWNER_CASES[key] = fn
        return fn

    return register


@dataclass
class World:
    app: Flask
    client: FlaskClient
    residents: dict
    _members: dict[str, dict] = field(default_factory=dict)

    # --- members --------------------------------------------------------------------------
    def member(self, code: str) -> str:
        """The member a login with `code` makes (created on first use); their access token."""
        self._members[code] = factories.login(self.app, code)
        return self._members[code]["access_token"]

    def member_id(self, code: str) -> int:
        return self._members[code]["member_id"]

    def id_of(self, token: str) -> int:
        """The member whose access token this is."""
        [found] = [m["member_id"] for m in self._members.values() if m["access_token"] == token]
        return found

    def verified_member(self, code: str, name: str) -> str:
        self._members[code] = factories.verified_member(self.app, code, self.residents[name])
        return self._members[code]["access_token"]

    def relative(self, token: str, name: str, relation: str, **extra) -> int:
        """`name` added as the token's member's relative (a child with the guardian's consent);
        anything `extra` goes through the API as asked."""
        if extra:
            if relation == "child" and "guardian_consent" not in extra:
                extra["guardian_consent"] = GUARDIAN_CONSENT
            resp = add_relative(self.client, token, self.residents[name], relation, **extra)
            assert resp.status_code == 201, resp.get_json()
            return resp.get_json()["id"]
        return factories.relative(self.app, self.id_of(token), self.residents[name], relation)

    def secrets(self, name: str) -> list[str]:
        return person_secrets(self.residents[name])

    # --- staff ----------------------------------------------------------------------------
    def staff(self, username: str) -> str:
        """An access token of an existing staff account (the demo's or one made here)."""
        return factories.staff_token(self.app, username)

    def org_admin(self, organisation_id: int | None = None, role: str = "charity_admin") -> str:
        """An admin of `organisation_id` (which must be of the role's kind), or of a new
        organisation of the role's kind."""
        import uuid

        username = f"{role}-{organisation_id or 'new'}-{uuid.uuid4().hex[:8]}"
        factories.org_admin(self.app, username, role=role, organisation_id=organisation_id)
        return factories.staff_token(self.app, username)

    # --- enrollment (inside `in_enrollment_window`) -----------------------------------------
    def paid_family(self, code: str = "owner-a") -> tuple[str, dict, list[dict]]:
        """Owner A: 张伟 with 李娜 as spouse, both insured by an order A paid from the personal
        account (policies at once). Returns A's token, the paid order and the two policies."""
        a = self.verified_member(code, "张伟")
        spouse = self.relative(a, "李娜", "spouse")
        order = factories.order(self.app, self.id_of(a), [spouse], pay=True)
        assert order["status"] == "paid", order
        # The policies as the API shows them to A: the cases compare A's own reads with them.
        policies = self.client.get("/policies", headers=bearer(a)).get_json()
        assert len(policies) == 2 and {p["status"] for p in policies} == {"active"}, policies
        return a, order, policies

    def object_secrets(self, *objects: dict, names=("张伟", "李娜")) -> list[str]:
        """What identifies A's orders and policies: their numbers, and the insured people."""
        found = [o.get(field) for o in objects for field in ("order_no", "policy_no")]
        for name in names:
            found += self.secrets(name) + [mask_name(name)]
        return found

    def money_snapshot(self) -> dict:
        """Every order, payment, refund, policy, ledger entry and showcase account balance."""
        psn_nos = [r.psn_no for r in self.residents.values()]
        with self.app.app_context():
            s = get_session()
            return {
                "orders": s.execute(
                    select(Order.id, Order.status, Order.payment_method, Order.paid_at).order_by(
                        Order.id
                    )
                ).all(),
                "payments": s.execute(
                    select(Payment.id, Payment.method, Payment.status).order_by(Payment.id)
                ).all(),
                "refunds": s.execute(select(Refund.id, Refund.status).order_by(Refund.id)).all(),
                "policies": s.execute(select(Policy.id, Policy.status).order_by(Policy.id)).all(),
                "ledger": s.scalar(select(func.count()).select_from(LedgerEntry)),
                "balances": s.execute(
                    select(SandboxResident.psn_no, SandboxResident.balc_fen)
                    .where(SandboxResident.psn_no.in_(psn_nos))
                    .order_by(SandboxResident.psn_no)
                ).all(),
            }

    # --- checks ---------------------------------------------------------------------------
    def audit_count(self, action: str) -> int:
        with self.app.app_context():
            return get_session().scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )

    def assert_hidden(self, resp, code: str, *, secrets: list[str], same_as=None) -> None:
        """A plain 404 problem with nothing of the object; identical to a never-existing id."""
        assert_problem(resp, 404, code)
        assert_leaks_nothing(resp, secrets)
        if same_as is not None:
            assert_problem(same_as, 404, code)
            assert resp.get_json() == same_as.get_json(), "another's object and no object differ"


@pytest.fixture
def world(fast_password_hashing, seeded, residents) -> World:
    return World(seeded, seeded.test_client(), residents)


# --- the cases -----------------------------------------------------------------------------

UNKNOWN_ID = 99_999_999


@cross_owner("/me/relatives/<int:relative_id>", "GET")
def _read_relative_of_another_member(client, world: World):
    a = world.verified_member("owner-a", "张伟")
    spouse = world.relative(a, "李娜", "spouse")
    b = world.verified_member("intruder-b", "刘强")
    b_own = world.relative(b, "陈静", "spouse")

    resp = client.get(f"/me/relatives/{spouse}", headers=bearer(b))
    world.assert_hidden(
        resp,
        "relative_not_found",
        secrets=world.secrets("李娜"),
        same_as=client.get(f"/me/relatives/{UNKNOWN_ID}", headers=bearer(b)),
    )
    # B can read B's own relative, and A's relative is there for A: the 404 is about ownership.
    assert client.get(f"/me/relatives/{b_own}", headers=bearer(b)).status_code == 200
    own = client.get(f"/me/relatives/{spouse}", headers=bearer(a))
    assert own.status_code == 200 and own.get_json()["person"]["name"] == "李娜"


@cross_owner("/me/relatives/<int:relative_id>", "DELETE")
def _delete_relative_of_another_member(client, world: World):
    a = world.verified_member("owner-a", "张伟")
    child = world.relative(a, "张小宝", "child")
    b = world.verified_member("intruder-b", "刘强")
    removed_before = world.audit_count("relative.removed")

    resp = client.delete(f"/me/relatives/{child}", headers=bearer(b))
    world.assert_hidden(
        resp,
        "relative_not_found",
        secrets=world.secrets("张小宝"),
        same_as=client.delete(f"/me/relatives/{UNKNOWN_ID}", headers=bearer(b)),
    )
    # Nothing happened: A still has the child, and no removal was recorded.
    own = client.get(f"/me/relatives/{child}", headers=bearer(a))
    assert own.status_code == 200 and own.get_json()["person"]["name"] == "张小宝"
    assert world.audit_count("relative.removed") == removed_before


@cross_owner("/staff/members/<int:member_id>", "GET")
def _staff_member_record_by_the_wrong_audience_or_role(client, world: World):
    """Staff read member records by role, not ownership: a member token (even the member's own)
    gets 401, an organisation admin gets 403, an unknown id gets a bare 404; none of them shows
    anything of the member or writes a sensitive-read audit row."""
    a = world.verified_member("owner-a", "张伟")
    world.relative(a, "李娜", "spouse")
    member_id = world.member_id("owner-a")
    b = world.member("intruder-b")
    secrets = world.secrets("张伟") + world.secrets("李娜")
    reads_before = world.audit_count("member.read_sensitive")

    for token in (b, a):
        resp = client.get(f"/staff/members/{member_id}", headers=bearer(token))
        assert_unauthorized(resp, "token_audience")
        assert_leaks_nothing(resp, secrets)

    org_admin = world.org_admin()
    resp = client.get(f"/staff/members/{member_id}", headers=bearer(org_admin))
    assert_problem(resp, 403, "role_forbidden")
    assert_leaks_nothing(resp, secrets)
    assert world.audit_count("member.read_sensitive") == reads_before

    reviewer = world.staff("demo-reviewer")
    resp = client.get(f"/staff/members/{UNKNOWN_ID}", headers=bearer(reviewer))
    assert_problem(resp, 404, "member_not_found")
    assert_leaks_nothing(resp, secrets)
    # The route does work for the right role, so the denials above are about who asked.
    assert client.get(f"/staff/members/{member_id}", headers=bearer(reviewer)).status_code == 200


@cross_owner("/products/<product_code:code>", "GET")
@cross_owner("/products/<product_code:code>/terms", "GET")
def _public_catalogue_hides_unknown_and_retired_products(client, world: World):
    """Products belong to nobody: anyone may read a published one; an unknown code and a retired
    product are the same bare 404 for every caller; a malformed code never reaches a query."""
    from app.products.services import retire_product

    member = world.verified_member("reader-a", "张伟")
    reviewer = world.staff("demo-reviewer")
    with world.app.app_context():
        retire_product("huhuibao-2021")
    for suffix in ("", "/terms"):
        for headers in ({}, bearer(member), bearer(reviewer)):
            unknown = client.get(f"/products/never-existed{suffix}", headers=headers)
            world.assert_hidden(
                client.get(f"/products/huhuibao-2021{suffix}", headers=headers),
                "product_not_found",
                secrets=["沪惠保"],
                same_as=unknown,
            )
            assert_problem(
                client.get(f"/products/BAD_CODE!{suffix}", headers=headers), 404, "not_found"
            )
            assert (
                client.get(f"/products/ganzhou-demo-2026{suffix}", headers=headers).status_code
                == 200
            )


# Orders and policies. A (张伟, see World.paid_family) owns them; B is another real, verified
# member. Money-moving POSTs carry a valid Idempotency-Key, so the 404 is about ownership and not
# a missing header, and World.money_snapshot shows B's attempt changed nothing anywhere.


def in_enrollment_window(case: CrossOwnerCase) -> CrossOwnerCase:
    """Run `case` on 2026-11-23 10:00 Shanghai, when the demo product's window is open (the clock
    keeps ticking, so tokens and rate limits behave as usual)."""

    @wraps(case)
    def run(client, world):
        with time_machine.travel(ENROLLMENT_NOW, tick=True):
            case(client, world)

    return run


def _intruder(world: World) -> str:
    """B: 陈静, verified (an employee with her own personal account, so a payment wrongly taken
    from the caller's account would show in the balances)."""
    return world.verified_member("intruder-b", "陈静")


def _intruder_with_a_policy(client, world: World) -> tuple[str, dict, int]:
    """B, insured by an order of her own (so she has an order and a policy to read herself)."""
    b = _intruder(world)
    order = factories.order(world.app, world.id_of(b), [], pay=True)
    assert order["status"] == "paid" and len(order["policies"]) == 1, order
    return b, order, order["policies"][0]["id"]


@cross_owner("/orders/<int:order_id>", "GET")
@in_enrollment_window
def _read_order_of_another_member(client, world: World):
    a, paid, _ = world.paid_family()
    child = world.relative(a, "张小宝", "child")
    unpaid = factories.order(world.app, world.id_of(a), [child], include_self=False)
    b, b_order, _ = _intruder_with_a_policy(client, world)
    secrets = world.object_secrets(paid, unpaid, names=("张伟", "李娜", "张小宝"))

    unknown = client.get(f"/orders/{UNKNOWN_ID}", headers=bearer(b))
    for order in (paid, unpaid):
        resp = client.get(f"/orders/{order['id']}", headers=bearer(b))
        world.assert_hidden(resp, "order_not_found", secrets=secrets, same_as=unknown)
    listed = client.get("/orders", headers=bearer(b))
    assert [o["id"] for o in listed.get_json()] == [b_order["id"]]
    assert_leaks_nothing(listed, secrets)
    # B reads B's own order, and A's orders are there for A: the 404 is about ownership.
    assert client.get(f"/orders/{b_order['id']}", headers=bearer(b)).status_code == 200
    for order, status in ((paid, "paid"), (unpaid, "pending_payment")):
        own = client.get(f"/orders/{order['id']}", headers=bearer(a))
        assert own.status_code == 200, own.get_json()
        assert (own.get_json()["order_no"], own.get_json()["status"]) == (order["order_no"], status)


def _payment_ids(world: World, order_id: int) -> list[int]:
    with world.app.app_context():
        return list(get_session().scalars(select(Payment.id).where(Payment.order_id == order_id)))


@cross_owner("/orders/<int:order_id>/payments/<int:payment_id>", "GET")
@in_enrollment_window
def _read_payment_of_another_member(client, world: World):
    a, paid, _ = world.paid_family()
    [payment_id] = _payment_ids(world, paid["id"])
    b, b_order, _ = _intruder_with_a_policy(client, world)
    secrets = world.object_secrets(paid)
    unknown = client.get(f"/orders/{UNKNOWN_ID}/payments/{payment_id}", headers=bearer(b))
    resp = client.get(f"/orders/{paid['id']}/payments/{payment_id}", headers=bearer(b))
    world.assert_hidden(resp, "order_not_found", secrets=secrets, same_as=unknown)
    # A's payment under B's own order: not B's payment either.
    mixed = client.get(f"/orders/{b_order['id']}/payments/{payment_id}", headers=bearer(b))
    assert mixed.status_code == 404 and mixed.get_json()["code"] == "payment_not_found"
    assert_leaks_nothing(mixed, secrets)
    # A reads it: the 404s above were about ownership.
    own = client.get(f"/orders/{paid['id']}/payments/{payment_id}", headers=bearer(a))
    assert own.status_code == 200 and own.get_json()["state"] == "paid", own.get_json()


@cross_owner("/orders/<int:order_id>/payments", "POST")
@in_enrollment_window
def _pay_order_of_another_member(client, world: World):
    a = world.verified_member("owner-a", "张伟")
    spouse = world.relative(a, "李娜", "spouse")
    order = factories.order(world.app, world.id_of(a), [spouse])
    b = _intruder(world)
    secrets = world.object_secrets(order)
    path = f"/orders/{order['id']}/payments"
    before = world.money_snapshot()

    for method in ("personal_account", "wechat"):
        resp = client.post(path, headers={**bearer(b), **key()}, json={"method": method})
        world.assert_hidden(
            resp,
            "order_not_found",
            secrets=secrets,
            same_as=client.post(
                f"/orders/{UNKNOWN_ID}/payments",
                headers={**bearer(b), **key()},
                json={"method": method},
            ),
        )
    # Nothing happened: no payment started, nobody's account debited, A's order still unpaid.
    assert world.money_snapshot() == before
    own = client.get(f"/orders/{order['id']}", headers=bearer(a)).get_json()
    assert (own["status"], own["payment_method"]) == ("pending_payment", "personal_account")

    # A can pay it (the route works). Keys are scoped to the caller: B sending A's very key and
    # body gets no replay of A's stored answer, and still changes nothing.
    a_key = key()
    resp = client.post(path, headers={**bearer(a), **a_key}, json={"method": "personal_account"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "paid", resp.get_json()
    after_paid = world.money_snapshot()
    resp = client.post(path, headers={**bearer(b), **a_key}, json={"method": "personal_account"})
    world.assert_hidden(resp, "order_not_found", secrets=secrets)
    assert "Idempotent-Replayed" not in resp.headers
    assert world.money_snapshot() == after_paid


@cross_owner("/orders/<int:order_id>/sandbox-wechat-payment", "POST")
@in_enrollment_window
def _simulate_wechat_payment_of_another_members_order(client, world: World):
    a = world.verified_member("owner-a", "张伟")
    spouse = world.relative(a, "李娜", "spouse")
    order = factories.order(world.app, world.id_of(a), [spouse], method="wechat", pay=True)
    assert order["payments"] == ["pending"], order  # awaiting the payer
    b = _intruder(world)
    secrets = world.object_secrets(order)
    path = f"/orders/{order['id']}/sandbox-wechat-payment"
    before = world.money_snapshot()

    resp = client.post(path, headers={**bearer(b), **key()})
    world.assert_hidden(
        resp,
        "order_not_found",
        secrets=secrets,
        same_as=client.post(
            f"/orders/{UNKNOWN_ID}/sandbox-wechat-payment", headers={**bearer(b), **key()}
        ),
    )
    # Nothing happened: A's WeChat payment is still pending, the order unpaid, no policies.
    assert world.money_snapshot() == before
    own = client.get(f"/orders/{order['id']}", headers=bearer(a)).get_json()
    assert (own["status"], own["payment_method"]) == ("pending_payment", "wechat")
    # For A the simulated payment goes through: the 404 above was about ownership.
    resp = client.post(path, headers=bearer(a))
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "paid", resp.get_json()


@cross_owner("/policies/<int:policy_id>", "GET")
@in_enrollment_window
def _read_policy_of_another_member(client, world: World):
    a, order, policies = world.paid_family()
    b, _, b_policy = _intruder_with_a_policy(client, world)
    secrets = world.object_secrets(order, *policies)

    unknown = client.get(f"/policies/{UNKNOWN_ID}", headers=bearer(b))
    for policy in policies:
        resp = client.get(f"/policies/{policy['id']}", headers=bearer(b))
        world.assert_hidden(resp, "policy_not_found", secrets=secrets, same_as=unknown)
    listed = client.get("/policies", headers=bearer(b))
    assert [p["id"] for p in listed.get_json()] == [b_policy]
    assert_leaks_nothing(listed, secrets)
    assert client.get(f"/policies/{b_policy}", headers=bearer(b)).status_code == 200
    for policy in policies:
        own = client.get(f"/policies/{policy['id']}", headers=bearer(a))
        assert own.status_code == 200 and own.get_json() == policy


def _certificate_secrets(
    client, world: World, a: str, order: dict, policies: list[dict]
) -> list[str]:
    """A's objects, plus the signed verification tokens of A's certificates."""
    tokens = []
    for policy in policies:
        cert = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(a))
        assert cert.status_code == 200, cert.get_json()
        tokens.append(cert.get_json()["verify_url"].split("token=", 1)[1])
    return world.object_secrets(order, *policies) + tokens


@cross_owner("/policies/<int:policy_id>/certificate", "GET")
@cross_owner("/policies/<int:policy_id>/certificate.png", "GET")
@cross_owner("/policies/<int:policy_id>/policy.pdf", "GET")
@in_enrollment_window
def _certificate_of_another_members_policy(client, world: World):
    """The certificate as data, as a PNG and the policy as a PDF: B gets the same problem+json
    404 as for no policy (never an image or a PDF, never the verification link)."""
    a, order, policies = world.paid_family()
    secrets = _certificate_secrets(client, world, a, order, policies)
    b = _intruder(world)

    for suffix in ("/certificate", "/certificate.png", "/policy.pdf"):
        unknown = client.get(f"/policies/{UNKNOWN_ID}{suffix}", headers=bearer(b))
        for policy in policies:
            resp = client.get(f"/policies/{policy['id']}{suffix}", headers=bearer(b))
            world.assert_hidden(resp, "policy_not_found", secrets=secrets, same_as=unknown)
    for policy in policies:
        png = client.get(f"/policies/{policy['id']}/certificate.png", headers=bearer(a))
        assert png.status_code == 200 and png.mimetype == "image/png"
        pdf = client.get(f"/policies/{policy['id']}/policy.pdf", headers=bearer(a))
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


@cross_owner("/policies/<int:policy_id>/surrender", "POST")
@in_enrollment_window
def _surrender_policy_of_another_member(client, world: World):
    a, order, policies = world.paid_family()
    b = _intruder(world)
    secrets = world.object_secrets(order, *policies)
    before = world.money_snapshot()
    surrendered_before = world.audit_count("policy.surrendered")

    unknown = client.post(f"/policies/{UNKNOWN_ID}/surrender", headers={**bearer(b), **key()})
    for policy in policies:
        resp = client.post(f"/policies/{policy['id']}/surrender", headers={**bearer(b), **key()})
        world.assert_hidden(resp, "policy_not_found", secrets=secrets, same_as=unknown)
    # Nothing happened: both policies active, no refund rows, no balance moved, nothing audited.
    assert world.money_snapshot() == before
    assert world.audit_count("policy.surrendered") == surrendered_before
    for policy in policies:
        assert (
            client.get(f"/policies/{policy['id']}", headers=bearer(a)).get_json()["status"]
            == "active"
        )

    # A (the payer) can surrender (the route works); B sending A's very key gets no replay.
    a_key = key()
    path = f"/policies/{policies[0]['id']}/surrender"
    resp = client.post(path, headers={**bearer(a), **a_key})
    assert resp.status_code == 200 and resp.get_json()["policy"]["status"] == "void", (
        resp.get_json()
    )
    after = world.money_snapshot()
    resp = client.post(path, headers={**bearer(b), **a_key})
    world.assert_hidden(resp, "policy_not_found", secrets=secrets)
    assert "Idempotent-Replayed" not in resp.headers
    assert world.money_snapshot() == after


# Sponsors. Organisation A (a relief fund) owns a programme; B is another organisation's admin.
# B gets the same 404 as for an id that never existed, sees nothing of A's organisation or
# programme, and changes nothing; A's own admin (and, for organisations, an operator) can.


@dataclass
class SponsorWorld:
    org_a: dict
    org_b: dict
    admin_a: str
    admin_b: str
    programme_id: int
    secrets: list[str]


def _sponsor_world(world: World) -> SponsorWorld:
    from app.auth.principal import Principal
    from app.sponsors import services as sponsor_services
    from app.sponsors.rules import uscc_check_char

    operator = Principal(kind="staff", id=1, role="operator")
    codes = {}
    with world.app.app_context():
        orgs = []
        for first17, name, kind in (
            ("11360700MB1111111", "赣州市民政局A", "relief_fund"),
            ("51360700MJ2222222", "赣州市慈善总会B", "charity"),
        ):
            code = first17 + uscc_check_char(first17)
            org = sponsor_services.create_organisation(operator, uscc=code, name=name, kind=kind)
            codes[name] = code
            orgs.append({"id": org.id, "name": name, "uscc": code})
        admin = Principal(kind="staff", id=1, role="fund_admin", organisation_id=orgs[0]["id"])
        programme = sponsor_services.create_programme(
            admin,
            name="低保资助专项A",
            plan_year=2026,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            rule={"kind": "full"},
            eligibility={"categories": ["dibao"]},
            quota=None,
            product_id=None,
        )
        sponsor_services.top_up(admin, programme.id, 89_000)
        programme_id = programme.id
    admin_a = world.org_admin(organisation_id=orgs[0]["id"], role="fund_admin")
    admin_b = world.org_admin(organisation_id=orgs[1]["id"], role="charity_admin")
    secrets = [orgs[0]["name"], orgs[0]["uscc"], "低保资助专项A", "89000"]
    return SponsorWorld(orgs[0], orgs[1], admin_a, admin_b, programme_id, secrets)


def _programme_figures(world: World, programme_id: int) -> tuple:
    from app.sponsors.models import Programme, ProgrammeLedgerEntry

    with world.app.app_context():
        s = get_session()
        p = s.get(Programme, programme_id)
        entries = s.scalar(select(func.count()).select_from(ProgrammeLedgerEntry))
        return p.status, p.budget_total_fen, p.budget_reserved_fen, entries


@cross_owner("/staff/organisations/<int:organisation_id>", "GET")
def _organisation_of_another_organisations_admin(client, world: World):
    sw = _sponsor_world(world)
    path = f"/staff/organisations/{sw.org_a['id']}"
    resp = client.get(path, headers=bearer(sw.admin_b))
    world.assert_hidden(
        resp,
        "organisation_not_found",
        secrets=sw.secrets,
        same_as=client.get(f"/staff/organisations/{UNKNOWN_ID}", headers=bearer(sw.admin_b)),
    )
    # A's admin and an operator read it; B reads its own.
    for token in (sw.admin_a, world.staff("demo-operator")):
        own = client.get(path, headers=bearer(token))
        assert own.status_code == 200 and own.get_json()["uscc"] == sw.org_a["uscc"], own.get_json()
    assert (
        client.get(f"/staff/organisations/{sw.org_b['id']}", headers=bearer(sw.admin_b)).status_code
        == 200
    )


@cross_owner("/staff/programmes/<int:programme_id>", "GET")
@cross_owner("/staff/programmes/<int:programme_id>/report", "GET")
def _read_programme_of_another_organisation(client, world: World):
    sw = _sponsor_world(world)
    for suffix in ("", "/report"):
        resp = client.get(
            f"/staff/programmes/{sw.programme_id}{suffix}", headers=bearer(sw.admin_b)
        )
        world.assert_hidden(
            resp,
            "programme_not_found",
            secrets=sw.secrets,
            same_as=client.get(
                f"/staff/programmes/{UNKNOWN_ID}{suffix}", headers=bearer(sw.admin_b)
            ),
        )
        own = client.get(f"/staff/programmes/{sw.programme_id}{suffix}", headers=bearer(sw.admin_a))
        assert own.status_code == 200 and own.get_json()["budget_total_fen"] == 89_000
    listed = client.get("/staff/programmes", headers=bearer(sw.admin_b))
    assert listed.get_json() == []
    assert_leaks_nothing(listed, sw.secrets)


@cross_owner("/staff/programmes/<int:programme_id>/top-ups", "POST")
def _top_up_programme_of_another_organisation(client, world: World):
    sw = _sponsor_world(world)
    before = _programme_figures(world, sw.programme_id)
    path = f"/staff/programmes/{sw.programme_id}/top-ups"
    resp = client.post(path, headers={**bearer(sw.admin_b), **key()}, json={"amount_fen": 100})
    world.assert_hidden(
        resp,
        "programme_not_found",
        secrets=sw.secrets,
        same_as=client.post(
            f"/staff/programmes/{UNKNOWN_ID}/top-ups",
            headers={**bearer(sw.admin_b), **key()},
            json={"amount_fen": 100},
        ),
    )
    assert _programme_figures(world, sw.programme_id) == before
    a_key = key()
    resp = client.post(path, headers={**bearer(sw.admin_a), **a_key}, json={"amount_fen": 100})
    assert resp.status_code == 200 and resp.get_json()["budget_total_fen"] == 89_100
    after = _programme_figures(world, sw.programme_id)
    resp = client.post(path, headers={**bearer(sw.admin_b), **a_key}, json={"amount_fen": 100})
    world.assert_hidden(resp, "programme_not_found", secrets=sw.secrets)
    assert "Idempotent-Replayed" not in resp.headers
    assert _programme_figures(world, sw.programme_id) == after


@cross_owner("/staff/programmes/<int:programme_id>/status", "POST")
def _change_status_of_another_organisations_programme(client, world: World):
    sw = _sponsor_world(world)
    before = _programme_figures(world, sw.programme_id)
    path = f"/staff/programmes/{sw.programme_id}/status"
    for action in ("pause", "close"):
        resp = client.post(path, headers=bearer(sw.admin_b), json={"action": action})
        world.assert_hidden(
            resp,
            "programme_not_found",
            secrets=sw.secrets,
            same_as=client.post(
                f"/staff/programmes/{UNKNOWN_ID}/status",
                headers=bearer(sw.admin_b),
                json={"action": action},
            ),
        )
    assert _programme_figures(world, sw.programme_id) == before
    resp = client.post(path, headers=bearer(sw.admin_a), json={"action": "pause"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "paused"


# Claim routes register their cases from their own module (keeps this file to one concern each).
# So do invite campaigns.
# And rosters with their batch-enrollment jobs, the product catalogues, and staff accounts.
from tests.security import (  # noqa: E402
    campaigns_cases,  # noqa: F401
    catalogues_cases,  # noqa: F401
    claims_cases,  # noqa: F401
    rosters_cases,  # noqa: F401
    special_drugs_cases,  # noqa: F401
    staff_accounts_cases,  # noqa: F401
)

# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CROSS_OWNER_CASES), ids=lambda k: f"{k[1]} {k[0]}")
def test_cross_owner_attempt_is_a_bare_404(key, world):
    CROSS_OWNER_CASES[key](world.client, world)


def test_every_id_route_has_a_cross_owner_case(app):
    id_routes = set(api_routes(app, with_path_variables=True))
    assert ("/me/relatives/<int:relative_id>", "GET") in id_routes  # the sweep sees the url_map
    missing = sorted(id_routes - set(CROSS_OWNER_CASES))
    assert not missing, (
        "These routes have an id in their path but no cross-owner test. Add one per route with "
        "@cross_owner(rule, method) in tests/security/test_object_access.py (see the top of that "
        "file): " + ", ".join(f"{method} {rule}" for rule, method in missing)
    )


def test_cross_owner_registry_names_only_existing_routes(app):
    stale = sorted(set(CROSS_OWNER_CASES) - set(api_routes(app, with_path_variables=True)))
    assert not stale, f"cross-owner cases for routes that no longer exist (rename them): {stale}"


def test_a_relative_sees_the_policy_paid_for_her_but_only_the_payer_may_surrender(world):
    """Visibility is own + relatives' + paid-for: 李娜, logged in as her own verified member, sees
    the policy 张伟 paid for her (and its certificate), but not 张伟's own policy nor his order,
    and may not surrender hers (the payer's money comes back to the payer only)."""
    client = world.client
    with time_machine.travel(ENROLLMENT_NOW, tick=True):
        a, order, policies = world.paid_family()
        hers = next(p for p in policies if p["insured_name_masked"] == mask_name("李娜"))
        his = next(p for p in policies if p["id"] != hers["id"])
        li_na = world.verified_member("li-na", "李娜")

        listed = client.get("/policies", headers=bearer(li_na))
        assert listed.status_code == 200 and listed.get_json() == [hers]
        assert client.get(f"/policies/{hers['id']}", headers=bearer(li_na)).get_json() == hers
        cert = client.get(f"/policies/{hers['id']}/certificate", headers=bearer(li_na))
        assert cert.status_code == 200 and cert.get_json()["policy"]["id"] == hers["id"]
        png = client.get(f"/policies/{hers['id']}/certificate.png", headers=bearer(li_na))
        assert png.status_code == 200 and png.mimetype == "image/png"
        pdf = client.get(f"/policies/{hers['id']}/policy.pdf", headers=bearer(li_na))
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"

        # 张伟's own policy and the order are not hers to see.
        his_secrets = [his["policy_no"], order["order_no"]] + world.secrets("张伟")
        world.assert_hidden(
            client.get(f"/policies/{his['id']}", headers=bearer(li_na)),
            "policy_not_found",
            secrets=his_secrets,
            same_as=client.get(f"/policies/{UNKNOWN_ID}", headers=bearer(li_na)),
        )
        world.assert_hidden(
            client.get(f"/orders/{order['id']}", headers=bearer(li_na)),
            "order_not_found",
            secrets=his_secrets,
            same_as=client.get(f"/orders/{UNKNOWN_ID}", headers=bearer(li_na)),
        )
        assert client.get("/orders", headers=bearer(li_na)).get_json() == []

        before = world.money_snapshot()
        surrendered_before = world.audit_count("policy.surrendered")
        resp = client.post(f"/policies/{hers['id']}/surrender", headers={**bearer(li_na), **key()})
        assert_problem(resp, 422, "surrender_payer_only")
        assert_leaks_nothing(resp, his_secrets)
        assert world.money_snapshot() == before  # still active, no refund rows, no money moved
        assert world.audit_count("policy.surrendered") == surrendered_before
        assert (
            client.get(f"/policies/{hers['id']}", headers=bearer(li_na)).get_json()["status"]
            == "active"
        )

        # The payer may.
        resp = client.post(f"/policies/{hers['id']}/surrender", headers={**bearer(a), **key()})
        assert resp.status_code == 200 and resp.get_json()["policy"]["status"] == "void", (
            resp.get_json()
        )


@pytest.mark.xfail(
    OUT_OF_RANGE_ID_BUG_OPEN,
    strict=True,
    raises=AssertionError,
    reason=(
        "BUG: werkzeug's <int:...> converter (and AuditQuerySchema.object_id, max 2**62) admit "
        "integers beyond the INTEGER columns; the query then raises (SQLite OverflowError above "
        "2**63-1, PostgreSQL NumericValueOutOfRange above 2**31-1) -> 500 instead of 404/422."
    ),
)
def test_out_of_range_ids_are_a_plain_404_not_a_server_error(world):
    """An id no row can have is "not found" (a filter on one is a 422 or an empty page)."""
    client = world.client
    token = world.verified_member("owner-a", "张伟")
    reviewer = world.staff("demo-reviewer")
    operator = world.staff("demo-operator")
    failures = []
    for value in (DB_INTEGER_MAX + 1, 2**63, 2**64):
        for method, path, auth, allowed in (
            ("GET", f"/me/relatives/{value}", token, (404,)),
            ("DELETE", f"/me/relatives/{value}", token, (404,)),
            ("GET", f"/staff/members/{value}", reviewer, (404,)),
            ("GET", f"/staff/audit-events?object_id={value}", operator, (200, 422)),
            ("GET", f"/orders/{value}", token, (404,)),
            ("POST", f"/orders/{value}/payments", token, (404,)),
            ("POST", f"/orders/{value}/sandbox-wechat-payment", token, (404,)),
            ("GET", f"/policies/{value}", token, (404,)),
            ("GET", f"/policies/{value}/certificate", token, (404,)),
            ("GET", f"/policies/{value}/certificate.png", token, (404,)),
            ("POST", f"/policies/{value}/surrender", token, (404,)),
        ):
            # Money-moving POSTs carry a valid Idempotency-Key (and a body), so only the id
            # decides the answer.
            extra = (
                {"headers": {**bearer(auth), **key()}}
                if method == "POST"
                else {"headers": bearer(auth)}
            )
            if path.endswith("/payments"):
                extra["json"] = {"method": "personal_account"}
            resp = client.open(path, method=method, **extra)
            if resp.status_code not in allowed:
                failures.append(f"{method} {path} -> {resp.status_code}")
            elif resp.status_code >= 400:
                assert_problem(resp, resp.status_code)
    assert not failures, failures


# --- renewal (续保) ----------------------------------------------------------------------------

RENEWAL_CONSENT = {"version": Config.RENEWAL_CONSENT_VERSION, "accepted": True}


@cross_owner("/renewals/consents/<int:consent_id>/revoke", "POST")
@in_enrollment_window
def _revoke_renewal_consent_of_another_member(client, world: World):
    a, _, policies = world.paid_family()
    made = client.post(
        "/renewals/consents",
        headers=bearer(a),
        json={"policy_id": policies[0]["id"], "auto_debit": True, "consent": RENEWAL_CONSENT},
    )
    assert made.status_code == 201, made.get_json()
    consent_id = made.get_json()["id"]
    b = _intruder(world)
    unknown = client.post(f"/renewals/consents/{UNKNOWN_ID}/revoke", headers=bearer(b))
    resp = client.post(f"/renewals/consents/{consent_id}/revoke", headers=bearer(b))
    world.assert_hidden(
        resp, "renewal_consent_not_found", secrets=world.object_secrets(), same_as=unknown
    )
    # B cannot consent for A's policy either; A's consent is still active for A.
    taken = client.post(
        "/renewals/consents",
        headers=bearer(b),
        json={"policy_id": policies[0]["id"], "consent": RENEWAL_CONSENT},
    )
    assert_problem(taken, 404, "policy_not_found")
    mine = client.get("/renewals", headers=bearer(a)).get_json()["consents"]
    assert [(c["id"], c["status"]) for c in mine] == [(consent_id, "active")]


@cross_owner("/staff/renewal-runs/<int:run_id>", "GET")
@cross_owner("/staff/renewal-runs/<int:run_id>/resume", "POST")
def _renewal_runs_by_the_wrong_audience_or_role(client, world: World):
    """Renewal runs belong to nobody: operators read and resume them by role. A member token gets
    401, a reviewer or an organisation admin 403, an unknown run a bare 404."""
    from app.renewals.models import RenewalRun

    with world.app.app_context():
        from app.database import transaction
        from app.products.services import get_product

        with transaction() as s:
            run = RenewalRun(
                product_id=get_product("ganzhou-demo-2027").id,
                from_product_id=get_product("ganzhou-demo-2026").id,
                plan_year=2027,
                status="completed",
            )
            s.add(run)
        run_id = run.id
    member = world.verified_member("owner-a", "张伟")
    for method, path in (
        ("GET", f"/staff/renewal-runs/{run_id}"),
        ("POST", f"/staff/renewal-runs/{run_id}/resume"),
    ):
        assert_unauthorized(client.open(path, method=method, headers=bearer(member)))
        for token in (world.staff("demo-reviewer"), world.org_admin()):
            assert_problem(client.open(path, method=method, headers=bearer(token)), 403)
        operator = world.staff("demo-operator")
        unknown = path.replace(str(run_id), str(UNKNOWN_ID))
        assert_problem(
            client.open(unknown, method=method, headers=bearer(operator)),
            404,
            "renewal_run_not_found",
        )
    # The operator reads it (a finished run is not resumed: 409).
    operator = world.staff("demo-operator")
    assert client.get(f"/staff/renewal-runs/{run_id}", headers=bearer(operator)).status_code == 200
    resumed = client.post(f"/staff/renewal-runs/{run_id}/resume", headers=bearer(operator))
    assert_problem(resumed, 409, "renewal_run_busy")
