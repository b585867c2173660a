"""How the sandbox bureau itemises a settlement into fee lines (5204 shape) that add up to it.

Pure and deterministic: `plan_fee_lines(record)` is a function of the settlement record (and a
showcase bill's hand-set lines) only; its random choices come from a generator seeded with the
setl_id, so the demo plan's own random sequence (sandbox_demo_plan.py) is untouched and the same
settlement always gets the same lines.

How a bill is split, so each settlement total is the sum of its lines' field (fee_details.py):

    overlmt_selfpay  -> one 乙类 material line priced above the basic-insurance limit: its
                        overlmt_amt, plus an in-policy share (inscp)
    preselfpay_amt   -> one or two 乙类 drug lines: their preselfpay_amt (the first self-paid
                        10%), plus an in-policy share of up to 9x that
    inscp_scp_amt    -> what those lines did not take, over two to four 甲类 lines (services,
                        drugs), the last taking the remainder
    fulamt_ownpay    -> the hand-set showcase lines first (`Visit.featured`), the rest over one
                        or two 丙类 lines from a pool for the kind of care: some of them on the
                        demo catalogues (app/catalogues/demo_data.py), some not; a special-drug
                        visit's self-paid part is a listed special drug for its diagnosis

A line's units and unit price are chosen so that cnt x pric is exactly its total (a count that
divides it, else 1). About one bill in six also has a returned item: a line billed with one unit
more and a reversal line (cnt -1, init_feedetl_sn naming it), which the bureau nets out when
asked. Every product is in integer fen; no rounding happens.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal

from app.catalogues.demo_data import (
    ALBUMIN,
    DEMO_COMMERCIAL_ITEMS,
    IVIG,
    NAB_PACLITAXEL,
    OSIMERTINIB,
    TRASTUZUMAB_EMTANSINE,
)
from app.integrations.bureau.fee_details import FeeDetailRecord
from app.integrations.bureau.sandbox_demo_data import FeaturedLine
from app.integrations.bureau.settlements import SHANGHAI, SettlementRecord

CLASS_A, CLASS_B, CLASS_C = "01", "02", "03"
REVERSAL_SHARE = 6  # about one bill in six has a returned item


@dataclass(frozen=True)
class Item:
    """A billable item of the sandbox hospitals: national list code, name, 收费项目类别, level and a
    typical unit price (fen) the units are counted from."""

    code: str
    name: str
    chrgitm_type: str
    level: str
    unit_fen: int


def _svc(code: str, name: str, chrgitm_type: str, unit_fen: int) -> Item:
    return Item(code, name, chrgitm_type, CLASS_A, unit_fen)


BED = _svc("001102000010000", "床位费(三人间)", "01", 3_000)
WARD_ROUND = _svc("001101000020000", "住院诊查费", "02", 1_500)
OUTPATIENT_VISIT = _svc("001101000010000", "门诊诊查费", "02", 2_000)
NURSING = _svc("001103000010000", "一级护理", "07", 2_800)
CT = _svc("002302000030000", "X线计算机体层(CT)平扫", "03", 22_000)
BLOOD_TEST = _svc("002501000010000", "血细胞分析(血常规)", "04", 2_000)
INFUSION = _svc("001200000010000", "静脉输液", "05", 1_000)
SURGERY = _svc("003107020040000", "腹腔镜下胆囊切除术", "06", 180_000)
SALINE = Item("XA12CXL001B002010100318", "氯化钠注射液(0.9%,250ml)", "09", CLASS_A, 350)
METFORMIN = Item("XA10BAE021A001010101442", "盐酸二甲双胍片", "09", CLASS_A, 1_200)
ASPIRIN = Item("XB01ACA056A001010102214", "阿司匹林肠溶片", "09", CLASS_A, 1_500)

CEFUROXIME = Item("XJ01DCT050B001010103012", "注射用头孢呋辛钠", "09", CLASS_B, 1_580)
ATORVASTATIN = Item("XC10AAA137A001010101235", "阿托伐他汀钙片", "09", CLASS_B, 2_800)
GEFITINIB = Item("XL01XEJ019A001010102235", "吉非替尼片", "09", CLASS_B, 54_700)
STAPLER = Item("C03131201000000201900000142", "一次性使用腔镜切割吻合器", "08", CLASS_B, 280_000)
CVC_KIT = Item("C02041103000000061300000114", "一次性使用中心静脉导管包", "08", CLASS_B, 65_000)

TROCAR = Item("C03040202000000105100000527", "一次性使用腹腔镜穿刺器(进口)", "08", CLASS_C, 12_000)
PIDOTIMOD = Item("XL03AXP025X001010201532", "匹多莫德口服溶液", "09", CLASS_C, 4_800)
PRIVATE_ROOM = Item("001102000050000", "单人病房床位费(超标准部分)", "01", CLASS_C, 10_000)
VITAMINS = Item("XA11JBF012B002010103318", "脂溶性维生素注射液(Ⅱ)", "09", CLASS_C, 3_200)
ENTERAL = Item("XV06DBZ001X001010102511", "肠内营养粉剂", "09", CLASS_C, 9_800)

_LISTED = {i.med_list_codg: i for i in DEMO_COMMERCIAL_ITEMS}


def _listed_item(code: str) -> Item:
    item = _LISTED[code]
    chrgitm_type = "08" if item.category == "医用耗材" else "09"
    return Item(code, item.name, chrgitm_type, CLASS_C, item.price_limit_fen or 10_000)


# By kind of care (settlements.care_kind_of; None = not 惠民保 care, e.g. 普通门诊).
_SERVICES = {
    "in_patient": (BED, WARD_ROUND, NURSING, CT, BLOOD_TEST, INFUSION, SALINE),
    "day_surgery": (WARD_ROUND, BLOOD_TEST, INFUSION, SALINE, SURGERY),
    "emergency": (WARD_ROUND, CT, BLOOD_TEST, INFUSION, SALINE),
    "chronic_outpatient": (OUTPATIENT_VISIT, BLOOD_TEST, METFORMIN, ASPIRIN),
    "special_drug": (OUTPATIENT_VISIT, BLOOD_TEST),
    None: (OUTPATIENT_VISIT, BLOOD_TEST, ASPIRIN),
}
_CLASS_B_DRUGS: dict[str | None, tuple[Item, ...]] = {
    "chronic_outpatient": (ATORVASTATIN,),
    "special_drug": (GEFITINIB,),
}
_OVER_LIMIT: dict[str | None, tuple[Item, ...]] = {
    "day_surgery": (STAPLER,),
    "in_patient": (STAPLER, CVC_KIT),
}
_SELF_PAID = {
    "in_patient": (PRIVATE_ROOM, VITAMINS, ENTERAL, TROCAR, _listed_item(ALBUMIN)),
    "day_surgery": (TROCAR, PRIVATE_ROOM),
    "emergency": (VITAMINS, ENTERAL, _listed_item(ALBUMIN), _listed_item(IVIG)),
    "chronic_outpatient": (ENTERAL, PIDOTIMOD),
    None: (PIDOTIMOD,),
}
_CANCER_SELF_PAID = (_listed_item(NAB_PACLITAXEL), VITAMINS)
# A special-drug visit's self-paid part: the listed special drug for its diagnosis.
_SPECIAL_DRUG_FOR = {
    "C34": Item(OSIMERTINIB, "甲磺酸奥希替尼片(80mg×30片)", "09", CLASS_C, 1_600_000),
    "C50": Item(TRASTUZUMAB_EMTANSINE, "注射用恩美曲妥珠单抗(100mg)", "09", CLASS_C, 1_150_000),
}


@dataclass
class _Draft:
    item: Item
    cnt: int
    pric_fen: int
    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())


def _rng(setl_id: str) -> random.Random:
    # sha256, not hash(): Python's str hash changes from one process to the next.
    return random.Random(int.from_bytes(hashlib.sha256(setl_id.encode()).digest()[:8], "big"))


def _split(amount: int, pieces: int, rng: random.Random) -> list[int]:
    """`amount` fen as `pieces` positive parts (fewer when amount is smaller) adding up to it."""
    pieces = max(1, min(pieces, amount))
    if pieces == 1:
        return [amount]
    weights = [rng.randint(1, 10) for _ in range(pieces)]
    parts = [max(1, amount * w // sum(weights)) for w in weights[:-1]]
    while sum(parts) >= amount:  # only when many parts were raised to 1 fen
        parts[parts.index(max(parts))] -= 1
    return [*parts, amount - sum(parts)]


def _units(total: int, unit_fen: int) -> tuple[int, int]:
    """(cnt, pric) with cnt x pric == total exactly: near total / unit price, dividing it."""
    guess = max(1, min(60, round(total / max(unit_fen, 1))))
    for cnt in range(guess, 0, -1):
        if total % cnt == 0:
            return cnt, total // cnt
    return 1, total  # pragma: no cover - cnt 1 always divides


def _line(item: Item, **parts: int) -> _Draft:
    parts = {name: value for name, value in parts.items() if value}
    total = sum(parts.values())
    cnt, pric = _units(total, item.unit_fen)
    return _Draft(item, cnt, pric, parts)


def plan_fee_lines(
    record: SettlementRecord,
    featured: tuple[FeaturedLine, ...] = (),
    fee_reversal: bool | None = None,
) -> list[FeeDetailRecord]:
    """The fee lines of one sandbox settlement (module docstring), reversal lines included, in
    feedetl_sn order. Raises ValueError when the featured lines exceed the self-paid part."""
    rng = _rng(record.setl_id)
    kind = record.care_kind
    inscp_left = record.inscp_scp_amt_fen
    drafts: list[_Draft] = []

    if record.overlmt_selfpay_fen:
        item = rng.choice(_OVER_LIMIT.get(kind, (CVC_KIT,)))
        share = min(inscp_left // 4, record.overlmt_selfpay_fen * 3)
        inscp_left -= share
        drafts.append(
            _line(item, overlmt_amt_fen=record.overlmt_selfpay_fen, inscp_scp_amt_fen=share)
        )
    if record.preselfpay_amt_fen:
        pieces = 1 if record.preselfpay_amt_fen < 5_000 else 2
        for part in _split(record.preselfpay_amt_fen, pieces, rng):
            item = rng.choice(_CLASS_B_DRUGS.get(kind, (CEFUROXIME, ATORVASTATIN)))
            share = min(part * 9, inscp_left // 3)
            inscp_left -= share
            drafts.append(_line(item, preselfpay_amt_fen=part, inscp_scp_amt_fen=share))
    if inscp_left:
        services = _SERVICES.get(kind, _SERVICES[None])
        chosen = rng.sample(services, min(len(services), rng.randint(2, 4)))
        for item, part in zip(chosen, _split(inscp_left, len(chosen), rng)):
            drafts.append(_line(item, inscp_scp_amt_fen=part))

    self_paid_left = record.fulamt_ownpay_amt_fen - sum(f.amount_fen for f in featured)
    if self_paid_left < 0:
        raise ValueError(f"featured lines of {record.setl_id} exceed its wholly self-paid part")
    for f in featured:
        item = Item(f.code, f.name, f.chrgitm_type, CLASS_C, f.pric_fen)
        drafts.append(_Draft(item, f.cnt, f.pric_fen, {"fulamt_ownpay_amt_fen": f.amount_fen}))
    if self_paid_left:
        special = _SPECIAL_DRUG_FOR.get(record.dise_codg[:3]) if kind == "special_drug" else None
        if special is not None and not featured:
            pool: tuple[Item, ...] = (special,)
        elif record.dise_codg.startswith("C"):
            pool = _CANCER_SELF_PAID
        else:
            pool = _SELF_PAID.get(kind, _SELF_PAID[None])
        # A featured item is billed once, on its own hand-set line.
        pool = tuple(i for i in pool if i.code not in {f.code for f in featured}) or (VITAMINS,)
        pieces = 1 if self_paid_left < 20_000 or len(pool) == 1 else 2
        for item, part in zip(rng.sample(pool, pieces), _split(self_paid_left, pieces, rng)):
            drafts.append(_line(item, fulamt_ownpay_amt_fen=part))

    lines = [_record(record, n, draft, len(drafts)) for n, draft in enumerate(drafts, start=1)]
    wants_reversal = (rng.randrange(REVERSAL_SHARE) == 0) if fee_reversal is None else fee_reversal
    if wants_reversal:
        lines = _with_returned_item(record, lines)
    return lines


def _record(record: SettlementRecord, n: int, draft: _Draft, count: int) -> FeeDetailRecord:
    stay = (record.enddate - record.begndate).days
    day = record.begndate + timedelta(days=stay * (n - 1) // max(count - 1, 1))
    return FeeDetailRecord(
        feedetl_sn=f"{record.setl_id}-{n:03d}",
        mdtrt_id=record.mdtrt_id,
        setl_id=record.setl_id,
        psn_no=record.psn_no,
        med_list_codg=draft.item.code,
        # The hospital's own code for the item: stable per hospital and item.
        medins_list_codg=f"{record.fixmedins_code[-5:]}-{zlib.crc32(draft.item.code.encode()) % 10**8:08d}",
        name=draft.item.name,
        med_chrgitm_type=draft.item.chrgitm_type,
        chrgitm_lv=draft.item.level,
        cnt=Decimal(draft.cnt),
        pric_fen=draft.pric_fen,
        det_item_fee_sumamt_fen=draft.total,
        fee_ocur_time=datetime.combine(day, time(8, 30), SHANGHAI) + timedelta(minutes=n),
        fulamt_ownpay_amt_fen=draft.parts.get("fulamt_ownpay_amt_fen", 0),
        overlmt_amt_fen=draft.parts.get("overlmt_amt_fen", 0),
        preselfpay_amt_fen=draft.parts.get("preselfpay_amt_fen", 0),
        inscp_scp_amt_fen=draft.parts.get("inscp_scp_amt_fen", 0),
    )


def _with_returned_item(
    record: SettlementRecord, lines: list[FeeDetailRecord]
) -> list[FeeDetailRecord]:
    """One unit of the first single-part line (all 甲类 in-policy or all 丙类 self-paid) billed
    more, then returned by a reversal line naming it. The net bill is unchanged."""
    for index, line in enumerate(lines):
        parts = [
            name
            for name in ("inscp_scp_amt_fen", "fulamt_ownpay_amt_fen")
            if getattr(line, name) == line.det_item_fee_sumamt_fen
        ]
        if not parts or line.chrgitm_lv == CLASS_B or line.pric_fen == 0:
            continue
        part, price = parts[0], line.pric_fen
        lines[index] = replace(
            line,
            cnt=line.cnt + 1,
            det_item_fee_sumamt_fen=line.det_item_fee_sumamt_fen + price,
            **{part: getattr(line, part) + price},
        )
        amounts = dict.fromkeys(
            ("fulamt_ownpay_amt_fen", "overlmt_amt_fen", "preselfpay_amt_fen", "inscp_scp_amt_fen"),
            0,
        )
        amounts[part] = -price
        reversal = replace(
            line,
            feedetl_sn=f"{record.setl_id}-{len(lines) + 1:03d}",
            cnt=Decimal(-1),
            det_item_fee_sumamt_fen=-price,
            fee_ocur_time=lines[-1].fee_ocur_time + timedelta(hours=1),
            init_feedetl_sn=line.feedetl_sn,
            fulamt_ownpay_amt_fen=amounts["fulamt_ownpay_amt_fen"],
            overlmt_amt_fen=amounts["overlmt_amt_fen"],
            preselfpay_amt_fen=amounts["preselfpay_amt_fen"],
            inscp_scp_amt_fen=amounts["inscp_scp_amt_fen"],
        )
        return [*lines, reversal]
    return lines
