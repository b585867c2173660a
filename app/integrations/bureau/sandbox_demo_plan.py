"""The deterministic demo settlements (pure: a function of the resident registry only).

Hand-set bills for the showcase people (sandbox_demo_data.py), seeded-random ones for about half
of the rest, each split by the sandbox rule (sandbox_split.py) into a `SettlementRecord`.
`flask demo seed` loads them through sandbox_settlements.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.common.clock import SHANGHAI
from app.integrations.bureau.port import STATUS_ACTIVE
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
from app.integrations.bureau.sandbox_models import SandboxResident
from app.integrations.bureau.sandbox_split import ASSISTED_IDENTITIES, bureau_split, floor_share
from app.integrations.bureau.settlements import MED_TYPE_CARE_KINDS, SettlementRecord


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
    psn_insu_date: date | None = None  # the start of the current insured period (reinstated)

    @property
    def assisted(self) -> bool:
        return bool(ASSISTED_IDENTITIES & set(self.idet_types))

    def basic_paid_on(self, day: date) -> bool:
        """Basic insurance paid for care on `day` unless a suspension had begun by then (and,
        for a person insured again, had not yet ended: the new period began after `day`)."""
        return not (
            self.paus_insu_date is not None
            and self.paus_insu_date <= day
            and (
                self.psn_insu_stas != STATUS_ACTIVE
                or (self.psn_insu_date is not None and day < self.psn_insu_date)
            )
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
        psn_insu_date=resident.psn_insu_date,
    )


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


def _random_visits(rng: random.Random, facts: ResidentFacts) -> list[Visit]:
    first_day, last_day = date(PLAN_YEAR, 1, 3), SEED_CUTOFF - timedelta(days=1)
    if not facts.basic_paid_on(last_day):
        # Suspended during the year: only care before the suspension (a bureau settles with
        # the funds only while basic insurance is active).
        assert facts.paus_insu_date is not None  # basic_paid_on is False only after a pause
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
            fulamt = floor_share(medfee, rng.randint(4000, 9000))
        else:
            fulamt = floor_share(medfee, rng.randint(300, 1500))
        overlmt = floor_share(medfee, rng.randint(0, 200))
        preselfpay = floor_share(medfee, rng.randint(200, 800))
        med_type = MED_TYPE_FOR_KIND.get(kind, kind)
        diagnosis = rng.choice(DIAGNOSES[kind])
        visits.append(
            Visit(
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


def build_record(
    facts: ResidentFacts, visit: Visit, setl_id: str, mdtrt_id: str, settled_at: datetime
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
    return [record for record, _ in demo_plan(residents)]


def demo_plan(residents: Iterable) -> list[tuple[SettlementRecord, Visit]]:
    """`demo_settlements`, each with the bill (`Visit`) it was drawn up from: the sandbox
    itemises a settlement from its visit's hand-set lines (sandbox_fee_lines.py)."""
    rng = random.Random(_SEED)
    plan: list[tuple[SettlementRecord, Visit]] = []
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
            plan.append((build_record(facts, visit, setl_id, mdtrt_id, settled_at), visit))
    return plan
