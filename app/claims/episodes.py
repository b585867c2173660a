"""Paid once: is a new claim the same care episode as an earlier one, and what is still owed.

Pure functions over frozen dataclasses (no Flask, no database). A claims service looks up the
person's earlier live claims (not rejected, not withdrawn), calls

    matches = same_episode(new_key, earlier)        # the earlier claims for the same care
    supplement_payable(paid_on_them, recomputed)    # pay only the difference, never negative

and, when something matched, treats the new claim as a supplement of that episode (recompute
the episode's whole payable with all its documents, pay the difference) instead of paying the
care a second time.

Rules (in this order; the first that applies decides):
 1. both claims carry the bureau's visit id (mdtrt_id): the same id is the same episode, a
    different id is a different one (a readmission the next day is a new admission);
 2. otherwise: the same person, the same hospital, and care dates that overlap or touch
    (the new claim starts at most ADJACENT_DAYS after the earlier one ends, or the other way
    round). The hospital is compared by its institution code when both claims have one, else
    by its normalised name (NFKC, no spaces or punctuation, upper case; see normalise_hospital).
    Two special-drug claims (care kind `special_drug`) are never one episode by this rule: each
    is one dispensing with its own invoice (two purchases at one pharmacy on one day are two
    purchases), and an invoice filed twice is the `duplicate_invoice` flag's business.
The person is always compared: a caller that passes someone else's claim gets no match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

SPECIAL_DRUG = "special_drug"  # a purchase at a pharmacy: one invoice, never a stay
ADJACENT_DAYS = 1  # discharge on the 10th and a claim starting the 11th are one stay

# Stable codes for why an earlier claim matched.
MATCH_REASONS = {
    "same_mdtrt_id": "同一医保就诊记录（mdtrt_id 相同）",
    "same_hospital_overlapping_dates": "同一参保人、同一医院，就医日期重叠",
    "same_hospital_adjacent_dates": "同一参保人、同一医院，就医日期相连",
}

_PUNCTUATION = re.compile(r"[\s\-_·.,，。、()（）\[\]【】<>《》\"'“”‘’]")


def normalise_hospital(name: str) -> str:
    """A hospital name in comparable form: '赣州市 人民医院（南院）' and '赣州市人民医院(南院)'
    compare equal. Campus names are kept: two campuses are two hospitals."""
    text = unicodedata.normalize("NFKC", name or "")
    return _PUNCTUATION.sub("", text).upper()


def _day(name: str, value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai), got {value!r}")


@dataclass(frozen=True)
class EpisodeKey:
    """What identifies a claim's care.

    person      who was cared for (the insured person's id in Huimin, or the bureau psn_no;
                the caller uses the same kind throughout)
    care_start, care_end   admission and discharge (or visit) dates, Asia/Shanghai, inclusive
    mdtrt_id    the bureau's visit id when the claim came from a settlement record
    hospital_name, hospital_code   the institution (fixmedins_name / fixmedins_code)
    care_kind   the claim's kind of care (in_patient, special_drug, ...), when known
    """

    person: str
    care_start: date
    care_end: date
    hospital_name: str = ""
    hospital_code: str | None = None
    mdtrt_id: str | None = None
    care_kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.person, str) or not self.person.strip():
            raise ValueError("person must be a non-empty string")
        _day("care_start", self.care_start)
        _day("care_end", self.care_end)
        if self.care_end < self.care_start:
            raise ValueError("care_end must not be before care_start")
        for name in ("hospital_code", "mdtrt_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty string or None")

    @property
    def hospital(self) -> str:
        return normalise_hospital(self.hospital_name)


@dataclass(frozen=True)
class EarlierClaim:
    """One of the person's earlier live claims."""

    claim_id: str
    key: EpisodeKey
    paid_fen: int = 0  # what has been paid (or approved for payment) on it


@dataclass(frozen=True)
class EpisodeMatch:
    claim: EarlierClaim
    reason: str  # a key of MATCH_REASONS

    @property
    def message(self) -> str:
        return MATCH_REASONS[self.reason]


def _same_hospital(a: EpisodeKey, b: EpisodeKey) -> bool:
    if a.hospital_code and b.hospital_code:
        return a.hospital_code.strip().upper() == b.hospital_code.strip().upper()
    return bool(a.hospital) and a.hospital == b.hospital


def episode_reason(new: EpisodeKey, earlier: EpisodeKey) -> str | None:
    """Why `earlier` is the same care episode as `new` (a MATCH_REASONS code), or None."""
    if new.person != earlier.person:
        return None
    if new.mdtrt_id and earlier.mdtrt_id:
        return "same_mdtrt_id" if new.mdtrt_id == earlier.mdtrt_id else None
    if new.care_kind == earlier.care_kind == SPECIAL_DRUG:
        return None  # each purchase is its own dispensing (see the module's rule 2)
    if not _same_hospital(new, earlier):
        return None
    if new.care_start <= earlier.care_end and earlier.care_start <= new.care_end:
        return "same_hospital_overlapping_dates"
    gap = timedelta(days=ADJACENT_DAYS)
    if (
        earlier.care_end < new.care_start <= earlier.care_end + gap
        or new.care_end < earlier.care_start <= new.care_end + gap
    ):
        return "same_hospital_adjacent_dates"
    return None


def same_episode(new: EpisodeKey, earlier: Iterable[EarlierClaim]) -> tuple[EpisodeMatch, ...]:
    """The earlier claims that are the same care episode as the new one, in the given order."""
    found = []
    for claim in earlier:
        reason = episode_reason(new, claim.key)
        if reason is not None:
            found.append(EpisodeMatch(claim, reason))
    return tuple(found)


def supplement_payable(previous_paid_fen: int, recomputed_total_fen: int) -> int:
    """What a supplement pays: the episode's recomputed total payable minus what was already
    paid on it, never negative (a recomputation that comes out lower never claws money back
    here; recovering an overpayment is a separate, reviewed step)."""
    for name, value in (
        ("previous_paid_fen", previous_paid_fen),
        ("recomputed_total_fen", recomputed_total_fen),
    ):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative integer number of fen, got {value!r}")
    return max(recomputed_total_fen - previous_paid_fen, 0)
