"""Every status set is a StrEnum that agrees with the tuple, the CHECK constraint and the strings
stored in rows (a member compares equal to its string)."""

from __future__ import annotations

import re

import pytest

from app.campaigns.models import CAMPAIGN_STATUSES, Campaign, CampaignStatus
from app.claims.models import PAYOUT_STATUSES, Claim, Payout
from app.claims.statuses import ClaimStatus, PayoutStatus
from app.claims.workflow import STATUSES as CLAIM_STATUSES
from app.enrollment.models import (
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    REFUND_STATUSES,
    Order,
    Payment,
    Refund,
)
from app.enrollment.statuses import OrderStatus, PaymentStatus, RefundStatus
from app.jobs.models import JOB_STATUSES, ROW_STATUSES, Job, JobRow, JobRowStatus, JobStatus
from app.outbox.models import OutboxEvent, OutboxStatus
from app.policies.models import POLICY_STATUSES, Policy, PolicyStatus
from app.products.models import PRODUCT_STATUSES, Product, ProductStatus
from app.sponsors.models import PROGRAMME_STATUSES, Programme
from app.sponsors.rules import PROGRAMME_STATUSES as RULE_PROGRAMME_STATUSES
from app.sponsors.statuses import ProgrammeStatus

CASES = [
    (ClaimStatus, CLAIM_STATUSES, Claim),
    (PayoutStatus, PAYOUT_STATUSES, Payout),
    (OrderStatus, ORDER_STATUSES, Order),
    (PaymentStatus, PAYMENT_STATUSES, Payment),
    (RefundStatus, REFUND_STATUSES, Refund),
    (JobStatus, JOB_STATUSES, Job),
    (JobRowStatus, ROW_STATUSES, JobRow),
    (PolicyStatus, POLICY_STATUSES, Policy),
    (ProductStatus, PRODUCT_STATUSES, Product),
    (ProgrammeStatus, PROGRAMME_STATUSES, Programme),
    (ProgrammeStatus, RULE_PROGRAMME_STATUSES, Programme),
    (CampaignStatus, CAMPAIGN_STATUSES, Campaign),
    (OutboxStatus, None, OutboxEvent),
]


def _check_values(model) -> set[str] | None:
    for constraint in model.__table__.constraints:
        text = str(getattr(constraint, "sqltext", ""))
        match = re.fullmatch(r"status IN \((.*)\)", text)
        if match:
            return set(re.findall(r"'([a-z_]+)'", match.group(1)))
    return None


@pytest.mark.parametrize(
    ("enum", "values", "model"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_enum_agrees_with_tuple_and_check_constraint(enum, values, model):
    members = [m.value for m in enum]
    if values is not None:
        assert list(values) == members
    check = _check_values(model)
    if check is not None:  # claims build theirs from STATUSES (same values)
        assert check == set(members)
    default = model.__table__.c.status.default
    if default is not None:
        assert default.arg in members


def test_members_are_their_strings():
    assert ClaimStatus.PAID == "paid"
    assert "active" == PolicyStatus.ACTIVE
    assert f"{JobStatus.RUNNING}" == "running"
    assert str(OrderStatus.PENDING_PAYMENT) == "pending_payment"
    assert {"queued": 1}[JobStatus.QUEUED] == 1
