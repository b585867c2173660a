"""Demo activity for the operator dashboard (development only): some of the sandbox bureau's
synthetic residents enroll themselves in the demo product, a few on each of the last days, so the
dashboard's daily, area, insurance-type and funding-source charts have something to show.

Everything goes through the real services, as app/demo/family.py does: a member per resident
(sandbox login code `demo-activity-<n>`), identity verification with the sandbox bureau, the
order, and payment from the personal account when the resident has one that covers the member's
share, by (sandbox) WeChat otherwise; a sponsor's programme subsidises whoever it would. Each
enrollment runs on the clock set back to its day (app.common.clock.backdated). Residents the
product refuses (suspended basic insurance, another city) are skipped. A resident whose member
already exists is left alone, so running it again enrolls further residents, never one twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from app.common.clock import SHANGHAI, backdated, today_shanghai
from app.database import read_scope, transaction
from app.errors import DomainError
from app.members.models import Member

FIRST_RESIDENT = 11  # the first 11 are the showcase people (the family, the fixtures' cast)


def seed_activity(residents, *, people: int, days: int) -> dict[str, int]:
    """Enroll up to `people` residents over the last `days` days (today included)."""
    from app.enrollment.services import Selection, create_order
    from app.integrations.registry import wechat_login
    from app.members.privacy import current_text_version
    from app.members.services import ConsentInput, verify_self
    from app.payments.services import sandbox_simulate_wechat_payment, start_payment
    from app.products.services import current_product, current_terms, definition_of

    if current_app.config["PROFILE"] == "production":
        raise RuntimeError("demo data is never seeded in production")
    today = today_shanghai()
    product = current_product(today)
    if product is None:
        return {"activity_enrolled": 0, "activity_skipped": 0}
    premium = definition_of(product).premium_default_fen
    terms = current_terms(product).version
    consent = ConsentInput(True, current_text_version("personal_information"))
    enrolled = skipped = 0
    for n, resident in enumerate(residents[FIRST_RESIDENT:]):
        if enrolled >= people:
            break
        openid = wechat_login().code_to_session(f"demo-activity-{n}").openid
        with read_scope() as session:
            if session.scalar(select(Member.id).where(Member.openid == openid)) is not None:
                continue
        day = today - timedelta(days=enrolled % days)
        at = datetime.combine(day, time(9 + enrolled % 9, (7 * n) % 60), tzinfo=SHANGHAI)
        with backdated(at):
            with transaction() as s:
                member = Member(openid=openid)
                s.add(member)
            try:
                verify_self(member.id, resident.name, resident.certno, consent)
                own_account = (resident.balc_fen or 0) >= premium
                method = "personal_account" if own_account else "wechat"
                order = create_order(
                    member.id,
                    product_code=product.code,
                    selection=Selection(include_self=True, relative_ids=()),
                    payment_method=method,
                    terms_version=terms,
                    terms_accepted=True,
                )
                if order.total_pay_fen > 0:
                    start_payment(member.id, order.id, method)
                    if method == "wechat":
                        sandbox_simulate_wechat_payment(member.id, order.id)
            except DomainError:
                skipped += 1
                continue
        enrolled += 1
    current_app.logger.info("demo activity: %s enrolled over %s days", enrolled, days)
    return {"activity_enrolled": enrolled, "activity_skipped": skipped}
