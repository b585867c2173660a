"""Sandbox bureau: answers 1101 from the `sandbox_residents` table seeded by `flask demo seed`,
and plays the bureau's side of the personal-account debit (authorise -> debit -> query ->
refund) against those residents' `balc_fen`. Deterministic, embedded, and refused by the
production profile.

The bureau is another system. Everything it does, 1101 reads included, therefore happens in the
sandbox's **own** session and transaction (a fresh `Session`, committed or closed before the
method returns), never in the caller's scoped session: callers need not end a transaction the
sandbox began for them, and a caller that rolls back its own unit of work does not undo a debit
"the bureau" already made, exactly as with the real bureau. Callers must reconcile (query by
request id), not rely on a rollback. The account calls run it on the request's idle connection
when there is one (`database.request_connection`; the reads also join an open transaction).

Two consequences worth knowing:

* On a file-based SQLite database a caller that holds an open write transaction while calling
  the bureau blocks it (SQLite has one writer); commit before calling out, which is the right
  shape for an external call anyway. A storage error inside the sandbox surfaces as
  `BureauUnavailable`, like a bureau that failed to answer.
* The in-memory SQLite of the test suite shares ONE connection between all sessions
  (`StaticPool`), so there the sandbox's commit also commits whatever the caller had flushed.
  Isolation from the caller can only be observed on PostgreSQL.

Money is integer fen throughout. The balance moves only through one conditional UPDATE
(``balc_fen = balc_fen - :amt WHERE psn_no = :p AND balc_fen >= :amt``, checked by the row it
returns), so concurrent debits cannot overspend (LIBRARY-NOTES: a read-then-write overspent).
Refunds are capped the same way, by a conditional UPDATE of the debit's ``refunded_fen``.

Failure codes on a `DEBIT_FAILED` transaction (recorded under the request id, so a repeat of
the same request gives the same answer):

* debit: ``insufficient_balance``, ``no_personal_account`` (resident insurance, or no such
  person), ``insurance_suspended``, ``insurance_ended``, ``authorisation_not_found``,
  ``authorisation_mismatch`` (other person, amount or order), ``authorisation_expired``,
  ``authorisation_used``;
* refund: ``original_not_found``, ``original_not_succeeded``, ``refund_exceeds_debit``;
* both: ``request_id_conflict`` (the id was already used for a different request; this answer
  is not recorded, the original record stays as it was).

Test-only faults (constructor ``faults=``): ``timeout_before_debit`` raises `BureauUnavailable`
having done nothing; ``timeout_after_debit`` makes and commits the debit, then raises (the lost
reply). ``timeout_before_refund`` / ``timeout_after_refund`` do the same for refunds.
``settlements_unavailable`` makes the settlement queries (fee details included) raise
`BureauUnavailable`. ``timeout_balance`` makes the balance query (9605) raise it.

Settlement records (`settlement_records`, `settlement_record`) come from the
`sandbox_settlements` table (sandbox_settlements.py), seeded by `flask demo seed` and added to by
`flask demo settlement`; how the sandbox splits a bill is in sandbox_split.py, the demo data in
sandbox_demo_data.py and sandbox_demo_plan.py. The list is filtered by settlement date (setl_time in Asia/Shanghai), both ends inclusive.
`fee_details` reads the `sandbox_fee_lines` stored with each settlement and hands them on as the
real adapter does: reversal lines netted out, checked to add up (fee_details.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.database import autocommit_read, get_engine, request_connection, rowcount, utcnow
from app.integrations.bureau.fee_details import FeeDetailRecord, settled_fee_details
from app.integrations.bureau.http_envelope import BureauRejected
from app.integrations.bureau.port import (
    DEBIT_FAILED,
    DEBIT_NOT_FOUND,
    DEBIT_SUCCEEDED,
    INSUTYPE_EMPLOYEE,
    STATUS_ACTIVE,
    STATUS_ENDED,
    AccountAuthorisation,
    AccountTransaction,
    BureauPerson,
    BureauUnavailable,
    InsuranceRecord,
)
from app.integrations.bureau.sandbox_models import (
    SandboxAccountAuthorisation,
    SandboxAccountTxn,
    SandboxResident,
)
from app.integrations.bureau.sandbox_settlements import (
    query_fee_lines,
    query_settlement,
    query_settlements,
)
from app.integrations.bureau.settlements import SettlementRecord
from app.security.crypto import cipher, index_of

CERTNO_CONTEXT = "sandbox_residents.certno"

KIND_DEBIT = "debit"
KIND_REFUND = "refund"
FAULTS = frozenset(
    {
        "timeout_before_debit",
        "timeout_after_debit",
        "timeout_before_refund",
        "timeout_after_refund",
        "settlements_unavailable",
        "timeout_balance",
    }
)
AUTHORISATION_TTL = timedelta(minutes=15)

_MESSAGES = {
    "insufficient_balance": "个人账户余额不足",
    "no_personal_account": "该人员没有职工医保个人账户",
    "insurance_suspended": "基本医保暂停参保，个人账户不可划扣",
    "insurance_ended": "基本医保已终止参保，个人账户不可划扣",
    "authorisation_not_found": "划扣授权不存在",
    "authorisation_mismatch": "划扣授权与人员、金额或订单不符",
    "authorisation_expired": "划扣授权已过期",
    "authorisation_used": "划扣授权已使用",
    "request_id_conflict": "请求流水号已用于另一笔不同的交易",
    "original_not_found": "原划扣交易不存在",
    "original_not_succeeded": "原划扣交易未成功，不能退款",
    "refund_exceeds_debit": "累计退款金额超过原划扣金额",
}


class _Refused(Exception):
    """A business refusal inside the bureau's transaction: roll it back, record the failure."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SandboxBureau:
    def __init__(
        self,
        faults: set[str] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        authorisation_ttl: timedelta = AUTHORISATION_TTL,
    ) -> None:
        unknown = set(faults or ()) - FAULTS
        if unknown:
            raise ValueError(f"unknown sandbox faults: {sorted(unknown)}")
        # A live set: a test may add or discard faults on the instance between calls.
        self.faults: set[str] = set(faults or ())
        self._clock = clock or utcnow
        self._ttl = authorisation_ttl

    # -- 1101 -------------------------------------------------------------------------------

    def lookup_person(self, certno: str, name: str) -> BureauPerson | None:
        table = SandboxResident.__table__
        query = select(table).where(table.c.certno_index == index_of("sandbox_certno", certno))
        row = self._bureau_read(lambda s: s.execute(query).first())
        if row is None or row.psn_name != name:
            return None
        return to_bureau_person(row, certno)

    def lookup_people(self, requests: list[tuple[str, str]]) -> list[BureauPerson | None]:
        """1101 for many people at once (`BatchLookup`): one answer per (certno, name), in
        order, each exactly what `lookup_person` would answer. One query for the batch."""
        indexes = [index_of("sandbox_certno", certno) for certno, _ in requests]
        table = SandboxResident.__table__  # plain rows: thousands of ORM objects cost more
        query = select(table).where(table.c.certno_index.in_(set(indexes)))
        rows = {
            row.certno_index: row for row in self._bureau_read(lambda s: s.execute(query).all())
        }
        answers: list[BureauPerson | None] = []
        for (certno, name), index in zip(requests, indexes):
            row = rows.get(index)
            answers.append(
                None if row is None or row.psn_name != name else to_bureau_person(row, certno)
            )
        return answers

    # -- settlement records (2207/5203 shape; table in sandbox_settlements.py) --------------

    def settlement_records(self, psn_no: str, begin: date, end: date) -> list[SettlementRecord]:
        _check_id(psn_no, "psn_no")
        _check_range(begin, end)
        self._settlement_fault()
        with self._bureau_session() as s:
            return query_settlements(s, psn_no, begin, end)

    def settlement_record(self, psn_no: str, setl_id: str) -> SettlementRecord | None:
        _check_id(psn_no, "psn_no")
        _check_id(setl_id, "setl_id")
        self._settlement_fault()
        return self._bureau_read(lambda s: query_settlement(s, psn_no, setl_id))

    def fee_details(
        self, psn_no: str, setl_id: str, *, settlement: SettlementRecord | None = None
    ) -> list[FeeDetailRecord] | None:
        _check_id(psn_no, "psn_no")
        _check_id(setl_id, "setl_id")
        _check_settlement(settlement, psn_no, setl_id)
        self._settlement_fault()
        with self._bureau_session() as s:
            if settlement is None:
                settlement = query_settlement(s, psn_no, setl_id)
                if settlement is None:
                    return None
            lines = query_fee_lines(s, setl_id)
        return settled_fee_details(lines, settlement, source="sandbox bureau")

    def _settlement_fault(self) -> None:
        if "settlements_unavailable" in self.faults:
            raise BureauUnavailable(
                "sandbox bureau settlement query timed out (fault: settlements_unavailable)"
            )

    # -- personal-account debit (AccountPort) -----------------------------------------------

    def authorise_debit(self, psn_no: str, amount_fen: int, order_no: str) -> AccountAuthorisation:
        """Records the payer's consent to one debit of exactly this amount for this order. Only
        an unknown person is refused here (`BureauRejected`); whether the account can pay is
        decided by the debit, which records a failure code."""
        _check_amount(amount_fen)
        _check_id(order_no, "order_no")
        _check_id(psn_no, "psn_no")
        with self._bureau_session("idle") as s, s.begin():
            if s.scalar(select(SandboxResident.id).where(SandboxResident.psn_no == psn_no)) is None:
                raise BureauRejected("9601", -1, "人员不存在")
            auth = SandboxAccountAuthorisation(
                authorisation_id=f"SBA{uuid.uuid4().hex[:24].upper()}",
                psn_no=psn_no,
                amount_fen=amount_fen,
                order_no=order_no,
                expires_at=self._clock() + self._ttl,
                used=False,
                created_at=self._clock(),
            )
            s.add(auth)
        return AccountAuthorisation(
            authorisation_id=auth.authorisation_id,
            psn_no=psn_no,
            amount_fen=amount_fen,
            expires_at_iso=auth.expires_at.isoformat(),
        )

    def debit(
        self, request_id: str, authorisation_id: str, psn_no: str, amount_fen: int, order_no: str
    ) -> AccountTransaction:
        _check_id(request_id, "request_id")
        _check_amount(amount_fen)
        if "timeout_before_debit" in self.faults:
            raise BureauUnavailable("sandbox bureau debit timed out (fault: timeout_before_debit)")
        wanted = dict(
            kind=KIND_DEBIT,
            psn_no=psn_no,
            amount_fen=amount_fen,
            authorisation_id=authorisation_id,
            order_no=order_no,
        )
        txn = self._run(request_id, wanted, self._debit_in)
        if "timeout_after_debit" in self.faults:
            raise BureauUnavailable("sandbox bureau debit timed out (fault: timeout_after_debit)")
        return txn

    def refund(
        self, refund_request_id: str, original_request_id: str, amount_fen: int
    ) -> AccountTransaction:
        _check_id(refund_request_id, "refund_request_id")
        _check_id(original_request_id, "original_request_id")
        _check_amount(amount_fen)
        if "timeout_before_refund" in self.faults:
            raise BureauUnavailable(
                "sandbox bureau refund timed out (fault: timeout_before_refund)"
            )
        wanted = dict(
            kind=KIND_REFUND, amount_fen=amount_fen, original_request_id=original_request_id
        )
        txn = self._run(refund_request_id, wanted, self._refund_in)
        if "timeout_after_refund" in self.faults:
            raise BureauUnavailable("sandbox bureau refund timed out (fault: timeout_after_refund)")
        return txn

    def balance(self, psn_no: str) -> int | None:
        """The resident's `balc_fen`; None without a personal account (or unknown)."""
        if "timeout_balance" in self.faults:
            raise BureauUnavailable("sandbox bureau balance timed out (fault: timeout_balance)")
        with self._bureau_session("read") as s:
            row = s.scalar(select(SandboxResident).where(SandboxResident.psn_no == psn_no))
            if row is None or row.insutype != INSUTYPE_EMPLOYEE:
                return None
            return row.balc_fen

    def query(self, request_id: str) -> AccountTransaction:
        """The recorded debit or refund, or `DEBIT_NOT_FOUND` (amount 0) if never seen."""
        with self._bureau_session("read") as s:
            row = s.scalar(
                select(SandboxAccountTxn).where(SandboxAccountTxn.request_id == request_id)
            )
            if row is None:
                return AccountTransaction(
                    request_id=request_id, status=DEBIT_NOT_FOUND, amount_fen=0
                )
            return _to_txn(row)

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _bureau_session(self, share: str | None = None) -> Iterator[Session]:
        """The bureau's own session and transaction (never the caller's); with `share`, on the
        request's connection: "idle" only with no transaction open on it, "read" joining one."""
        shared = request_connection(join=share == "read") if share else None
        joined = shared is not None and shared.in_transaction()
        try:
            with Session(shared or get_engine(), expire_on_commit=False) as session:
                yield session
        except OperationalError as exc:
            if joined and exc.connection_invalidated:
                raise  # the request's own transaction died with it: its outage (503)
            # Lock timeouts, deadlocks, a vanished database: the bureau did not answer.
            raise BureauUnavailable(
                f"sandbox bureau storage unavailable ({type(exc.orig).__name__})"
            ) from exc

    def _bureau_read(self, run: Callable[[Session], Any]) -> Any:
        """A one-statement read in the bureau's own session in autocommit mode (one round trip
        on PostgreSQL), on the request's connection when it has no transaction open (no second
        checkout); `run` turns what it reads into plain data (the session closes)."""
        with self._bureau_session("idle") as session:
            return autocommit_read(run, session)

    def _run(
        self,
        request_id: str,
        wanted: dict,
        perform: Callable[[Session, str, dict], SandboxAccountTxn],
    ) -> AccountTransaction:
        """Replay a recorded request, or perform it in one transaction; a business refusal rolls
        that transaction back and is recorded on its own."""
        with self._bureau_session("idle") as s:
            try:
                with s.begin():
                    existing = s.scalar(
                        select(SandboxAccountTxn).where(SandboxAccountTxn.request_id == request_id)
                    )
                    if existing is not None:
                        return _replay(existing, request_id, wanted)
                    row = perform(s, request_id, wanted)
                return _to_txn(row)
            except _Refused as refused:
                return self._record_failure(s, request_id, wanted, refused.code)
            except IntegrityError:
                # The same request id committed concurrently (unique request_id): everything in
                # this attempt, balance change included, was rolled back. Answer with that record.
                return self._replay_committed(s, request_id, wanted)

    def _record_failure(
        self, s: Session, request_id: str, wanted: dict, code: str
    ) -> AccountTransaction:
        try:
            with s.begin():
                row = SandboxAccountTxn(
                    request_id=request_id,
                    kind=wanted["kind"],
                    psn_no=wanted.get("psn_no")
                    or self._psn_of(s, wanted.get("original_request_id")),
                    amount_fen=wanted["amount_fen"],
                    status=DEBIT_FAILED,
                    authorisation_id=wanted.get("authorisation_id"),
                    order_no=wanted.get("order_no"),
                    original_request_id=wanted.get("original_request_id"),
                    failure_code=code,
                    failure_message=_MESSAGES[code],
                    created_at=self._clock(),
                )
                s.add(row)
            return _to_txn(row)
        except IntegrityError:
            return self._replay_committed(s, request_id, wanted)

    @staticmethod
    def _replay_committed(s: Session, request_id: str, wanted: dict) -> AccountTransaction:
        with s.begin():
            existing = s.scalar(
                select(SandboxAccountTxn).where(SandboxAccountTxn.request_id == request_id)
            )
            if existing is None:  # pragma: no cover - the integrity error was about something else
                raise BureauUnavailable("sandbox bureau could not record the request")
            return _replay(existing, request_id, wanted)

    @staticmethod
    def _psn_of(s: Session, original_request_id: str | None) -> str:
        psn = s.scalar(
            select(SandboxAccountTxn.psn_no).where(
                SandboxAccountTxn.request_id == original_request_id
            )
        )
        return psn or ""

    def _debit_in(self, s: Session, request_id: str, wanted: dict) -> SandboxAccountTxn:
        psn_no, amount = wanted["psn_no"], wanted["amount_fen"]
        now = self._clock()

        found = s.execute(  # the authorisation and the payer's account, in one statement
            select(
                SandboxAccountAuthorisation,
                SandboxResident.insutype,
                SandboxResident.psn_insu_stas,
                SandboxResident.balc_fen,
            )
            .outerjoin(SandboxResident, SandboxResident.psn_no == psn_no)
            .where(SandboxAccountAuthorisation.authorisation_id == wanted["authorisation_id"])
        ).one_or_none()
        if found is None:
            raise _Refused("authorisation_not_found")
        auth, insutype, insurance_status, balance = found
        if (auth.psn_no, auth.amount_fen, auth.order_no) != (psn_no, amount, wanted["order_no"]):
            raise _Refused("authorisation_mismatch")
        if auth.expires_at <= now:
            raise _Refused("authorisation_expired")
        if auth.used:
            raise _Refused("authorisation_used")

        if insutype != INSUTYPE_EMPLOYEE or balance is None:  # no such person, or no account
            raise _Refused("no_personal_account")
        if insurance_status != STATUS_ACTIVE:
            raise _Refused(
                "insurance_ended" if insurance_status == STATUS_ENDED else "insurance_suspended"
            )

        # Claim the authorisation: a conditional UPDATE, so two requests racing on one
        # authorisation cannot both pass (the loser sees used = true after the winner commits).
        claimed = s.execute(
            update(SandboxAccountAuthorisation)
            .where(
                SandboxAccountAuthorisation.authorisation_id == auth.authorisation_id,
                SandboxAccountAuthorisation.used.is_(False),
                SandboxAccountAuthorisation.expires_at > now,
            )
            .values(used=True)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            raise _Refused("authorisation_used")

        # THE balance change: one conditional UPDATE returning what it wrote. Never read-then-write.
        balance_after = s.scalar(
            update(SandboxResident)
            .where(SandboxResident.psn_no == psn_no, SandboxResident.balc_fen >= amount)
            .values(balc_fen=SandboxResident.balc_fen - amount)
            .returning(SandboxResident.balc_fen)
            .execution_options(synchronize_session=False)
        )
        if balance_after is None:
            raise _Refused("insufficient_balance")

        row = SandboxAccountTxn(
            request_id=request_id,
            kind=KIND_DEBIT,
            psn_no=psn_no,
            amount_fen=amount,
            status=DEBIT_SUCCEEDED,
            bureau_txn_id=_new_txn_id(),
            authorisation_id=auth.authorisation_id,
            order_no=wanted["order_no"],
            refunded_fen=0,
            balance_after_fen=balance_after,
            created_at=now,
        )
        s.add(row)
        s.flush()  # the unique request_id is enforced here, inside the transaction
        return row

    def _refund_in(self, s: Session, request_id: str, wanted: dict) -> SandboxAccountTxn:
        amount, original_id = wanted["amount_fen"], wanted["original_request_id"]
        original = s.scalar(
            select(SandboxAccountTxn).where(SandboxAccountTxn.request_id == original_id)
        )
        if original is None or original.kind != KIND_DEBIT:
            raise _Refused("original_not_found")
        if original.status != DEBIT_SUCCEEDED:
            raise _Refused("original_not_succeeded")

        # Cap the total refunded by a conditional UPDATE on the debit itself (race-safe like the
        # balance): partial refunds add up, and never past the debited amount.
        capped = s.execute(
            update(SandboxAccountTxn)
            .where(
                SandboxAccountTxn.request_id == original_id,
                SandboxAccountTxn.refunded_fen + amount <= SandboxAccountTxn.amount_fen,
            )
            .values(refunded_fen=SandboxAccountTxn.refunded_fen + amount)
            .execution_options(synchronize_session=False)
        )
        if rowcount(capped) != 1:
            raise _Refused("refund_exceeds_debit")
        credited = s.execute(
            update(SandboxResident)
            .where(SandboxResident.psn_no == original.psn_no, SandboxResident.balc_fen.is_not(None))
            .values(balc_fen=SandboxResident.balc_fen + amount)
            .execution_options(synchronize_session=False)
        )
        if rowcount(credited) != 1:  # pragma: no cover - a debited account does not disappear
            raise BureauUnavailable("sandbox bureau could not credit the account")
        balance_after = s.scalar(
            select(SandboxResident.balc_fen).where(SandboxResident.psn_no == original.psn_no)
        )

        row = SandboxAccountTxn(
            request_id=request_id,
            kind=KIND_REFUND,
            psn_no=original.psn_no,
            amount_fen=amount,
            status=DEBIT_SUCCEEDED,
            bureau_txn_id=_new_txn_id(),
            original_request_id=original_id,
            balance_after_fen=balance_after,
            created_at=self._clock(),
        )
        s.add(row)
        s.flush()
        return row


def _replay(row: SandboxAccountTxn, request_id: str, wanted: dict) -> AccountTransaction:
    """A repeat of a recorded request gets the recorded answer; the same id for a different
    request gets a (not recorded) `request_id_conflict`."""
    same = row.kind == wanted["kind"] and all(
        getattr(row, key) == value for key, value in wanted.items() if key != "kind"
    )
    if same:
        return _to_txn(row)
    return AccountTransaction(
        request_id=request_id,
        status=DEBIT_FAILED,
        amount_fen=wanted["amount_fen"],
        failure_code="request_id_conflict",
        failure_message=_MESSAGES["request_id_conflict"],
    )


def _to_txn(row: SandboxAccountTxn) -> AccountTransaction:
    return AccountTransaction(
        request_id=row.request_id,
        status=row.status,
        amount_fen=row.amount_fen,
        bureau_txn_id=row.bureau_txn_id,
        balance_after_fen=row.balance_after_fen,
        failure_code=row.failure_code,
        failure_message=row.failure_message,
    )


def _new_txn_id() -> str:
    return f"SBT{uuid.uuid4().hex[:24].upper()}"


def _check_amount(amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValueError("amount_fen must be a positive integer number of fen")


def _check_range(begin: date, end: date) -> None:
    for value in (begin, end):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError("begin and end must be datetime.date values (Asia/Shanghai)")
    if begin > end:
        raise ValueError("begin is after end")


def _check_settlement(settlement: SettlementRecord | None, psn_no: str, setl_id: str) -> None:
    if settlement is not None and (settlement.psn_no, settlement.setl_id) != (psn_no, setl_id):
        raise ValueError("settlement is not this person's settlement setl_id")


def _check_id(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueError(f"{name} must be a non-empty string of at most 64 characters")


def to_bureau_person(row: SandboxResident | Row[Any], certno: str) -> BureauPerson:
    """A resident (the mapped object, or a Core row of the same table) as the bureau answers."""
    return BureauPerson(
        psn_no=row.psn_no,
        certno=certno,
        name=row.psn_name,
        gender=row.gend,
        birth_date=row.brdy,
        insurance=[
            InsuranceRecord(
                insutype=row.insutype,
                status=row.psn_insu_stas,
                region_code=row.insuplc_admdvs,
                paused_on=row.paus_insu_date,
                balance_fen=row.balc_fen,
                begin_date=row.psn_insu_date,
            )
        ],
        identity_types=list(row.idet_types or []),
    )


def encrypt_certno(certno: str) -> tuple[str, str]:
    return cipher().encrypt(certno, CERTNO_CONTEXT), index_of("sandbox_certno", certno)
