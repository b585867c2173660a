"""The showcase family for the claims walk-through: 张伟 enrolled himself, 李娜 and 张小宝 during
last December's window (paid from his personal account), so their 2026 policies cover the
settlements the sandbox bureau holds for them, and agreed to renew all three from his personal
account (the cohort the renewal run renews into 2027). Logging in with the sandbox code
`demo-zhangwei` is being 张伟.

Everything goes through the real services (verification with the sandbox bureau, the order, the
personal-account debit, policy issue), run on a clock set back to 2025-12-15 (app.common.clock
.backdated). Idempotent: a second run finds the member insured and does nothing.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.common.clock import SHANGHAI, backdated
from app.database import read_scope, transaction
from app.members.models import Member
from app.policies.models import Policy

DEMO_CODE = "demo-zhangwei"
ENROLLED_AT = datetime(2025, 12, 15, 10, 0, tzinfo=SHANGHAI)


def seed_family(residents) -> int:
    """Returns the number of policies created (0 when the family is already insured)."""
    from app.enrollment.services import Selection
    from app.integrations.registry import wechat_login
    from app.members.privacy import current_text_version
    from app.members.services import ConsentInput, add_relative, verify_self
    from app.payments.services import start_payment
    from app.products.services import current_terms, get_product
    from app.renewals.services import create_order_with_consent

    by_name = {r.name: r for r in residents}
    product = get_product("ganzhou-demo-2026")
    openid = wechat_login().code_to_session(DEMO_CODE).openid
    with read_scope() as session:
        member = session.scalar(select(Member).where(Member.openid == openid))
        already_insured = (
            member is not None
            and member.person_id is not None
            and session.scalar(
                select(Policy.id).where(
                    Policy.person_id == member.person_id, Policy.plan_year == product.plan_year
                )
            )
            is not None
        )
    if already_insured:
        return 0
    # The texts in force (app/config.py): a consent to any other version is refused.
    consent = ConsentInput(True, current_text_version("personal_information"))
    guardian_consent = ConsentInput(True, current_text_version("guardian"))
    with backdated(ENROLLED_AT):
        if member is None:
            with transaction() as s:
                member = Member(openid=openid)
                s.add(member)
        member_id = member.id
        me = by_name["张伟"]
        verify_self(member_id, me.name, me.certno, consent)
        relatives = []
        for name, relation in (("李娜", "spouse"), ("张小宝", "child")):
            r = by_name[name]
            relatives.append(
                add_relative(
                    member_id,
                    name=r.name,
                    id_number_raw=r.certno,
                    relation=relation,
                    consent=consent,
                    guardian_consent=guardian_consent if relation == "child" else None,
                ).id
            )
        # Renewal agreed at enrollment, paid from his personal account: the cohort that
        # `flask renewals run ganzhou-demo-2027` renews into 2027.
        order = create_order_with_consent(
            member_id,
            {
                "auto_debit": True,
                "consent": {
                    "version": current_app.config["RENEWAL_CONSENT_VERSION"],
                    "accepted": True,
                },
            },
            product_code=product.code,
            selection=Selection(include_self=True, relative_ids=tuple(relatives)),
            payment_method="personal_account",
            terms_version=current_terms(product).version,
            terms_accepted=True,
        )
        start_payment(member_id, order.id, "personal_account")
    from app.enrollment.models import OrderItem

    with read_scope() as session:
        issued = len(
            list(
                session.scalars(
                    select(Policy.id)
                    .join(OrderItem, OrderItem.id == Policy.order_item_id)
                    .where(OrderItem.order_id == order.id)
                )
            )
        )
    current_app.logger.info("demo family enrolled (backdated to %s)", ENROLLED_AT.date())
    return issued
