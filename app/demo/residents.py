"""A deterministic registry of synthetic residents (pure: no Flask, no database).

The first residents are the named showcase people the README walks through; the rest are drawn
from a seeded random generator so the registry covers the cases the product must handle:
employee and resident insurance, active and suspended, personal-account balances, special
identities (低保, 特困, 低收入, 防返贫监测, 优抚, 残疾), children under 14, people over 80, and a few
people insured outside the city. Every ID number has a valid check character.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.identity.idnumber import with_check_digit

CITY_AREAS = ["360702", "360703", "360704", "360722", "360723", "360781"]  # 赣州各区县
OUTSIDE_AREAS = ["360102", "440305"]  # 南昌东湖区, 深圳南山区
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢钟谭廖邱江"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞斌宇浩凯琳婷雪梅")


@dataclass(frozen=True)
class DemoResident:
    certno: str
    name: str
    gend: str
    brdy: date
    psn_no: str
    insutype: str  # 310 employee / 390 resident
    psn_insu_stas: str  # 1 active / 2 suspended
    paus_insu_date: date | None
    insuplc_admdvs: str
    balc_fen: int | None
    idet_types: list[str] = field(default_factory=list)
    note: str = ""
    # 1101 psn_insu_date: when the current insured period began (a reinstatement), else None.
    psn_insu_date: date | None = None


def _certno(area: str, born: date, seq: int, gend: str) -> str:
    # The 17th digit is odd for men, even for women.
    seq = seq % 1000
    if (seq % 2 == 1) != (gend == "1"):
        seq = (seq + 1) % 1000
    return with_check_digit(f"{area}{born:%Y%m%d}{seq:03d}")


def _showcase() -> list[DemoResident]:
    rows = [
        # name, gend, born, area, insutype, status, paused, balance fen, identities, note
        (
            "张伟",
            "1",
            date(1985, 3, 12),
            "360702",
            "310",
            "1",
            None,
            356_000,
            [],
            "demo member: employee, account 3,560.00 yuan",
        ),
        (
            "李娜",
            "2",
            date(1987, 8, 21),
            "360702",
            "390",
            "1",
            None,
            None,
            [],
            "spouse: resident insurance",
        ),
        ("张小宝", "1", date(2019, 6, 1), "360702", "390", "1", None, None, [], "child under 14"),
        (
            "张建国",
            "1",
            date(1942, 11, 5),
            "360703",
            "390",
            "1",
            None,
            None,
            ["2303"],
            "father over 80, low-income",
        ),
        (
            "王芳",
            "2",
            date(1970, 2, 14),
            "360704",
            "390",
            "2",
            date(2026, 3, 1),
            None,
            [],
            "basic insurance suspended",
        ),
        (
            "刘强",
            "1",
            date(1968, 9, 30),
            "360722",
            "390",
            "1",
            None,
            None,
            ["2301"],
            "低保 recipient",
        ),
        (
            "陈静",
            "2",
            date(1979, 4, 18),
            "360723",
            "310",
            "1",
            None,
            125_050,
            ["2501"],
            "disabled, employee",
        ),
        (
            "赵敏",
            "2",
            date(1990, 12, 3),
            "360102",
            "310",
            "1",
            None,
            480_000,
            [],
            "insured outside the city",
        ),
        (
            "孙丽",
            "2",
            date(1992, 7, 7),
            "360781",
            "310",
            "1",
            None,
            0,
            [],
            "employee with an empty account",
        ),
        (
            "周军",
            "1",
            date(1958, 1, 20),
            "360702",
            "390",
            "1",
            None,
            None,
            ["2401"],
            "entitled group (优抚)",
        ),
    ]
    residents = []
    for i, (name, gend, born, area, insutype, stas, paused, balc, idet, note) in enumerate(rows):
        residents.append(
            DemoResident(
                certno=_certno(area, born, 11 + i * 2, gend),
                name=name,
                gend=gend,
                brdy=born,
                psn_no=f"3607{990000000 + i:011d}",
                insutype=insutype,
                psn_insu_stas=stas,
                paus_insu_date=paused,
                insuplc_admdvs=area,
                balc_fen=balc,
                idet_types=idet,
                note=note,
            )
        )
    # Suspended from 2026-03-01 and insured again from 2026-05-20: the bureau now says active,
    # with both dates; care during the suspension is still not covered (insurance history).
    born, area, i = date(1983, 5, 9), "360702", len(residents)
    residents.append(
        DemoResident(
            certno=_certno(area, born, 11 + i * 2, "2"),
            name="黄秀英",
            gend="2",
            brdy=born,
            psn_no=f"3607{990000000 + i:011d}",
            insutype="310",
            psn_insu_stas="1",
            paus_insu_date=date(2026, 3, 1),
            insuplc_admdvs=area,
            balc_fen=86_000,
            note="employee, suspended 2026-03-01, reinstated 2026-05-20",
            psn_insu_date=date(2026, 5, 20),
        )
    )
    return residents


# The showcase people come first, then 230 generated ones.
def generate(count: int = 241, seed: int = 20231101) -> list[DemoResident]:
    rng = random.Random(seed)
    residents = _showcase()
    seen = {r.certno for r in residents}
    i = 0
    while len(residents) < count:
        i += 1
        roll = rng.random()
        if roll < 0.12:  # children under 14
            born = date(2026, 11, 1) - timedelta(days=rng.randint(60, 13 * 365))
        elif roll < 0.22:  # over 80
            born = date(1930, 1, 1) + timedelta(days=rng.randint(0, 15 * 365))
        else:
            born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 58 * 365))
        gend = rng.choice("12")
        area = rng.choice(OUTSIDE_AREAS) if rng.random() < 0.04 else rng.choice(CITY_AREAS)
        adult = (date(2026, 11, 23) - born).days >= 18 * 365
        employee = adult and born.year >= 1958 and rng.random() < 0.45
        insutype = "310" if employee else "390"
        suspended = rng.random() < 0.08
        paused = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600)) if suspended else None
        balc = (
            rng.choice([0, rng.randint(1, 80_000) * 10, rng.randint(1, 800_000)])
            if employee
            else None
        )
        idet = []
        for code, p in (
            ("2301", 0.06),
            ("2302", 0.03),
            ("2303", 0.06),
            ("2304", 0.03),
            ("2401", 0.03),
            ("2501", 0.05),
        ):
            if rng.random() < p:
                idet.append(code)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        certno = _certno(area, born, rng.randint(0, 999), gend)
        if certno in seen:
            continue
        seen.add(certno)
        residents.append(
            DemoResident(
                certno=certno,
                name=name,
                gend=gend,
                brdy=born,
                psn_no=f"3607{880000000 + i:011d}",
                insutype=insutype,
                psn_insu_stas="2" if suspended else "1",
                paus_insu_date=paused,
                insuplc_admdvs=area,
                balc_fen=balc,
                idet_types=idet,
            )
        )
    return residents
