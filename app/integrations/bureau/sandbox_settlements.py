"""The sandbox bureau's settlement records: how it splits a bill between the funds and the
member, the deterministic demo settlements `flask demo seed` loads, the sandbox-only helper
that adds one (`flask demo settlement`), and the reads behind `SandboxBureau`.

How the sandbox bureau splits a bill (`bureau_split`; a simplification of a city's basic
insurance, kept simple so a demo figure can be checked by hand). Inputs: the total and its
out-of-policy parts (fulamt, overlmt) and the 乙类 first self-pay (preselfpay). Then:

    inscp  = medfee - fulamt - overlmt - preselfpay
    hifp   = (inscp - 起付线)+ x ratio             ratio: employee 85%, resident 70%
             起付线: employee 800 yuan, resident 600 yuan; none for chronic out-patient and
             special drugs (their own schemes)
    left   = inscp - hifp
    hifmi  = resident: (left - 10,000 yuan)+ x 60%   (resident critical-illness insurance)
    hifob  = employee: (left - 20,000 yuan)+ x 80%   (employee large-amount insurance)
    maf    = assisted people (低保 2301, 特困 2302, 低收入 2303):
             (inscp + preselfpay - hifp - hifmi - hifob) x 50%
    psn_part = medfee - hifp - hifmi - hifob - maf
    acct_pay = employees with a balance: min(psn_part / 3, 2,000 yuan, balance); the rest cash

Every product is floored to the fen (the sandbox's named rounding: ROUND_DOWN to 1 fen), so all
identities in settlements.py hold exactly. A bill for care while basic insurance is suspended is
settled with no fund payments at all (hifp = hifmi = hifob = 0); medical assistance still
follows the rule. The sandbox does not draw acct_pay from the resident's balance (`balc_fen`):
that balance belongs to the premium debit flow and stays untouched.

Writes happen in the bureau's own session, committed before returning, as in sandbox.py: a
caller rolling back its unit of work does not undo what "the bureau" recorded.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.common.clock import SHANGHAI, today_shanghai
from app.database import get_engine
from app.integrations.bureau.port import INSUTYPE_EMPLOYEE, STATUS_ACTIVE
from app.integrations.bureau.sandbox_models import SandboxResident, SandboxSettlement
from app.integrations.bureau.settlements import (
    AMOUNT_FIELDS,
    MED_TYPE_CARE_KINDS,
    SettlementRecord,
)

PLAN_YEAR = 2026
# Demo settlements are all dated before this day (the demo "now" is late November 2026).
SEED_CUTOFF = date(2026, 11, 1)
ASSISTED_IDENTITIES = frozenset({"2301", "2302", "2303"})

# One medical type per kind of care, used when the sandbox creates a settlement for a kind.
MED_TYPE_FOR_KIND = {
    "in_patient": "21",
    "day_surgery": "2114",
    "emergency": "13",
    "chronic_outpatient": "14",
    "special_drug": "9910",
}
ORDINARY_OUTPATIENT = "11"  # 普通门诊: not 惠民保 care

HOSPITALS = [
    ("H36070200001", "赣南医科大学第一附属医院"),
    ("H36070200002", "赣州市人民医院"),
    ("H36070200003", "赣州市立医院"),
    ("H36070200004", "赣州市第五人民医院"),
    ("H36070300005", "赣州市南康区第一人民医院"),
    ("H36073100006", "于都县人民医院"),
]
DIAGNOSES = {
    "in_patient": [
        ("K80.200", "胆囊结石伴慢性胆囊炎"),
        ("I63.900", "脑梗死"),
        ("J18.900", "肺炎"),
        ("S72.000", "股骨颈骨折"),
        ("C34.900", "肺恶性肿瘤"),
        ("C50.900", "乳腺恶性肿瘤"),
        ("K35.800", "急性阑尾炎"),
        ("N18.500", "慢性肾脏病5期"),
    ],
    "day_surgery": [("H26.900", "白内障"), ("K40.900", "腹股沟疝"), ("N20.000", "肾结石")],
    "emergency": [("I21.900", "急性心肌梗死"), ("S06.000", "脑震荡"), ("T14.000", "多处浅表损伤")],
    "chronic_outpatient": [
        ("E11.900", "2型糖尿病"),
        ("I10.x00", "高血压"),
        ("N18.500", "慢性肾脏病5期"),
    ],
    "special_drug": [
        ("C34.900", "肺恶性肿瘤（靶向治疗）"),
        ("C50.900", "乳腺恶性肿瘤（靶向治疗）"),
    ],
    ORDINARY_OUTPATIENT: [("J06.900", "急性上呼吸道感染"), ("K29.700", "胃炎")],
}

_DEDUCTIBLE_FEN = {INSUTYPE_EMPLOYEE: 80_000, "390": 60_000}  # 800 / 600 yuan
_RATIO_BP = {INSUTYPE_EMPLOYEE: 8500, "390": 7000}
_NO_DEDUCTIBLE_KINDS = {"chronic_outpatient", "special_drug"}
_ACCOUNT_CAP_FEN = 200_000  # 2,000 yuan


class UnknownResident(LookupError):
    """No sandbox resident has this psn_no."""


def _share(amount: int, basis_points: int) -> int:
    """amount x basis_points / 10,000, floored to the fen (ROUND_DOWN; integers only)."""
    return amount * basis_points // 10_000


def bureau_split(
    *,
    medfee_fen: int,
    fulamt_fen: int,
    overlmt_fen: int,
    preselfpay_fen: int,
    insutype: str,
    care_kind: str | None,
    assisted: bool,
    basic_paid: bool = True,
    account_balance_fen: int | None = None,
) -> dict[str, int]:
    """The sandbox bureau's split of one bill (module docstring), as `*_fen` amounts keyed by
    SettlementRecord field name."""
    parts = (medfee_fen, fulamt_fen, overlmt_fen, preselfpay_fen)
    if any(type(p) is not int or p < 0 for p in parts):
        raise ValueError("amounts must be non-negative integers of fen")
    inscp = medfee_fen - fulamt_fen - overlmt_fen - preselfpay_fen
    if inscp < 0:
        raise ValueError("the out-of-policy and first self-pay parts exceed the total")
    hifp = hifmi = hifob = 0
    if basic_paid:
        deductible = (
            0 if care_kind in _NO_DEDUCTIBLE_KINDS else _DEDUCTIBLE_FEN.get(insutype, 60_000)
        )
        hifp = _share(max(inscp - deductible, 0), _RATIO_BP.get(insutype, 7000))
        left = inscp - hifp
        if insutype == INSUTYPE_EMPLOYEE:
            hifob = _share(max(left - 2_000_000, 0), 8000)
        else:
            hifmi = _share(max(left - 1_000_000, 0), 6000)
    maf = _share(inscp + preselfpay_fen - hifp - hifmi - hifob, 5000) if assisted else 0
    psn_part = medfee_fen - hifp - hifmi - hifob - maf
    acct = 0
    if insutype == INSUTYPE_EMPLOYEE and account_balance_fen:
        acct = min(psn_part // 3, _ACCOUNT_CAP_FEN, account_balance_fen)
    return {
        "medfee_sumamt_fen": medfee_fen,
        "fulamt_ownpay_amt_fen": fulamt_fen,
        "overlmt_selfpay_fen": overlmt_fen,
        "preselfpay_amt_fen": preselfpay_fen,
        "inscp_scp_amt_fen": inscp,
        "hifp_pay_fen": hifp,
        "hifmi_pay_fen": hifmi,
        "hifob_pay_fen": hifob,
        "maf_pay_fen": maf,
        "oth_pay_fen": 0,
        "psn_part_amt_fen": psn_part,
        "acct_pay_fen": acct,
        "psn_cash_pay_fen": psn_part - acct,
    }


# --------------------------------------------------------------------------------------------
# The demo plan (pure: a function of the resident registry only)


@dataclass(frozen=True)
class ResidentFacts:
    """What the split needs to know about a resident (from app.demo.residents or the table)."""

    psn_no: str
    name: str
    insutype: str
    psn_insu_stas: str
    paus_insu_date: date | None
    balc_fen: int | None
    idet_types: tuple[str, ...]

    @property
    def assisted(self) -> bool:
        return bool(ASSISTED_IDENTITIES & set(self.idet_types))

    def basic_paid_on(self, day: date) -> bool:
        """Basic insurance paid for care on `day` unless a suspension had begun by then."""
        return not (
            self.psn_insu_stas != STATUS_ACTIVE
            and self.paus_insu_date is not None
            and self.paus_insu_date <= day
        )


def facts_of(resident) -> ResidentFacts:
    """From a DemoResident (`name`) or a SandboxResident row (`psn_name`)."""
    name = resident.psn_name if isinstance(resident, SandboxResident) else resident.name
    return ResidentFacts(
        psn_no=resident.psn_no,
        name=name,
        insutype=resident.insutype,
        psn_insu_stas=resident.psn_insu_stas,
        paus_insu_date=resident.paus_insu_date,
        balc_fen=resident.balc_fen,
        idet_types=tuple(resident.idet_types or ()),
    )


@dataclass(frozen=True)
class _Visit:
    seq: int
    med_type: str
    begndate: date
    enddate: date
    hospital: int
    diagnosis: tuple[str, str]
    medfee_fen: int
    fulamt_fen: int
    overlmt_fen: int
    preselfpay_fen: int
    reversed: bool = False
    same_admission_as: int | None = None  # a re-settlement of an earlier seq's admission
    settled_on: date | None = None  # default: the discharge date


def _dx(kind: str, i: int) -> tuple[str, str]:
    return DIAGNOSES[kind][i]


# app.demo.residents numbers the showcase people 3607 00990000000 + i, the rest 3607 00880000000 + i.
SHOWCASE_PSN_PREFIX = "36070099"
# The showcase people the README walks through, by name, with hand-set bills. 张伟's stroke
# admission was settled, reversed by the hospital (a billing correction) and settled again.
SHOWCASE_VISITS: dict[str, list[_Visit]] = {
    "张伟": [
        _Visit(
            1,
            "21",
            date(2026, 2, 10),
            date(2026, 2, 16),
            1,
            _dx("in_patient", 0),
            2_368_050,
            120_000,
            8_050,
            95_000,
        ),
        _Visit(
            2,
            "21",
            date(2026, 5, 6),
            date(2026, 5, 20),
            0,
            _dx("in_patient", 1),
            9_860_000,
            1_250_000,
            30_000,
            420_000,
            reversed=True,
        ),
        _Visit(
            3,
            "21",
            date(2026, 5, 6),
            date(2026, 5, 20),
            0,
            _dx("in_patient", 1),
            9_736_000,
            1_180_000,
            30_000,
            416_000,
            same_admission_as=2,
            settled_on=date(2026, 5, 21),
        ),
    ],
    "李娜": [
        _Visit(
            1,
            "2114",
            date(2026, 4, 8),
            date(2026, 4, 8),
            1,
            _dx("day_surgery", 0),
            680_000,
            52_000,
            0,
            31_000,
        ),
        _Visit(
            2,
            "14",
            date(2026, 7, 15),
            date(2026, 7, 15),
            2,
            _dx("chronic_outpatient", 0),
            86_540,
            4_200,
            0,
            3_100,
        ),
    ],
    "张小宝": [
        _Visit(
            1,
            "21",
            date(2026, 3, 3),
            date(2026, 3, 8),
            1,
            _dx("in_patient", 2),
            562_030,
            41_000,
            0,
            22_500,
        ),
    ],
    "张建国": [
        _Visit(
            1,
            "21",
            date(2026, 1, 20),
            date(2026, 2, 5),
            0,
            _dx("in_patient", 4),
            16_835_000,
            2_650_000,
            45_000,
            880_000,
        ),
        _Visit(
            2,
            "9910",
            date(2026, 6, 18),
            date(2026, 6, 18),
            0,
            _dx("special_drug", 0),
            4_560_000,
            3_200_000,
            0,
            0,
        ),
        _Visit(
            3,
            "14",
            date(2026, 8, 11),
            date(2026, 8, 11),
            2,
            _dx("chronic_outpatient", 1),
            45_620,
            3_000,
            0,
            1_800,
        ),
    ],
    "王芳": [
        # Before her basic insurance was suspended (2026-03-01) ...
        _Visit(
            1,
            "21",
            date(2026, 1, 12),
            date(2026, 1, 18),
            2,
            _dx("in_patient", 2),
            1_256_000,
            98_000,
            5_600,
            61_000,
        ),
        # ... and during the suspension: settled without any fund payment.
        _Visit(
            2,
            "21",
            date(2026, 6, 2),
            date(2026, 6, 10),
            3,
            _dx("in_patient", 3),
            4_870_000,
            520_000,
            12_000,
            230_000,
        ),
    ],
    "刘强": [
        _Visit(
            1,
            "13",
            date(2026, 8, 21),
            date(2026, 8, 22),
            1,
            _dx("emergency", 0),
            1_820_000,
            160_000,
            0,
            70_000,
        ),
    ],
    "陈静": [
        _Visit(
            1,
            "2114",
            date(2026, 9, 9),
            date(2026, 9, 9),
            4,
            _dx("day_surgery", 1),
            915_500,
            80_000,
            2_500,
            40_000,
        ),
        _Visit(
            2,
            ORDINARY_OUTPATIENT,
            date(2026, 10, 12),
            date(2026, 10, 12),
            4,
            DIAGNOSES[ORDINARY_OUTPATIENT][0],
            18_650,
            2_100,
            0,
            600,
        ),
    ],
}

_KIND_WEIGHTS = [
    ("in_patient", 45),
    ("chronic_outpatient", 20),
    ("day_surgery", 10),
    ("emergency", 10),
    ("special_drug", 7),
    (ORDINARY_OUTPATIENT, 8),
]
# Total cost ranges in yuan by kind; in-patient bills are small 70% of the time, large otherwise.
_RANGES_YUAN = {
    "chronic_outpatient": (300, 5_000),
    "day_surgery": (4_000, 15_000),
    "emergency": (1_000, 30_000),
    "special_drug": (10_000, 120_000),
    ORDINARY_OUTPATIENT: (50, 500),
}
_SEED = 20261101


def _random_visits(rng: random.Random, facts: ResidentFacts) -> list[_Visit]:
    first_day, last_day = date(PLAN_YEAR, 1, 3), SEED_CUTOFF - timedelta(days=1)
    if not facts.basic_paid_on(last_day):
        # Suspended during the year: only care before the suspension (a bureau settles with
        # the funds only while basic insurance is active).
        last_day = facts.paus_insu_date - timedelta(days=1)
    if last_day < first_day + timedelta(days=30):
        return []
    visits = []
    for seq in range(1, rng.choice((1, 1, 1, 2, 2, 3)) + 1):
        kind = rng.choices([k for k, _ in _KIND_WEIGHTS], weights=[w for _, w in _KIND_WEIGHTS])[0]
        stay = rng.randint(3, 20) if kind == "in_patient" else (1 if kind == "emergency" else 0)
        begin = first_day + timedelta(days=rng.randint(0, (last_day - first_day).days - stay))
        if kind == "in_patient":
            low, high = (3_000, 20_000) if rng.random() < 0.7 else (30_000, 300_000)
        else:
            low, high = _RANGES_YUAN[kind]
        medfee = rng.randint(low, high) * 100 + rng.randint(0, 99)
        if kind == "special_drug":  # mostly outside the catalogue
            fulamt = _share(medfee, rng.randint(4000, 9000))
        else:
            fulamt = _share(medfee, rng.randint(300, 1500))
        overlmt = _share(medfee, rng.randint(0, 200))
        preselfpay = _share(medfee, rng.randint(200, 800))
        med_type = MED_TYPE_FOR_KIND.get(kind, kind)
        diagnosis = rng.choice(DIAGNOSES[kind])
        visits.append(
            _Visit(
                seq,
                med_type,
                begin,
                begin + timedelta(days=stay),
                rng.randrange(len(HOSPITALS)),
                diagnosis,
                medfee,
                fulamt,
                overlmt,
                preselfpay,
            )
        )
    return visits


def _ids(psn_no: str, seq: int) -> tuple[str, str]:
    tail = psn_no[-8:]
    return f"SBS{PLAN_YEAR}{tail}{seq:02d}", f"SBM{PLAN_YEAR}{tail}{seq:02d}"


def _record(
    facts: ResidentFacts, visit: _Visit, setl_id: str, mdtrt_id: str, settled_at: datetime
) -> SettlementRecord:
    code, name = HOSPITALS[visit.hospital]
    amounts = bureau_split(
        medfee_fen=visit.medfee_fen,
        fulamt_fen=visit.fulamt_fen,
        overlmt_fen=visit.overlmt_fen,
        preselfpay_fen=visit.preselfpay_fen,
        insutype=facts.insutype,
        care_kind=MED_TYPE_CARE_KINDS.get(visit.med_type),
        assisted=facts.assisted,
        basic_paid=facts.basic_paid_on(visit.begndate),
        account_balance_fen=facts.balc_fen,
    )
    return SettlementRecord(
        setl_id=setl_id,
        mdtrt_id=mdtrt_id,
        psn_no=facts.psn_no,
        psn_name=facts.name,
        fixmedins_code=code,
        fixmedins_name=name,
        med_type=visit.med_type,
        begndate=visit.begndate,
        enddate=visit.enddate,
        setl_time=settled_at,
        dise_codg=visit.diagnosis[0],
        dise_name=visit.diagnosis[1],
        refd_setl_flag="1" if visit.reversed else "0",
        **amounts,
    )


def demo_settlements(residents: Iterable) -> list[SettlementRecord]:
    """The deterministic demo settlements for a resident registry (app.demo.residents):
    hand-set ones for the showcase people, seeded-random ones for about half of the rest, all in
    plan year 2026 and settled before 2026-11-01."""
    rng = random.Random(_SEED)
    records: list[SettlementRecord] = []
    for resident in residents:
        facts = facts_of(resident)
        # Names can repeat among the generated residents; the showcase psn_nos cannot.
        showcase = (
            SHOWCASE_VISITS.get(facts.name)
            if facts.psn_no.startswith(SHOWCASE_PSN_PREFIX)
            else None
        )
        if showcase is not None:
            visits = showcase
        elif rng.random() < 0.55:
            visits = _random_visits(rng, facts)
        else:
            continue
        for visit in visits:
            setl_id, _ = _ids(facts.psn_no, visit.seq)
            _, mdtrt_id = _ids(facts.psn_no, visit.same_admission_as or visit.seq)
            day = visit.settled_on or visit.enddate
            settled_at = datetime.combine(day, time(10, 0), SHANGHAI) + timedelta(minutes=visit.seq)
            records.append(_record(facts, visit, setl_id, mdtrt_id, settled_at))
    return records


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


def to_record(row: SandboxSettlement) -> SettlementRecord:
    return SettlementRecord(
        setl_id=row.setl_id,
        setl_time=row.setl_time.astimezone(SHANGHAI),
        **{name: getattr(row, name) for name in _COLUMNS if name != "setl_time"},
    )


def seed_settlements(session: Session, residents: Iterable) -> dict[str, int]:
    """Insert or update the demo settlements by setl_id, in the caller's transaction (seeding is
    set-up, not a bureau call). Settlements added later by `add_settlement` are left alone."""
    records = demo_settlements(residents)
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


def query_settlement(session: Session, psn_no: str, setl_id: str) -> SettlementRecord | None:
    row = session.scalar(
        select(SandboxSettlement).where(
            SandboxSettlement.setl_id == setl_id, SandboxSettlement.psn_no == psn_no
        )
    )
    return None if row is None else to_record(row)


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
    sandbox rule. Defaults: an in-patient stay discharged yesterday (Shanghai) after 5 days,
    10% of the total wholly self-paid and 5% first self-paid. Committed in the bureau's own
    session; returns the record as the bureau now reports it.

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
    fulamt = _share(medfee_fen, 1000) if fulamt_fen is None else fulamt_fen
    preselfpay = _share(medfee_fen, 500) if preselfpay_fen is None else preselfpay_fen
    default_dx = DIAGNOSES.get(kind or ORDINARY_OUTPATIENT, DIAGNOSES["in_patient"])[0]
    if not 0 <= hospital < len(HOSPITALS):
        raise ValueError("unknown hospital")

    with Session(get_engine(), expire_on_commit=False) as s, s.begin():
        resident = s.scalar(select(SandboxResident).where(SandboxResident.psn_no == psn_no))
        if resident is None:
            raise UnknownResident("no sandbox resident has this psn_no")
        visit = _Visit(
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
        record = _record(facts_of(resident), visit, f"SBX{token}", f"SBY{token}", settled_at)
        row = SandboxSettlement(setl_id=record.setl_id)
        _fill(row, record)
        s.add(row)
    return record
