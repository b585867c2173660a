"""Order, payment and refund statuses as StrEnums (members equal their strings, so rows read
back as plain str compare equal). enrollment/models.py's ORDER_STATUSES, PAYMENT_STATUSES and
REFUND_STATUSES and the column defaults derive from these; tests/test_statuses.py checks the
CHECK constraints agree."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAYING = "paying"  # a debit or payment is being confirmed
    PAID = "paid"
    CLOSED = "closed"  # timed out or abandoned


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CLOSED = "closed"  # superseded (the member switched method) or expired


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
