"""Fixtures for page tests: a claim waiting for a reviewer (with documents), made directly."""

from __future__ import annotations

import pytest
import time_machine

from app.demo.residents import generate
from tests import factories

ENROLLED_AT = "2025-12-15T02:00:00+00:00"
FILED_AT = "2026-11-23T02:00:00+00:00"
DOCUMENTS = ("invoice", "settlement_sheet", "discharge_summary")


def make_pending_claim(app, code: str = "web-zhang") -> dict:
    """张伟 insured with his wife 李娜 (enrolled last December); a photographed day-surgery claim
    for 李娜 with its three documents, submitted: pending review, unassigned.
    Returns {"id", "claim_no", "status", "member_id", "policy_id"}."""
    residents = {r.name: r for r in generate()[:11]}
    with time_machine.travel(ENROLLED_AT, tick=True):
        made = factories.verified_member(app, code, residents["张伟"])
        spouse = factories.relative(app, made["member_id"], residents["李娜"], "spouse")
        order = factories.order(app, made["member_id"], [spouse], pay=True)
        assert order["status"] == "paid", order
    spouse_person = {p["person_id"] for p in order["policies"]} - {
        _person_of(app, made["member_id"])
    }
    [policy_id] = [p["id"] for p in order["policies"] if p["person_id"] in spouse_person]
    claim = file_claim(app, made["member_id"], policy_id)
    return claim | {"member_id": made["member_id"], "policy_id": policy_id}


def file_claim(
    app,
    member_id: int,
    policy_id: int,
    invoice_no: str = "36000026001234",
    submit: bool = True,
    care_date: str = "2026-04-08",
) -> dict:
    """A photographed day-surgery claim for 李娜 with its three documents (submitted unless
    `submit` is false: a draft), on `care_date` (another date: another care episode)."""
    fields = {
        "policy_id": policy_id,
        "care_kind": "day_surgery",
        "hospital_name": "赣州市人民医院",
        "admitted_on": care_date,
        "discharged_on": care_date,
        "diagnosis": "乳腺良性肿瘤切除",
        "patient_name": "李娜",
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
        "payee": {
            "name": "李娜",
            "bank_name": "中国工商银行赣州分行",
            "bank_account": "6222020200112233445",
        },
        "invoices": [{"issuer": "赣州市人民医院", "number": invoice_no, "amount_fen": 8_000_000}],
    }
    with time_machine.travel(FILED_AT, tick=True):
        claim = factories.claim(app, member_id, fields, documents=DOCUMENTS, submit=submit)
    assert claim["status"] == ("pending_review" if submit else "draft"), claim
    return claim


def _person_of(app, member_id: int) -> int:
    from app.database import get_session
    from app.members.models import Member

    with app.app_context():
        person_id = get_session().get(Member, member_id).person_id
        get_session().rollback()
        return person_id


def claim_documents(app, claim_id: int) -> list[int]:
    """The ids of a claim's documents, in upload order."""
    from sqlalchemy import select

    from app.claims.models import ClaimDocument
    from app.database import get_session

    with app.app_context():
        ids = (
            get_session()
            .scalars(
                select(ClaimDocument.id)
                .where(ClaimDocument.claim_id == claim_id)
                .order_by(ClaimDocument.id)
            )
            .all()
        )
        get_session().rollback()
        return list(ids)


@pytest.fixture
def pending_claim(seeded) -> dict:
    return make_pending_claim(seeded)
