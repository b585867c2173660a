"""One enrollment writer: the same three people enrolled by each way in (the member flow, a
campaign's link, a sponsor's roster job), each on a fresh database, leave the same rows behind:
orders, order items, policies, premium-ledger entries, programme reservations and the public
enrollment figures.

Normalised away is only what differs by nature: ids, numbers and timestamps; who placed the
order (a member, or nobody for a roster job); and which programme row paid (each path has its
own programme of the same organisation, so it is named "the programme")."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.database import get_session
from app.demo.residents import generate
from app.demo.seed import seed_demo
from app.disclosure.models import DisclosureCounter, DisclosureEnrollment
from app.enrollment.models import LedgerEntry, Order, OrderItem, Payment
from app.members.models import Person
from app.policies.models import Policy
from app.sponsors.models import Programme, ProgrammeLedgerEntry
from tests.campaigns.conftest import token_of
from tests.conftest import bearer, login, teardown_apps, verify
from tests.enrollment.conftest import frozen, key, order_body  # noqa: F401  (fixtures)
from tests.jobs.support import roster_csv, start_job, upload
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.sponsors.conftest import RELIEF_USCC, Sponsors

PREMIUM = 8900  # the demo product's flat premium (89 yuan)
# Verified residents of 赣州 the relief fund's categories cover: 低保 (resident insurance),
# 残疾人 (employee insurance), 低收入 (resident insurance).
PEOPLE = ("刘强", "陈静", "罗斌平")
CATEGORIES = ["dibao", "disabled", "low_income"]
RESIDENTS = {r.name: r for r in generate(240) if r.name in PEOPLE}


def _member(client, name: str) -> str:
    token = login(client, f"one-writer-{name}")["access_token"]
    resp = verify(client, token, RESIDENTS[name])
    assert resp.status_code == 200, resp.get_json()
    return token


def by_member_flow(sponsors: Sponsors, admin: str) -> None:
    """Each person places an order for themselves; the category programme pays all of it."""
    sponsors.programme(admin, rule={"kind": "full"}, categories=CATEGORIES, budget_fen=PREMIUM * 10)
    client = sponsors.client
    for name in PEOPLE:
        token = _member(client, name)
        resp = client.post(
            "/orders",
            headers={**bearer(token), **key()},
            json=order_body(client, [], method=None),
        )
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["status"] == "paid"


def by_campaign(sponsors: Sponsors, admin: str) -> None:
    """Each person scans the same campaign link."""
    from tests.campaigns.conftest import Campaigns

    programme = sponsors.programme(
        admin, rule={"kind": "full"}, roster_only=True, budget_fen=PREMIUM * 10
    )
    campaigns = Campaigns(sponsors, RESIDENTS)
    link = campaigns.campaign(admin, programme["id"])["link"]
    for name in PEOPLE:
        resp = campaigns.redeem(_member(sponsors.client, name), token_of(link))
        assert resp.status_code == 201, resp.get_json()


def by_roster_job(sponsors: Sponsors, admin: str) -> None:
    """The organisation uploads the three on a roster and starts a batch enrollment."""
    programme = sponsors.programme(
        admin, rule={"kind": "full"}, roster_only=True, budget_fen=PREMIUM * 10
    )
    client = sponsors.client
    resp = upload(client, admin, programme["id"], roster_csv([RESIDENTS[n] for n in PEOPLE]))
    assert resp.status_code in (200, 201), resp.get_json()
    job = start_job(client, admin, programme["id"]).get_json()
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 3, 0), job


def written_rows(app) -> dict:
    """The rows an enrollment writes, keyed by the insured person's name."""
    with app.app_context():
        s = get_session()
        name_of = dict(s.execute(select(Person.id, Person.name)).all())
        item_person = dict(s.execute(select(OrderItem.id, OrderItem.person_id)).all())
        policy_person = dict(s.execute(select(Policy.id, Policy.person_id)).all())
        programmes = set(s.scalars(select(Programme.id).where(Programme.budget_reserved_fen > 0)))
        assert len(programmes) == 1  # one programme paid for everyone: "the programme"

        def who_item(item_id):
            return name_of[item_person[item_id]]

        def funder(subsidy: dict) -> dict:
            assert subsidy["programme_id"] in programmes
            return {**subsidy, "programme_id": "the programme"}

        orders = {}
        for order in s.scalars(select(Order)):
            [item] = order.items
            orders[name_of[item.person_id]] = {
                "status": order.status,
                "payment_method": order.payment_method,
                "amounts": (order.total_premium_fen, order.total_subsidy_fen, order.total_pay_fen),
                "product_plan_year": (order.product_id, order.plan_year),
                "terms": (order.terms_version, order.terms_sha256),
                "paid": order.paid_at is not None and order.closed_at is None,
                "item": {
                    "relation": item.relation,
                    "plan_year": item.plan_year,
                    "amounts": (item.premium_fen, item.subsidy_fen, item.pay_fen),
                    "subsidies": [funder(x) for x in item.subsidies],
                    "open": item.open,
                },
            }
        policies = {
            name_of[p.person_id]: {
                "item_of": who_item(p.order_item_id),
                "status": p.status,
                "product_plan_year": (p.product_id, p.plan_year),
                "coverage": (p.coverage_start, p.coverage_end),
                "premium_fen": p.premium_fen,
                "paid_on": p.paid_on,
            }
            for p in s.scalars(select(Policy))
        }
        ledger = sorted(
            (
                who_item(e.order_item_id),
                e.kind,
                e.amount_fen,
                "the programme" if e.programme_id in programmes else e.programme_id,
                e.payment_id,
                e.refund_id,
            )
            for e in s.scalars(select(LedgerEntry))
        )
        reservations = sorted(
            (who_item(e.order_item_id), e.kind, e.amount_fen)
            for e in s.scalars(
                select(ProgrammeLedgerEntry).where(ProgrammeLedgerEntry.kind != "top_up")
            )
        )
        programme = s.get(Programme, next(iter(programmes)))
        figures = (programme.budget_reserved_fen, programme.beneficiaries_reserved)
        issued_audits = sorted(
            (
                name_of[policy_person[a.object_id]],
                a.detail["order_id"] in set(s.scalars(select(Order.id))),
            )
            for a in s.scalars(select(AuditEvent).where(AuditEvent.action == "policy.issued"))
        )
        enrollments = sorted(
            (name_of[policy_person[e.policy_id]], e.product_id, e.plan_year, e.issued_on)
            + (e.insurance_type, e.funding_source, e.voided_at)
            for e in s.scalars(select(DisclosureEnrollment))
        )
        cell_values: dict[tuple, int] = {}  # a cell's slot rows added up (all sums here)
        for c in s.scalars(select(DisclosureCounter)):
            cell = (c.product_id, c.plan_year, c.month, c.metric, c.dimension)
            cell_values[cell] = cell_values.get(cell, 0) + c.value
        counters = sorted((*cell, value) for cell, value in cell_values.items())
        payments = s.scalars(select(Payment.id)).all()
        s.rollback()
    return {
        "orders": orders,
        "policies": policies,
        "ledger": ledger,
        "reservations": reservations,
        "programme": figures,
        "issued_audits": issued_audits,
        "enrollments": enrollments,
        "counters": counters,
        "payments": payments,
    }


def test_each_way_in_writes_the_same_rows(app_factory, fast_password_hashing, frozen):
    written = {}
    for path, enroll in (
        ("member flow", by_member_flow),
        ("campaign", by_campaign),
        ("roster job", by_roster_job),
    ):
        app = app_factory()
        with app.app_context():
            seed_demo()
        sponsors = Sponsors(app, app.test_client())
        org = sponsors.organisation(RELIEF_USCC, "赣州市民政局", "relief_fund")
        enroll(sponsors, sponsors.admin(org["id"], "fund_admin"))
        written[path] = written_rows(app)
        teardown_apps([app])  # on PostgreSQL the next path starts on an emptied schema

    member = written["member flow"]
    # What the member flow wrote, checked by hand: three paid orders of 89 yuan, each with one
    # item, one policy, one sponsor ledger entry and one reservation; the programme has 267 yuan
    # and three people reserved; the figures count three people and 267 yuan from relief funds.
    assert set(member["orders"]) == set(PEOPLE)
    assert {o["status"] for o in member["orders"].values()} == {"paid"}
    assert {o["payment_method"] for o in member["orders"].values()} == {"sponsor"}
    assert {o["amounts"] for o in member["orders"].values()} == {(PREMIUM, PREMIUM, 0)}
    assert {p["item_of"] for p in member["policies"].values()} == set(PEOPLE)
    assert member["ledger"] == sorted(
        (name, "sponsor_subsidy", PREMIUM, "the programme", None, None) for name in PEOPLE
    )
    assert member["reservations"] == sorted((name, "reserve", PREMIUM) for name in PEOPLE)
    assert member["programme"] == (3 * PREMIUM, 3)
    assert member["issued_audits"] == sorted((name, True) for name in PEOPLE)
    assert sorted(e[4] for e in member["enrollments"]) == ["employee", "resident", "resident"]
    assert ("policies_issued", 3) in {(c[3], c[5]) for c in member["counters"]}
    assert member["payments"] == []

    for path in ("campaign", "roster job"):
        for table in member:
            assert written[path][table] == member[table], (path, table)
