"""Claims waiting for the demo reviewer: two photographed claims of the showcase family (李娜's
day surgery and 张小宝's emergency visit), filed by 张伟 through the real claims services with
pictures of their documents, and submitted, so `demo-reviewer` finds work in the console's queue
(/console/claims) on a fresh clone. Idempotent: an invoice number already filed is skipped."""

from __future__ import annotations

import io

from flask import current_app
from sqlalchemy import select

from app.claims.models import Claim, ClaimInvoice
from app.database import read_scope
from app.identity.models import Person
from app.members.models import Member
from app.policies.models import Policy
from app.policies.services import visible_to

DOCUMENTS = ("invoice", "settlement_sheet", "discharge_summary")
CLAIMS = (
    {
        "insured": "李娜",
        "care_kind": "day_surgery",
        "hospital_name": "赣州市人民医院",
        "admitted_on": "2026-04-08",
        "discharged_on": "2026-04-08",
        "diagnosis": "乳腺良性肿瘤切除",
        "medfee_sumamt_fen": 8_000_000,
        "hifp_pay_fen": 4_000_000,
        "in_policy_self_pay_fen": 2_500_000,
        "out_of_policy_self_pay_fen": 1_500_000,
        "invoice": "36000026900001",
        "payee": "李娜",
    },
    {
        "insured": "张小宝",
        "care_kind": "emergency",
        "hospital_name": "赣州市妇幼保健院",
        "admitted_on": "2026-09-02",
        "discharged_on": "2026-09-02",
        "diagnosis": "急性喉炎",
        "medfee_sumamt_fen": 1_260_000,
        "hifp_pay_fen": 630_000,
        "in_policy_self_pay_fen": 430_000,
        "out_of_policy_self_pay_fen": 200_000,
        "invoice": "36000026900002",
        "payee": "张伟",  # the guardian of a child
    },
)


def _picture(title: str, seed: int) -> bytes:
    """A plain picture standing for a photographed document (a page with ruled lines)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 570, 110), outline=(180, 40, 40), width=4)
    for row in range(8):
        y = 160 + row * 70
        draw.line((40, y, 560, y), fill=(120, 120, 120), width=2)
        draw.rectangle(
            (40, y + 12, 40 + (seed * 37 + row * 53) % 400 + 80, y + 40), fill=(200, 200, 210)
        )
    draw.text((40, 60), title, fill=(60, 60, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def seed_review_claims(member_openid: str) -> int:
    """File and submit the demo claims of the family member `member_openid` (insured already);
    returns how many were filed now."""
    from app.claims.schemas import ClaimCreateSchema
    from app.claims.services import create_claim, submit, upload_document

    with read_scope() as session:
        member = session.scalar(select(Member).where(Member.openid == member_openid))
        if member is None or member.person_id is None:
            return 0
        member_id = member.id
        policies = dict(
            session.execute(
                select(Person.name, Policy.id)
                .join(Policy, Policy.person_id == Person.id)
                .where(visible_to(member_id))
            ).all()
        )
        filed = set(
            session.scalars(
                select(ClaimInvoice.number)
                .join(Claim, Claim.id == ClaimInvoice.claim_id)
                .where(Claim.member_id == member_id)
            )
        )
    made = 0
    for number, spec in enumerate(CLAIMS):
        if spec["invoice"] in filed or spec["insured"] not in policies:
            continue
        fields = {k: v for k, v in spec.items() if k not in ("insured", "invoice", "payee")}
        body = ClaimCreateSchema().load(
            fields
            | {
                "policy_id": policies[spec["insured"]],
                "patient_name": spec["insured"],
                "payee": {
                    "name": spec["payee"],
                    "bank_name": "中国工商银行赣州分行",
                    "bank_account": "6222020200112233445",
                },
                "invoices": [
                    {
                        "issuer": spec["hospital_name"],
                        "number": spec["invoice"],
                        "amount_fen": spec["medfee_sumamt_fen"],
                    }
                ],
            }
        )
        policy_id = body.pop("policy_id")
        claim = create_claim(member_id, policy_id=policy_id, fields=body)
        for i, doc_type in enumerate(DOCUMENTS):
            upload_document(
                member_id, claim.id, doc_type, _picture(doc_type, number * 3 + i), "image/jpeg"
            )
        submit(member_id, claim.id)
        made += 1
    current_app.logger.info("demo claims filed for review: %s", made)
    return made
