"""The sandbox bureau's settlement records and their fee lines: the tables behind
`SandboxBureau`'s reads, the seeding of the demo settlements (`flask demo seed`) and the
sandbox-only helper that adds one (`flask demo settlement`). Every settlement is stored with its
fee lines (5204 shape), planned by sandbox_fee_lines.py so that they add up to it.

How the sandbox splits a bill is in sandbox_split.py, the demo data in sandbox_demo_data.py,
how the demo settlements are drawn up in sandbox_demo_plan.py and how a bill is itemised in
sandbox_fee_lines.py; their public names stay importable from here.

Writes happen in the bureau's own session, committed before returning, as in sandbox.py: a
caller rolling back its unit of work does not undo what "the bureau" recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from app.common.clock import SHANGHAI, today_shanghai
from app.database import get_engine
from app.integrations.bureau.fee_details import RECORD_FIELDS, FeeDetailRecord
from app.integrations.bureau.sandbox_demo_data import (
    DIAGNOSES,
    HOSPITALS,
    MED_TYPE_FOR_KIND,
    ORDINARY_OUTPATIENT,
    PLAN_YEAR,
    SEED_CUTOFF,
    SHOWCASE_PSN_PREFIX,
    SHOWCASE_VISITS,
    Visit,
)
from app.integrations.bureau.sandbox_demo_plan import (
    ResidentFacts,
    build_record,
    demo_plan,
    demo_settlements,
    facts_of,
)
from app.integrations.bureau.sandbox_fee_lines import plan_fee_lines
from app.integrations.bureau.sandbox_models import (
    SandboxFeeLine,
    SandboxResident,
    SandboxSettlement,
)
from app.integrations.bureau.sandbox_split import ASSISTED_IDENTITIES, bureau_split, floor_share
from app.integrations.bureau.settlements import (
    AMOUNT_FIELDS,
    MED_TYPE_CARE_KINDS,
    SettlementRecord,
)

__all__ = [
    "ASSISTED_IDENTITIES",
    "DIAGNOSES",
    "HOSPITALS",
    "MED_TYPE_FOR_KIND",
    "ORDINARY_OUTPATIENT",
    "PLAN_YEAR",
    "SEED_CUTOFF",
    "SHOWCASE_PSN_PREFIX",
    "SHOWCASE_VISITS",
    "ResidentFacts",
    "UnknownResident",
    "add_settlement",
    "bureau_split",
    "demo_settlements",
    "facts_of",
    "plan_fee_lines",
    "query_fee_lines",
    "query_settlement",
    "query_settlements",
    "seed_settlements",
    "to_record",
]


class UnknownResident(LookupError):
    """No sandbox resident has this psn_no."""


# --------------------------------------------------------------------------------------------
# The table


_COLUMNS = (
    "mdtrt_id",
    "psn_no",
    "psn_name",
    "fixmedins_code",
    "fixmedins_name",
    "med_type",
    "begndate",
    "enddate",
    "setl_time",
    "dise_codg",
    "dise_name",
    "refd_setl_flag",
    *AMOUNT_FIELDS,
)


def _fill(row: SandboxSettlement, record: SettlementRecord) -> None:
    for name in _COLUMNS:
        setattr(row, name, getattr(record, name))


def to_record(row) -> SettlementRecord:
    """The record of a SandboxSettlement, or of a row of its columns."""
    return SettlementRecord(
        setl_id=row.setl_id,
        setl_time=row.setl_time.astimezone(SHANGHAI),
        **{name: getattr(row, name) for name in _COLUMNS if name != "setl_time"},
    )


def _line_row(line: FeeDetailRecord) -> dict:
    row = {name: getattr(line, name) for name in RECORD_FIELDS if name != "name"}
    row["med_list_name"] = line.name
    return row


def to_fee_detail(row: SandboxFeeLine) -> FeeDetailRecord:
    values = {name: getattr(row, name) for name in RECORD_FIELDS if name != "name"}
    values["fee_ocur_time"] = row.fee_ocur_time.astimezone(SHANGHAI)
    # Numeric(16, 4) reads back with its scale (2 -> 2.0000); the value is the same.
    return FeeDetailRecord(name=row.med_list_name, **values)


def _store_fee_lines(session: Session, lines: list[FeeDetailRecord]) -> None:
    if lines:
        session.execute(insert(SandboxFeeLine), [_line_row(line) for line in lines])


def seed_settlements(session: Session, residents: Iterable) -> dict[str, int]:
    """Insert or update the demo settlements by setl_id, with their fee lines, in the caller's
    transaction (seeding is set-up, not a bureau call). A demo settlement's lines are written
    afresh (same feedetl_sn, same content: the plan is deterministic). Settlements added later
    by `add_settlement` are left alone, lines included."""
    plan = demo_plan(residents)
    records = [record for record, _ in plan]
    existing = {
        row.setl_id: row
        for row in session.scalars(
            select(SandboxSettlement).where(
                SandboxSettlement.setl_id.in_([r.setl_id for r in records])
            )
        )
    }
    created = 0
    for record in records:
        row = existing.get(record.setl_id)
        if row is None:
            row = SandboxSettlement(setl_id=record.setl_id)
            session.add(row)
            created += 1
        _fill(row, record)
    setl_ids = [r.setl_id for r in records]
    for start in range(0, len(setl_ids), 500):  # bounded IN lists
        session.execute(
            delete(SandboxFeeLine).where(SandboxFeeLine.setl_id.in_(setl_ids[start : start + 500]))
        )
    _store_fee_lines(
        session,
        [
            line
            for record, visit in plan
            for line in plan_fee_lines(record, visit.featured, visit.fee_reversal)
        ],
    )
    return {"settlements_created": created, "settlements_updated": len(records) - created}


def query_settlements(
    session: Session, psn_no: str, begin: date, end: date
) -> list[SettlementRecord]:
    # setl_time is stored in UTC: the Shanghai day `begin` starts at 16:00 UTC the day before.
    start = datetime.combine(begin, time.min, SHANGHAI)
    stop = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    rows = session.scalars(
        select(SandboxSettlement)
        .where(
            SandboxSettlement.psn_no == psn_no,
            SandboxSettlement.setl_time >= start,
            SandboxSettlement.setl_time < stop,
        )
        .order_by(SandboxSettlement.setl_time, SandboxSettlement.setl_id)
    )
    return [to_record(row) for row in rows]


_ONE = select(*(SandboxSettlement.__table__.c[name] for name in ("setl_id", *_COLUMNS))).where(
    SandboxSettlement.setl_id == bindparam("setl_id"),
    SandboxSettlement.psn_no == bindparam("psn_no"),
)  # built once, columns not an entity (the hospital counter asks for one record per trial)


def query_settlement(session: Session, psn_no: str, setl_id: str) -> SettlementRecord | None:
    row = session.execute(_ONE, {"setl_id": setl_id, "psn_no": psn_no}).first()
    return None if row is None else to_record(row)


def query_fee_lines(session: Session, setl_id: str) -> list[FeeDetailRecord]:
    """The settlement's lines as the bureau stores them (reversal lines included), in
    feedetl_sn order."""
    rows = session.scalars(
        select(SandboxFeeLine)
        .where(SandboxFeeLine.setl_id == setl_id)
        .order_by(SandboxFeeLine.feedetl_sn)
    )
    return [to_fee_detail(row) for row in rows]


def add_settlement(
    psn_no: str,
    medfee_fen: int,
    *,
    care_kind: str = "in_patient",
    med_type: str | None = None,
    begndate: date | None = None,
    enddate: date | None = None,
    fulamt_fen: int | None = None,
    overlmt_fen: int = 0,
    preselfpay_fen: int | None = None,
    dise_codg: str | None = None,
    dise_name: str | None = None,
    hospital: int = 0,
    reversed: bool = False,
) -> SettlementRecord:
    """Sandbox only: the bureau records a new settlement for a sandbox resident, split by the
    sandbox rule and itemised into fee lines that add up to it (sandbox_fee_lines.py). Defaults:
    an in-patient stay discharged yesterday (Shanghai) after 5 days, 10% of the total wholly
    self-paid and 5% first self-paid. Committed in the bureau's own session; returns the record
    as the bureau now reports it.

    Raises UnknownResident for an unknown psn_no and ValueError for impossible amounts or dates.
    """
    if type(medfee_fen) is not int or medfee_fen <= 0:
        raise ValueError("medfee_fen must be a positive integer number of fen")
    med_type = med_type or MED_TYPE_FOR_KIND.get(care_kind)
    if med_type is None:
        raise ValueError(f"unknown kind of care {care_kind!r}")
    kind = MED_TYPE_CARE_KINDS.get(med_type)
    enddate = enddate or (today_shanghai() - timedelta(days=1))
    begndate = begndate or (enddate - timedelta(days=5) if kind == "in_patient" else enddate)
    if begndate > enddate:
        raise ValueError("begndate is after enddate")
    fulamt = floor_share(medfee_fen, 1000) if fulamt_fen is None else fulamt_fen
    preselfpay = floor_share(medfee_fen, 500) if preselfpay_fen is None else preselfpay_fen
    default_dx = DIAGNOSES.get(kind or ORDINARY_OUTPATIENT, DIAGNOSES["in_patient"])[0]
    if not 0 <= hospital < len(HOSPITALS):
        raise ValueError("unknown hospital")

    with Session(get_engine(), expire_on_commit=False) as s, s.begin():
        resident = s.scalar(select(SandboxResident).where(SandboxResident.psn_no == psn_no))
        if resident is None:
            raise UnknownResident("no sandbox resident has this psn_no")
        visit = Visit(
            0,
            med_type,
            begndate,
            enddate,
            hospital,
            (dise_codg or default_dx[0], dise_name or default_dx[1]),
            medfee_fen,
            fulamt,
            overlmt_fen,
            preselfpay,
            reversed=reversed,
        )
        token = uuid.uuid4().hex[:20].upper()
        settled_at = datetime.combine(enddate, time(10, 0), SHANGHAI)
        record = build_record(facts_of(resident), visit, f"SBX{token}", f"SBY{token}", settled_at)
        row = SandboxSettlement(setl_id=record.setl_id)
        _fill(row, record)
        s.add(row)
        _store_fee_lines(s, plan_fee_lines(record))
    return record
