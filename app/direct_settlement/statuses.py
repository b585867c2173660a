"""Direct-settlement status values as StrEnums (the CHECK constraints are built from them)."""

from __future__ import annotations

from enum import StrEnum


class InstitutionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class DirectStatus(StrEnum):
    CONFIRMED = "confirmed"  # 结算: the claim is paid by the hospital, the insurer owes it
    CANCELLED = "cancelled"  # 撤销: reversed, accumulators restored, nothing owed


class StatementStatus(StrEnum):
    PENDING = "pending"  # transfer asked for (or to be asked for again)
    PAID = "paid"
    FAILED = "failed"


class HospitalEntryKind(StrEnum):
    OWED = "owed"  # + a confirmed settlement
    REVERSED = "reversed"  # - a cancelled one
    PAID = "paid"  # - a statement paid to the hospital


INSTITUTION_STATUSES = tuple(s.value for s in InstitutionStatus)
DIRECT_STATUSES = tuple(s.value for s in DirectStatus)
STATEMENT_STATUSES = tuple(s.value for s in StatementStatus)
ENTRY_KINDS = tuple(s.value for s in HospitalEntryKind)
