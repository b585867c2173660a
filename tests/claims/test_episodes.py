"""Paid once (app/claims/episodes.py): same care episode and the supplement, table-driven.
Dates are 2026; "3-1..3-10" means care from 1 to 10 March inclusive."""

from __future__ import annotations

from datetime import date

import pytest

from app.claims.episodes import (
    EarlierClaim,
    EpisodeKey,
    normalise_hospital,
    same_episode,
    supplement_payable,
)

HOSP = "赣州市人民医院"


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def key(start, end, *, person="P1", hospital=HOSP, code=None, mdtrt=None) -> EpisodeKey:
    return EpisodeKey(person, start, end, hospital, code, mdtrt)


EARLIER = key(d(3, 1), d(3, 10))  # P1 at 赣州市人民医院, 3-1..3-10, no mdtrt_id


@pytest.mark.parametrize(
    ("new", "earlier", "reason"),
    [
        # same bureau visit id: same episode whatever the dates say
        (key(d(3, 1), d(3, 10), mdtrt="M1"), key(d(5, 1), d(5, 2), mdtrt="M1"), "same_mdtrt_id"),
        # both have ids, different: a readmission the next day is a new admission
        (key(d(3, 11), d(3, 12), mdtrt="M2"), key(d(3, 1), d(3, 10), mdtrt="M1"), None),
        # the new claim has an id, the earlier paper claim has none: dates decide (overlap)
        (key(d(3, 1), d(3, 10), mdtrt="M1"), EARLIER, "same_hospital_overlapping_dates"),
        # 3-5..3-6 lies inside 3-1..3-10
        (key(d(3, 5), d(3, 6)), EARLIER, "same_hospital_overlapping_dates"),
        # 3-10..3-15 shares the discharge day
        (key(d(3, 10), d(3, 15)), EARLIER, "same_hospital_overlapping_dates"),
        # 3-11 is the day after discharge on 3-10: adjacent (gap of 1 day)
        (key(d(3, 11), d(3, 12)), EARLIER, "same_hospital_adjacent_dates"),
        # ... and the other way round: the new care ends 2-28, the earlier starts 3-1
        (key(d(2, 20), d(2, 28)), EARLIER, "same_hospital_adjacent_dates"),
        # 3-12 leaves a free day (3-11) between: a different stay
        (key(d(3, 12), d(3, 13)), EARLIER, None),
        # another person, same hospital and dates
        (key(d(3, 1), d(3, 10), person="P2"), EARLIER, None),
        # another hospital
        (key(d(3, 1), d(3, 10), hospital="赣州市第五人民医院"), EARLIER, None),
        # the same hospital written with spaces and full-width brackets
        (
            key(d(3, 1), d(3, 10), hospital="赣州市 人民医院（南院）"),
            key(d(3, 1), d(3, 10), hospital="赣州市人民医院(南院)"),
            "same_hospital_overlapping_dates",
        ),
        # campuses are different hospitals
        (key(d(3, 1), d(3, 10), hospital="赣州市人民医院(南院)"), EARLIER, None),
        # institution codes decide when both have one, even if the names are written differently
        (
            key(d(3, 1), d(3, 10), hospital="市人民医院", code="H36070200001"),
            key(d(3, 1), d(3, 10), code="h36070200001"),
            "same_hospital_overlapping_dates",
        ),
        (
            key(d(3, 1), d(3, 10), code="H36070200001"),
            key(d(3, 1), d(3, 10), code="H36070200002"),
            None,
        ),
        # no hospital name at all on either: never matched on dates alone
        (key(d(3, 1), d(3, 10), hospital=""), key(d(3, 1), d(3, 10), hospital=""), None),
    ],
)
def test_same_episode(new, earlier, reason):
    matches = same_episode(new, [EarlierClaim("C1", earlier, 1000)])
    assert [m.reason for m in matches] == ([reason] if reason else [])


def test_same_episode_returns_every_match_in_order():
    earlier = [
        EarlierClaim("C1", key(d(3, 1), d(3, 5)), 10000),  # overlaps 3-4..3-12
        EarlierClaim("C2", key(d(4, 1), d(4, 2)), 5000),  # a later, separate stay
        EarlierClaim("C3", key(d(3, 13), d(3, 20)), 2000),  # starts the day after 3-12
    ]
    matches = same_episode(key(d(3, 4), d(3, 12)), earlier)
    assert [(m.claim.claim_id, m.reason) for m in matches] == [
        ("C1", "same_hospital_overlapping_dates"),
        ("C3", "same_hospital_adjacent_dates"),
    ]
    assert matches[0].message == "同一参保人、同一医院，就医日期重叠"
    # what was already paid on the episode: 100.00 + 20.00 yuan
    assert sum(m.claim.paid_fen for m in matches) == 12000


@pytest.mark.parametrize(
    ("paid", "recomputed", "supplement"),
    [
        (0, 50000, 50000),  # nothing paid yet: the whole 500.00
        (30000, 50000, 20000),  # 500.00 - 300.00 = 200.00 more
        (50000, 50000, 0),  # the same figure: nothing more
        (60000, 50000, 0),  # recomputed lower: never negative (no claw-back here)
    ],
)
def test_supplement_payable(paid, recomputed, supplement):
    assert supplement_payable(paid, recomputed) == supplement


@pytest.mark.parametrize(("paid", "recomputed"), [(-1, 0), (0, -1), (1.5, 2), (0, "3")])
def test_supplement_payable_refuses(paid, recomputed):
    with pytest.raises(ValueError):
        supplement_payable(paid, recomputed)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("赣州市人民医院", " 赣州市人民医院 ", True),
        ("赣州市人民医院（南院）", "赣州市人民医院(南院)", True),
        ("ＡＢＣ医院", "abc医院", True),  # full-width letters and case
        ("赣州市人民医院", "赣州市第五人民医院", False),
    ],
)
def test_normalise_hospital(a, b, equal):
    assert (normalise_hospital(a) == normalise_hospital(b)) is equal


@pytest.mark.parametrize(
    "kwargs",
    [
        {"person": " "},
        {"care_start": d(3, 2), "care_end": d(3, 1)},
        {"mdtrt_id": ""},
    ],
)
def test_episode_key_refuses(kwargs):
    base = {"person": "P1", "care_start": d(3, 1), "care_end": d(3, 1)}
    with pytest.raises(ValueError):
        EpisodeKey(**{**base, **kwargs})
