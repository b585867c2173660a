"""Policy use cases: list and read (own as insured, or paid-for), the refunds of a policy, and
the electronic certificate. Policies are issued by app/enrollment/writer.py; surrender (a
refund to each funding source) is app/payments/surrender.py, since it drives payments' refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.common import hooks
from app.database import get_session
from app.enrollment.models import Order, OrderItem, Refund
from app.error_catalogue import E
from app.members.models import Member, Person
from app.policies.certificate import STATUS_LABELS
from app.policies.models import Policy
from app.products.plan_years import cover_period


def coverage_for(defn, paid_on: date) -> tuple[date, date]:
    """The cover a payment on `paid_on` buys: from the coverage start, or for a payment after it
    as the product's cover-start rule says (app/products/plan_years.py)."""
    return cover_period(defn, paid_on)


def visible_to(member_id: int):
    """Policies a member may see: their own (as the insured person) and those they paid for
    (self and the relatives they enrolled). Being able to add someone as a relative proves only
    that one knows their name and ID number, not the relationship, so a relative's policy paid
    by someone else stays private to its payer and its insured person."""
    member_person = select(Member.person_id).where(Member.id == member_id).scalar_subquery()
    paid_for = (
        select(OrderItem.id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.member_id == member_id)
    )
    return or_(Policy.person_id == member_person, Policy.order_item_id.in_(paid_for))


def list_policies(member_id: int, plan_year: int | None = None) -> list[Policy]:
    """The policies the member may see, each with its insured person (one statement)."""
    query = select(Policy).where(visible_to(member_id)).options(joinedload(Policy.person))
    if plan_year is not None:
        query = query.where(Policy.plan_year == plan_year)
    return list(get_session().scalars(query.order_by(Policy.plan_year.desc(), Policy.id)))


def get_policy(member_id: int, policy_id: int) -> Policy:
    policy = get_session().scalar(
        select(Policy).where(Policy.id == policy_id, visible_to(member_id))
    )
    if policy is None:
        raise E.policy_not_found()
    return policy


def claims_filed(session, policy: Policy) -> list[date | None]:
    """The date each claim filed on this policy says care began (None: not stated). Claims
    (above policies) answers through the hook point `hooks.CLAIMS_FILED`; the registry fails
    loudly when nobody registered a provider."""
    return [
        start for found in hooks.providers(hooks.CLAIMS_FILED) for start in found(session, policy)
    ]


REFUND_STATUS_LABELS = {
    "none": "无退款",
    "pending": "退款处理中",
    "succeeded": "已退款",
    "failed": "退款失败，客服将联系您处理",
}


def refund_status(refunds: list[Refund]) -> str:
    """One word for the member: none, or the least settled of the policy's refunds (a failed
    one first, then one still pending), else succeeded."""
    statuses = {r.status for r in refunds}
    for status in ("failed", "pending", "succeeded"):
        if status in statuses:
            return status
    return "none"


def refunds_of(policy: Policy) -> list[Refund]:
    return list(
        get_session().scalars(
            select(Refund).where(Refund.order_item_id == policy.order_item_id).order_by(Refund.id)
        )
    )


# --- certificate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateData:
    policy: Policy
    person: Person
    relation: str
    product_name: str
    token: str
    verify_url: str


def _secret() -> bytes:
    return current_app.config["CERTIFICATE_SIGNING_KEY"].encode()


def certificate_data(member_id: int, policy_id: int) -> CertificateData:
    from app.policies.certificate import sign_token
    from app.products.services import get_product_by_id

    session = get_session()
    policy = get_policy(member_id, policy_id)
    person = session.get_one(Person, policy.person_id)
    item = session.get_one(OrderItem, policy.order_item_id)
    token = sign_token(_secret(), policy.policy_no)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return CertificateData(
        policy,
        person,
        item.relation,
        get_product_by_id(policy.product_id).name,
        token,
        f"{base}/public/certificates/verify?token={token}",
    )


NO_ISSUER_LINE = "承保机构：以保险条款为准"


def certificate_view(data: CertificateData):
    """What the certificate PNG and the policy PDF show: masked name and ID number, the
    product's benefits (app/policies/benefits.py) and its issuer, from the product data."""
    from app.common.clock import today_shanghai
    from app.identity.idnumber import mask, mask_name
    from app.identity.services import decrypt_id_number
    from app.members.schemas import RELATION_LABELS
    from app.policies.benefits import benefit_lines
    from app.policies.certificate import CertificateView, status_text
    from app.products.services import definition_of, get_product_by_id

    defn = definition_of(get_product_by_id(data.policy.product_id))
    return CertificateView(
        policy_no=data.policy.policy_no,
        product_name=data.product_name,
        plan_year=data.policy.plan_year,
        # A person's name and ID number are never empty, so neither mask is None.
        insured_name_masked=mask_name(data.person.name) or "",
        id_number_masked=mask(decrypt_id_number(data.person)) or "",
        relation_label="本人"
        if data.relation == "self"
        else RELATION_LABELS.get(data.relation, data.relation),
        coverage_start=data.policy.coverage_start,
        coverage_end=data.policy.coverage_end,
        status=data.policy.status,
        status_label=status_text(
            data.policy.status,
            data.policy.coverage_start,
            data.policy.coverage_end,
            today_shanghai(),
        ),
        premium_fen=data.policy.premium_fen,
        issued_at=data.policy.issued_at,
        insurer_line=defn.insurers_line() or NO_ISSUER_LINE,
        buckets=benefit_lines(defn),
    )


def certificate_png(member_id: int, policy_id: int) -> bytes:
    from app.policies.certificate import render_png

    data = certificate_data(member_id, policy_id)
    return render_png(certificate_view(data), data.verify_url)


def policy_pdf(member_id: int, policy_id: int) -> bytes:
    """The electronic policy (电子保单) as a PDF in Chinese, with the same QR link."""
    from app.identity.idnumber import mask_name
    from app.policies.benefits import benefit_rows
    from app.policies.policy_pdf import render_pdf
    from app.products.services import definition_of, get_product_by_id

    data = certificate_data(member_id, policy_id)
    defn = definition_of(get_product_by_id(data.policy.product_id))
    session = get_session()
    order = session.get_one(Order, session.get_one(OrderItem, data.policy.order_item_id).order_id)
    payer = session.get(Person, order.payer_person_id) if order.payer_person_id else None
    return render_pdf(
        certificate_view(data),
        data.verify_url,
        benefits=benefit_rows(defn),
        # An order a sponsor's batch job placed has no paying person: the programme enrolled.
        policyholder_name_masked=mask_name(payer.name) if payer else "资助项目统一投保",
        terms_title=defn.terms.title,
    )


@dataclass(frozen=True)
class VerifiedCertificate:
    """A genuine certificate's policy as the public check shows it, on ``checked_on``."""

    policy: Policy
    insured_name_masked: str
    product_name: str
    verdict: str
    verdict_label: str
    checked_on: date

    @property
    def valid(self) -> bool:
        """True only while the policy gives cover today (surrendered, void, not yet effective
        and expired policies are not valid)."""
        return self.verdict == "in_force"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.policy.status]


def verify_certificate(token: str) -> VerifiedCertificate:
    """Public: a forged or altered token is simply not found. The verdict is the policy's
    *current* status and period on today's Asia/Shanghai date."""
    from app.common.clock import today_shanghai
    from app.identity.idnumber import mask_name
    from app.policies.certificate import (
        VERDICT_LABELS,
        CertificateTokenInvalid,
        verdict,
        verify_token,
    )
    from app.products.services import get_product_by_id

    try:
        policy_no, _version = verify_token(_secret(), token)
    except CertificateTokenInvalid:
        raise E.certificate_invalid() from None
    session = get_session()
    policy = session.scalar(select(Policy).where(Policy.policy_no == policy_no))
    if policy is None:
        raise E.certificate_invalid()
    today = today_shanghai()
    found = verdict(policy.status, policy.coverage_start, policy.coverage_end, today)
    return VerifiedCertificate(
        policy=policy,
        insured_name_masked=mask_name(session.get_one(Person, policy.person_id).name) or "",
        product_name=get_product_by_id(policy.product_id).name,
        verdict=found.value,
        verdict_label=VERDICT_LABELS[found],
        checked_on=today,
    )
