"""The hospitals' side of the money: registered institutions, what the insurer owes each
(HospitalLedgerEntry), the statement (清算) that pays it through the payout port, and the check
`flask ledger check` runs.

Per hospital the ledger sums to (confirmed settlements) - (paid statements); per settlement its
entries sum to its amount while confirmed and to 0 once cancelled.

A statement has a cut-off day (`through`, Asia/Shanghai, by default yesterday): it pays the
entries of the settlements confirmed on or before that day (their `settled_on`, the day the
reconciliation compares too), owed less any cancellation, less every statement already paid.
Settlements confirmed after the cut-off wait for the next statement.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.common.clock import SHANGHAI, today_shanghai
from app.database import read_scope, transaction, utcnow
from app.direct_settlement.models import (
    DirectSettlement,
    HospitalLedgerEntry,
    HospitalStatement,
    Institution,
)
from app.direct_settlement.statuses import (
    DirectStatus,
    HospitalEntryKind,
    InstitutionStatus,
    StatementStatus,
)
from app.integrations.payout.port import (
    PAYOUT_FAILED,
    PAYOUT_NOT_FOUND,
    PAYOUT_SUCCEEDED,
    Payee,
    failure_label,
)

log = logging.getLogger(__name__)


def register_institution(
    *,
    code: str,
    name: str,
    key_id: str,
    public_key: str,
    payee_name: str,
    payee_bank_name: str,
    payee_account: str,
) -> int:
    """Add a designated hospital, or replace its key and account (a key rotation)."""
    Payee(payee_name, payee_account, payee_bank_name)  # the payout port's own checks
    from app.integrations.registry import signer

    if not signer().is_public_key(public_key):
        # else every request it signs would be refused (or worse) until it is re-keyed
        raise ValueError("public key must be the 128 hex digits of a point of the curve (x || y)")
    if current_app.config["PROFILE"] == "production" and _is_sandbox_key(public_key):
        # its private half is in the repository: anyone could sign this hospital's settlements
        raise ValueError("production registers no hospital under the sandbox key pair")
    with transaction() as s:
        inst = s.scalar(select(Institution).where(Institution.fixmedins_code == code))
        if inst is None:
            inst = Institution(fixmedins_code=code)
            s.add(inst)
        inst.name, inst.key_id, inst.public_key = name, key_id, public_key.lower()
        inst.payee_name, inst.payee_bank_name = payee_name, payee_bank_name
        inst.payee_account, inst.status = payee_account, InstitutionStatus.ACTIVE
        s.flush()
        return inst.id


def _is_sandbox_key(public_key: str) -> bool:
    from app.integrations.signer import sandbox_keys as k

    return public_key.strip().lower() == k.SANDBOX_PUBLIC_KEY.lower()


def register_sandbox_hospital(code: str, name: str) -> int:
    """A (demo) hospital that signs with the sandbox test key pair, under key id
    `sandbox-<code>` (the CLI's add-sandbox-hospital, the tests and the benchmark)."""
    from app.integrations.signer import sandbox_keys as k

    return register_institution(
        code=code,
        name=name,
        key_id=k.sandbox_key_id(code),
        public_key=k.SANDBOX_PUBLIC_KEY,
        payee_name=name,
        payee_bank_name="中国银行赣州分行",
        payee_account="6222000011115678",
    )


def balance(s, inst_id: int) -> int:
    return int(
        s.scalar(
            select(func.coalesce(func.sum(HospitalLedgerEntry.amount_fen), 0)).where(
                HospitalLedgerEntry.institution_id == inst_id
            )
        )
        or 0
    )


def default_cut_off() -> date:
    """Yesterday (Asia/Shanghai): a statement covers whole days the hospital has reconciled."""
    return today_shanghai() - timedelta(days=1)


def owed_through(s, inst_id: int, through: date) -> int:
    """What the insurer owes the hospital for the settlements confirmed up to `through` (their
    owed and reversed entries), less every statement already paid."""
    settled = select(DirectSettlement.id).where(
        DirectSettlement.institution_id == inst_id, DirectSettlement.settled_on <= through
    )
    covered = s.scalar(
        select(func.coalesce(func.sum(HospitalLedgerEntry.amount_fen), 0)).where(
            HospitalLedgerEntry.institution_id == inst_id,
            HospitalLedgerEntry.settlement_id.in_(settled),
        )
    )
    paid = s.scalar(
        select(func.coalesce(func.sum(HospitalLedgerEntry.amount_fen), 0)).where(
            HospitalLedgerEntry.institution_id == inst_id,
            HospitalLedgerEntry.kind == HospitalEntryKind.PAID,
        )
    )
    return int(covered or 0) + int(paid or 0)


def _settlements_in(s, inst_id: int, through: date) -> int:
    """The confirmed settlements a statement through `through` covers: those no paid statement
    covered already (one covers what was confirmed before it was made, up to its cut-off; two
    statements may share a cut-off day)."""
    covered = (
        select(HospitalStatement.id)
        .where(
            HospitalStatement.institution_id == inst_id,
            HospitalStatement.status == StatementStatus.PAID,
            HospitalStatement.through >= DirectSettlement.settled_on,
            HospitalStatement.created_at >= DirectSettlement.confirmed_at,
        )
        .exists()
    )
    query = select(func.count()).where(
        DirectSettlement.institution_id == inst_id,
        DirectSettlement.status == DirectStatus.CONFIRMED,
        DirectSettlement.settled_on <= through,
        ~covered,
    )
    return s.scalar(query) or 0


def run_statements(through: date | None = None) -> list[dict]:
    """One statement per hospital owed money for the settlements confirmed up to `through`
    (default: yesterday, Asia/Shanghai), none while an earlier one is unresolved: the amount
    transferred through the payout port; a paid statement is a `paid` entry."""
    from app.integrations.registry import payout

    cut_off = through or default_cut_off()

    with read_scope() as s:
        ids = list(s.scalars(select(Institution.id).order_by(Institution.id)))
    out = []
    for inst_id in ids:
        with transaction() as s:
            inst = s.get(Institution, inst_id)
            assert inst is not None
            pending = s.scalar(
                select(HospitalStatement).where(
                    HospitalStatement.institution_id == inst_id,
                    HospitalStatement.status == StatementStatus.PENDING,
                )
            )
            resumed = pending is not None
            if pending is None:
                owed = owed_through(s, inst_id, cut_off)
                if owed <= 0:
                    continue
                pending = HospitalStatement(
                    statement_no="HS"
                    + datetime.now(SHANGHAI).strftime("%Y%m%d")
                    + secrets.token_hex(5).upper(),
                    institution_id=inst_id,
                    through=cut_off,
                    amount_fen=owed,
                    settlements=_settlements_in(s, inst_id, cut_off),
                )
                s.add(pending)
                s.flush()
            statement_id, request_id, amount = pending.id, pending.statement_no, pending.amount_fen
            payee = Payee(inst.payee_name, inst.payee_account, inst.payee_bank_name)
            code = inst.fixmedins_code
        try:
            # A statement left pending may have been paid (its reply lost), perhaps to an
            # account since replaced: ask the bank first, send it only if the bank never saw it.
            result = payout().query(request_id) if resumed else None
            if result is None or result.status == PAYOUT_NOT_FOUND:
                result = payout().transfer(
                    request_id, payee, amount, f"惠民保一站式结算清算 {request_id}"
                )
        except Exception as exc:  # left pending: the next run asks again with the same id
            log.warning("statement %s left pending: %s", request_id, type(exc).__name__)
            out.append({"fixmedins_code": code, "statement_no": request_id, "status": "pending"})
            continue
        out.append(_record(statement_id, result, code))
    return out


def _record(statement_id: int, result, code: str) -> dict:
    with transaction() as s:
        row = s.get(HospitalStatement, statement_id)
        assert row is not None
        if row.status == StatementStatus.PENDING and result.status == PAYOUT_SUCCEEDED:
            row.status, row.external_id, row.paid_at = (
                StatementStatus.PAID,
                result.external_id,
                utcnow(),
            )
            s.add(
                HospitalLedgerEntry(
                    institution_id=row.institution_id,
                    statement_id=row.id,
                    kind=HospitalEntryKind.PAID,
                    amount_fen=-row.amount_fen,
                )
            )
        elif row.status == StatementStatus.PENDING and result.status == PAYOUT_FAILED:
            row.status, row.failure_code = StatementStatus.FAILED, result.failure_code
        out = {
            "fixmedins_code": code,
            "statement_no": row.statement_no,
            "through": row.through.isoformat(),
            "amount_fen": row.amount_fen,
            "settlements": row.settlements,
            "status": row.status,
        }
        if row.status == StatementStatus.FAILED:
            out["failure_code"] = row.failure_code
            out["failure"] = failure_label(row.failure_code)
        return out


def check_hospital_ledger() -> list[str]:
    """Per settlement: its entries == its amount while confirmed, 0 once cancelled. Per hospital:
    the ledger == confirmed settlements - paid statements."""
    problems = []
    with read_scope() as s:
        by_settlement = dict(
            s.execute(
                select(HospitalLedgerEntry.settlement_id, func.sum(HospitalLedgerEntry.amount_fen))
                .where(HospitalLedgerEntry.settlement_id.is_not(None))
                .group_by(HospitalLedgerEntry.settlement_id)
            ).all()
        )
        for ds in s.scalars(select(DirectSettlement)):
            expected = ds.amount_fen if ds.status == DirectStatus.CONFIRMED else 0
            if by_settlement.get(ds.id, 0) != expected:
                problems.append(
                    f"direct settlement {ds.setl_sn}: ledger {by_settlement.get(ds.id, 0)} "
                    f"!= owed {expected}"
                )
        for inst in s.scalars(select(Institution)):
            confirmed = s.scalar(
                select(func.coalesce(func.sum(DirectSettlement.amount_fen), 0)).where(
                    DirectSettlement.institution_id == inst.id,
                    DirectSettlement.status == DirectStatus.CONFIRMED,
                )
            )
            paid = s.scalar(
                select(func.coalesce(func.sum(HospitalStatement.amount_fen), 0)).where(
                    HospitalStatement.institution_id == inst.id,
                    HospitalStatement.status == StatementStatus.PAID,
                )
            )
            if balance(s, inst.id) != (confirmed or 0) - (paid or 0):
                problems.append(
                    f"hospital {inst.fixmedins_code}: ledger {balance(s, inst.id)} "
                    f"!= confirmed {confirmed} - paid {paid}"
                )
    return problems
