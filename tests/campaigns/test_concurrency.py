"""200 different residents redeem one campaign at the same moment, on PostgreSQL (SQLite
serialises writers, which would hide any race): never more redemptions than the quota, never more
spent than the budget, and every ledger consistent afterwards. Each scan is a real HTTP request
through the member endpoint; only the setup (organisation, programme, 200 verified members) is
done through the services directly, to keep the test quick."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select, update

from app.auth.principal import Principal
from app.auth.services import issue_tokens
from app.campaigns import services as campaign_services
from app.campaigns.models import Campaign, CampaignRedemption
from app.database import get_session, transaction
from app.demo.residents import CITY_AREAS, generate
from app.demo.seed import seed_demo
from app.enrollment.models import Order
from app.identity import services as identity
from app.identity.idnumber import parse
from app.integrations import registry
from app.members.models import Member
from app.payments.ledger import check_ledger
from app.policies.models import Policy
from app.sponsors import services as sponsor_services
from app.sponsors.models import Programme
from app.sponsors.rules import uscc_check_char
from tests.enrollment.conftest import NOW

pytestmark = pytest.mark.postgres

PREMIUM = 8900
ATTEMPTS = 200
ROOM = 50
TERMS = "2026.1"


def _members(app, count: int) -> list[str]:
    """`count` adults insured in the city, verified with the sandbox bureau (the verification
    code path without its HTTP route and rate limits); their access tokens."""
    people = [
        r
        for r in generate(400)[10:]
        if r.psn_insu_stas == "1" and r.insuplc_admdvs in CITY_AREAS and r.brdy <= date(2000, 1, 1)
    ]
    assert len(people) >= count
    tokens = []
    with app.app_context():
        for n, resident in enumerate(people[:count]):
            id_number = parse(resident.certno, today=date(2026, 11, 23))
            found = registry.bureau().lookup_person(resident.certno, resident.name)
            with transaction() as s:
                person = identity.upsert_person(s, id_number, found)
                member = Member(openid=f"race-{n}", person_id=person.id)
                s.add(member)
                s.flush()
                member_id = member.id
                tokens.append(issue_tokens(s, "member", member_id)[0].access_token)
    return tokens


def _campaign(app, *, budget_fen: int, quota: int) -> tuple[str, int, int]:
    first17 = "51360700MJ7777777"
    with app.app_context():
        org = sponsor_services.create_organisation(
            Principal(kind="staff", id=1, role="operator"),
            uscc=first17 + uscc_check_char(first17),
            name="赣州市慈善总会",
            kind="charity",
        )
        admin = Principal(kind="staff", id=1, role="charity_admin", organisation_id=org.id)
        programme = sponsor_services.create_programme(
            admin,
            name="扫码助保",
            plan_year=2026,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            rule={"kind": "full"},
            eligibility={"roster_only": True},
            quota=None,
            product_id=None,
        )
        sponsor_services.top_up(admin, programme.id, budget_fen)
        campaign = campaign_services.create_campaign(
            admin,
            programme_id=programme.id,
            name="200人同时扫码",
            quota=min(quota, budget_fen // PREMIUM),
            expires_on=date(2026, 12, 31),
            eligibility={},
        )
        if campaign.quota < quota:
            # More places than the budget pays for, as when another campaign or a roster of the
            # programme spent the budget after this one was created (creation refuses it).
            with transaction() as session:
                session.execute(
                    update(Campaign).where(Campaign.id == campaign.id).values(quota=quota)
                )
        link = campaign_services.link_for(campaign)
        return link.split("token=", 1)[1], campaign.id, programme.id


@pytest.mark.parametrize("limit", ["quota", "budget"])
def test_200_concurrent_redemptions_never_exceed_quota_or_budget(app_factory, limit):
    app = app_factory(RATELIMIT_ENABLED=False)
    with time_machine.travel(NOW, tick=True):
        with app.app_context():
            seed_demo(count=400)
        if limit == "quota":  # room for 50 people, money for all 200
            token, campaign_id, programme_id = _campaign(
                app, budget_fen=ATTEMPTS * PREMIUM, quota=ROOM
            )
            refusal = "campaign_exhausted"
        else:  # places for all 200, money for 50
            token, campaign_id, programme_id = _campaign(
                app, budget_fen=ROOM * PREMIUM, quota=ATTEMPTS
            )
            refusal = "campaign_budget_exhausted"
        members = _members(app, ATTEMPTS)
        start = threading.Barrier(ATTEMPTS)
        outcomes: list[tuple[int, str | None]] = []
        lock = threading.Lock()

        def scan(member_token: str) -> None:
            client = app.test_client()
            start.wait()
            resp = client.post(
                "/me/campaign-redemptions",
                json={"token": token, "terms": {"version": TERMS, "accepted": True}},
                headers={
                    "Authorization": f"Bearer {member_token}",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            body = resp.get_json() or {}
            with lock:
                outcomes.append((resp.status_code, body.get("code")))

        threads = [threading.Thread(target=scan, args=(t,)) for t in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)

    assert len(outcomes) == ATTEMPTS
    assert [o for o in outcomes if o[0] not in (201, 409)] == []
    assert sum(1 for status, _ in outcomes if status == 201) == ROOM
    assert {code for status, code in outcomes if status == 409} == {refusal}
    with app.app_context():
        s = get_session()
        campaign = s.get(Campaign, campaign_id)
        programme = s.get(Programme, programme_id)
        assert campaign.claimed == ROOM <= campaign.quota
        assert s.scalar(select(func.count()).select_from(CampaignRedemption)) == ROOM
        assert s.scalar(select(func.count()).select_from(Order)) == ROOM
        assert (
            s.scalar(select(func.count()).select_from(Policy).where(Policy.status == "active"))
            == ROOM
        )
        assert programme.budget_reserved_fen == ROOM * PREMIUM <= programme.budget_total_fen
        assert programme.beneficiaries_reserved == ROOM
        # One person, one policy: the 50 policies belong to 50 different people.
        assert s.scalar(select(func.count(func.distinct(Policy.person_id)))) == ROOM
        assert sponsor_services.check_programmes() == []
        assert check_ledger() == []


def test_one_person_scanning_eight_times_at_once_gets_one_policy(app_factory):
    """A double (eightfold) tap with different Idempotency-Keys: one redemption, one order, one
    place and one premium taken; every answer names the same policy."""
    app = app_factory(RATELIMIT_ENABLED=False)
    with time_machine.travel(NOW, tick=True):
        with app.app_context():
            seed_demo(count=40)
        token, campaign_id, programme_id = _campaign(app, budget_fen=10 * PREMIUM, quota=10)
        [member] = _members(app, 1)
        start = threading.Barrier(8)
        answers: list[tuple[int, int | None]] = []
        lock = threading.Lock()

        def scan() -> None:
            client = app.test_client()
            start.wait()
            resp = client.post(
                "/me/campaign-redemptions",
                json={"token": token, "terms": {"version": TERMS, "accepted": True}},
                headers={"Authorization": f"Bearer {member}", "Idempotency-Key": uuid.uuid4().hex},
            )
            with lock:
                answers.append(
                    (resp.status_code, (resp.get_json() or {}).get("policy", {}).get("id"))
                )

        threads = [threading.Thread(target=scan) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({policy_id for _, policy_id in answers}) == 1
    with app.app_context():
        s = get_session()
        assert s.get(Campaign, campaign_id).claimed == 1
        assert s.get(Programme, programme_id).budget_reserved_fen == PREMIUM
        assert s.scalar(select(func.count()).select_from(Order)) == 1
        assert sponsor_services.check_programmes() == [] and check_ledger() == []


def test_surrenders_racing_new_scans_keep_places_and_budget_in_step(app_factory):
    """A full campaign (20 places, money for 20): its 20 holders surrender while 20 others scan,
    all at once. A surrender locks its policy then the campaign; a scan the campaign then the
    programme: no deadlock (a 500), and afterwards the campaign's claimed places, the active
    campaign policies and the programme's reservation are the same number."""
    people = 20
    app = app_factory(RATELIMIT_ENABLED=False)
    with time_machine.travel(NOW, tick=True):
        with app.app_context():
            seed_demo(count=120)
        token, campaign_id, programme_id = _campaign(app, budget_fen=people * PREMIUM, quota=people)
        members = _members(app, 2 * people)
        holders = members[:people]  # the rest scan while these surrender
        client = app.test_client()
        policies = {}
        for member in holders:
            resp = client.post(
                "/me/campaign-redemptions",
                json={"token": token, "terms": {"version": TERMS, "accepted": True}},
                headers={"Authorization": f"Bearer {member}", "Idempotency-Key": uuid.uuid4().hex},
            )
            assert resp.status_code == 201, resp.get_json()
            policies[member] = resp.get_json()["policy"]["id"]
        start = threading.Barrier(2 * people)
        outcomes: list[tuple[str, int, str | None]] = []
        lock = threading.Lock()

        def act(member: str) -> None:
            c = app.test_client()
            headers = {"Authorization": f"Bearer {member}", "Idempotency-Key": uuid.uuid4().hex}
            start.wait()
            if member in policies:
                resp = c.post(f"/policies/{policies[member]}/surrender", headers=headers)
                kind = "surrender"
            else:
                resp = c.post(
                    "/me/campaign-redemptions",
                    json={"token": token, "terms": {"version": TERMS, "accepted": True}},
                    headers=headers,
                )
                kind = "scan"
            with lock:
                outcomes.append((kind, resp.status_code, (resp.get_json() or {}).get("code")))

        threads = [threading.Thread(target=act, args=(m,)) for m in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)

    assert len(outcomes) == 2 * people
    assert [o for o in outcomes if o[0] == "surrender" and o[1] != 200] == []
    scans = [o for o in outcomes if o[0] == "scan"]
    assert [o for o in scans if o[1] not in (201, 409)] == []
    enrolled = sum(1 for o in scans if o[1] == 201)
    assert {code for _, status, code in scans if status == 409} <= {
        "campaign_exhausted",
        "campaign_budget_exhausted",
    }
    with app.app_context():
        s = get_session()
        active = s.scalar(
            select(func.count())
            .select_from(CampaignRedemption)
            .join(Policy, Policy.id == CampaignRedemption.policy_id)
            .where(CampaignRedemption.campaign_id == campaign_id, Policy.status == "active")
        )
        programme = s.get(Programme, programme_id)
        assert active == enrolled
        assert s.get(Campaign, campaign_id).claimed == enrolled
        assert programme.beneficiaries_reserved == enrolled
        assert programme.budget_reserved_fen == enrolled * PREMIUM
        assert sponsor_services.check_programmes() == [] and check_ledger() == []
