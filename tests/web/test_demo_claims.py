"""`flask demo seed` leaves claims waiting for the demo reviewer (app/demo/claims.py)."""

from __future__ import annotations

from sqlalchemy import select

from app.claims.models import Claim
from app.database import get_session
from app.demo.claims import seed_review_claims
from app.demo.family import DEMO_CODE, seed_family
from app.demo.residents import generate
from app.integrations.registry import wechat_login


def test_demo_claims_wait_for_review_once(seeded):
    with seeded.app_context():
        seed_family(generate(10))
        openid = wechat_login().code_to_session(DEMO_CODE).openid
        assert seed_review_claims(openid) == 2
        assert seed_review_claims(openid) == 0  # idempotent
        claims = get_session().scalars(select(Claim)).all()
        assert sorted(c.status for c in claims) == ["pending_review", "pending_review"]
        assert all(len(c.documents) == 3 and c.assigned_staff_id is None for c in claims)
        get_session().rollback()


def test_no_demo_claims_without_the_family(seeded):
    with seeded.app_context():
        assert seed_review_claims("nobody-here") == 0
