"""The sandbox bureau's fixed demo data: the plan year, hospitals, diagnoses, the medical type
for each kind of care, and the showcase people's hand-set bills (`SHOWCASE_VISITS`), some with
hand-set wholly self-paid lines (`Visit.featured`) billing items of the demo product's
catalogues (app/catalogues/demo_data.py).

Pure data: sandbox_demo_plan.py turns it (and seeded-random bills for everyone else) into
settlement records with the rule in sandbox_split.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.catalogues.demo_data import (
    ABSORBABLE_CLIP,
    ACETYLCYSTEINE_INHALED,
    ALBUMIN,
    DEMO_COMMERCIAL_ITEMS,
    DEMO_SPECIAL_DRUGS,
    EDARAVONE_DEXBORNEOL,
    NAB_PACLITAXEL,
    OPHTHALMIC_VISCOELASTIC,
    OSIMERTINIB,
    PEMBROLIZUMAB,
)

PLAN_YEAR = 2026
# Demo settlements are all dated before this day (the demo "now" is late November 2026).
SEED_CUTOFF = date(2026, 11, 1)

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
    # 门诊慢特病: the demo products cover only N18.500 of these (their sandbox class-one list,
    # docs/adjudication.md); 2型糖尿病 and 高血压 (usually 二类) are not covered.
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


@dataclass(frozen=True)
class FeaturedLine:
    """A hand-set wholly self-paid (丙类) fee line of a showcase bill: list code, name, 医疗收费
    项目类别, units and unit price (fen). The sandbox bills it as it is and fills the rest of
    the bill around it (sandbox_fee_lines.py)."""

    code: str
    name: str
    chrgitm_type: str  # fee_details.MED_CHRGITM_TYPES
    cnt: int
    pric_fen: int

    @property
    def amount_fen(self) -> int:
        return self.cnt * self.pric_fen


_CATALOGUE_NAMES = {
    **{
        i.med_list_codg: (i.name, "08" if i.category == "医用耗材" else "09")
        for i in DEMO_COMMERCIAL_ITEMS
    },
    **{d.drug_code: (d.drug_name, "09") for d in DEMO_SPECIAL_DRUGS},
}


def _listed(code: str, cnt: int, pric_fen: int) -> FeaturedLine:
    """A featured line of an item on the demo catalogues, named as the catalogue names it."""
    name, chrgitm_type = _CATALOGUE_NAMES[code]
    return FeaturedLine(code, name, chrgitm_type, cnt, pric_fen)


@dataclass(frozen=True)
class Visit:
    """One bill before the split: dates, an index into HOSPITALS, diagnosis, amounts in fen."""

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
    # Hand-set 丙类 lines (their sum at most fulamt_fen); the sandbox fills the rest.
    featured: tuple[FeaturedLine, ...] = ()
    # A returned item (a reversal line) on the bill: True / False, or None to let the sandbox
    # decide from the settlement id.
    fee_reversal: bool | None = None


def _dx(kind: str, i: int) -> tuple[str, str]:
    return DIAGNOSES[kind][i]


# app.demo.residents numbers the showcase people 3607 00990000000 + i, the rest 3607 00880000000 + i.
SHOWCASE_PSN_PREFIX = "36070099"
# The showcase people the README walks through, by name, with hand-set bills. 张伟's stroke
# admission was settled, reversed by the hospital (a billing correction) and settled again.
SHOWCASE_VISITS: dict[str, list[Visit]] = {
    # Suspended 2026-03-01 .. 2026-05-19: the April stay was not settled with basic insurance
    # and is not covered; the June stay is.
    "黄秀英": [
        Visit(
            1,
            "21",
            date(2026, 4, 1),
            date(2026, 4, 6),
            0,
            _dx("in_patient", 2),
            6_200_000,
            600_000,
            0,
            250_000,
        ),
        Visit(
            2,
            "21",
            date(2026, 6, 1),
            date(2026, 6, 8),
            1,
            _dx("in_patient", 3),
            9_400_000,
            900_000,
            0,
            380_000,
        ),
    ],
    "张伟": [
        Visit(
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
            # 3 clips at 320 yuan: on the commercial list, 20 yuan a clip above its price limit
            featured=(_listed(ABSORBABLE_CLIP, 3, 32_000),),
        ),
        Visit(
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
            featured=(
                _listed(EDARAVONE_DEXBORNEOL, 30, 36_000),
                _listed(ALBUMIN, 2, 50_000),
            ),
        ),
        Visit(
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
            # 30 vials where the list allows 28; albumin at 500 yuan where it allows 450; and a
            # returned item, which the bureau nets out of the lines it reports.
            featured=(
                _listed(EDARAVONE_DEXBORNEOL, 30, 36_000),
                _listed(ALBUMIN, 1, 50_000),
            ),
            fee_reversal=True,
        ),
    ],
    "李娜": [
        Visit(
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
            featured=(_listed(OPHTHALMIC_VISCOELASTIC, 1, 32_000),),
        ),
        Visit(
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
        Visit(
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
            featured=(_listed(ACETYLCYSTEINE_INHALED, 10, 2_600),),
        ),
    ],
    "张建国": [
        Visit(
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
            # a special drug that needs an approval, and a listed chemotherapy drug above its
            # price limit (1,280 yuan a vial, 1,200 allowed)
            featured=(
                _listed(PEMBROLIZUMAB, 1, 1_791_800),
                _listed(NAB_PACLITAXEL, 4, 128_000),
            ),
        ),
        Visit(
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
            # the whole self-paid part: 2 boxes of a listed special drug at a designated place
            featured=(_listed(OSIMERTINIB, 2, 1_600_000),),
        ),
        Visit(
            3,
            "14",
            date(2026, 8, 11),
            date(2026, 8, 11),
            2,
            # 慢性肾脏病5期 N18.500: a class-one chronic condition on the demo product's (sandbox)
            # list, after the January stay met his deductible: a paid chronic out-patient visit.
            # 李娜's 2型糖尿病 visit (E11.900) is not on the list: not covered.
            _dx("chronic_outpatient", 2),
            45_620,
            3_000,
            0,
            1_800,
        ),
    ],
    "王芳": [
        # Before her basic insurance was suspended (2026-03-01) ...
        Visit(
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
        Visit(
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
        Visit(
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
        Visit(
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
        Visit(
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
