"""Inputs and outputs of the adjudication engine, as frozen dataclasses (no Flask, no database).

Money is integer fen everywhere; dates are Asia/Shanghai calendar dates (`datetime.date`, never a
`datetime`: the caller converts a timestamp with app.common.clock.SHANGHAI first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import date, datetime
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeVar

from app.products.definition import CARE_KINDS, COUNTABLE_AMOUNTS

K = TypeVar("K")  # an accumulator key: a bucket or deductible code, or a SubCapKey

HEALTH_STATUSES = ("healthy", "pre_existing")
BASIC_INSURANCE_STATUSES = ("active", "suspended")
POLICY_STATUSES = ("active", "surrendered", "void")  # as app.policies.models
DECISIONS = ("payable", "not_payable", "review")
UNITEMISED = "*"  # the item key of an amount that has no itemised line


# --- validation helpers ---------------------------------------------------------------------------


def _fen(name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be a non-negative integer number of fen, got {value!r}")


def _day(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai), got {value!r}")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _kind(name: str, value: object) -> None:
    """A built-in amount kind, or one a product declares (its [amount_kinds] code)."""
    if value in COUNTABLE_AMOUNTS:
        return
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_]{1,40}", value):
        raise ValueError(f"{name} must be an amount kind code, got {value!r}")


# --- the claim ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimLine:
    """One itemised line of the member's own money (an itemised bill / prescription line).

    `amount_kind` says which of the claim's amounts this line itemises (normally
    out_of_policy_self_pay or special_drugs). `item_code` identifies the item (drug, implant,
    service) for per-item sub-caps; lines with the same code are the same item.
    """

    item_code: str
    amount_fen: int
    on_commercial_list: bool
    amount_kind: str = "out_of_policy_self_pay"
    name: str = ""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.item_code, str)
            or not self.item_code
            or self.item_code == UNITEMISED
        ):
            raise ValueError(
                f"item_code must be a non-empty string other than "
                f"{UNITEMISED!r}, got {self.item_code!r}"
            )
        _fen("amount_fen", self.amount_fen)
        if type(self.on_commercial_list) is not bool:
            raise ValueError("on_commercial_list must be True or False")
        _kind("amount_kind", self.amount_kind)


@dataclass(frozen=True)
class Claim:
    """One settlement (the bureau's 2207/5203 shape), all amounts in fen.

    medfee_sumamt_fen   total cost of the care (medfee_sumamt)
    hifp_pay_fen        paid by basic insurance (hifp_pay)
    hifmi_pay_fen       paid by resident critical-illness insurance (hifmi_pay)
    hifob_pay_fen       paid by employee large-amount insurance (hifob_pay)
    maf_pay_fen         paid by medical assistance (maf_pay)
    in_policy_self_pay_fen      the member's in-policy self-pay (incl. the basic deductible and
                                co-pay) as left after basic and critical-illness insurance and
                                BEFORE medical assistance
    out_of_policy_self_pay_fen  the member's out-of-policy self-pay (fulamt_ownpay_amt)
    special_drugs_fen           the member's own money for special drugs (特药)
    proton_heavy_ion_fen        the member's own money for proton / heavy-ion therapy
    other_amounts_fen           kinds a product declares beyond these four (CAR-T ...), kind -> fen
    The member amounts are disjoint: a yuan of special drugs is not also in the
    out-of-policy figure.
    lines         itemised lines (an amount kind with at least one line is "itemised")
    admission_id  the admission (mdtrt_id) for per-admission sub-caps
    diagnosis_code, diagnosis_name  ICD-10 dise_codg (None: unknown) and dise_name (chronic.py)
    """

    care_kind: str
    care_date: date
    medfee_sumamt_fen: int
    hifp_pay_fen: int = 0
    hifmi_pay_fen: int = 0
    hifob_pay_fen: int = 0
    maf_pay_fen: int = 0
    in_policy_self_pay_fen: int = 0
    out_of_policy_self_pay_fen: int = 0
    special_drugs_fen: int = 0
    proton_heavy_ion_fen: int = 0
    other_amounts_fen: Mapping[str, int] = field(default_factory=dict)
    lines: tuple[ClaimLine, ...] = ()
    admission_id: str | None = None
    diagnosis_code: str | None = None
    diagnosis_name: str = ""

    def __post_init__(self) -> None:
        _choice("care_kind", self.care_kind, CARE_KINDS)
        if not isinstance(self.diagnosis_code, str | None) or type(self.diagnosis_name) is not str:
            raise ValueError("diagnosis_code must be a string or None, diagnosis_name a string")
        _day("care_date", self.care_date)
        for name in (
            "medfee_sumamt_fen",
            "hifp_pay_fen",
            "hifmi_pay_fen",
            "hifob_pay_fen",
            "maf_pay_fen",
            "in_policy_self_pay_fen",
            "out_of_policy_self_pay_fen",
            "special_drugs_fen",
            "proton_heavy_ion_fen",
        ):
            _fen(name, getattr(self, name))
        for kind in self.other_amounts_fen:
            if kind in COUNTABLE_AMOUNTS:
                raise ValueError(f"{kind} has its own field, not other_amounts_fen")
        object.__setattr__(
            self,
            "other_amounts_fen",
            _frozen_map("other_amounts_fen", self.other_amounts_fen, _kind_key),
        )
        object.__setattr__(self, "lines", tuple(self.lines))
        for line in self.lines:
            if not isinstance(line, ClaimLine):
                raise ValueError("lines must be ClaimLine instances")
        if self.admission_id is not None and (
            not isinstance(self.admission_id, str) or not self.admission_id
        ):
            raise ValueError("admission_id must be a non-empty string or None")

    def amount(self, kind: str) -> int:
        """The member amount of one kind (COUNTABLE_AMOUNTS, or one a product declares)."""
        if kind in COUNTABLE_AMOUNTS:
            amount: int = getattr(self, f"{kind}_fen")
            return amount
        _kind("kind", kind)
        return self.other_amounts_fen.get(kind, 0)

    def lines_of(self, kind: str) -> tuple[ClaimLine, ...]:
        return tuple(line for line in self.lines if line.amount_kind == kind)


# --- the policy and the insured -------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyCover:
    """The insured person's policy: its own coverage dates (inclusive) and status."""

    coverage_starts: date
    coverage_ends: date
    status: str = "active"

    def __post_init__(self) -> None:
        _day("coverage_starts", self.coverage_starts)
        _day("coverage_ends", self.coverage_ends)
        _choice("status", self.status, POLICY_STATUSES)

    def covers(self, day: date) -> bool:
        return self.coverage_starts <= day <= self.coverage_ends


@dataclass(frozen=True)
class BasicInsurance:
    """Basic medical insurance status as the bureau reports it for the date of care.

    `status` is the status on the date of care (psn_insu_stas). When a suspension interval
    (paus_insu_date ... restoration, inclusive; open-ended when `suspended_until` is None) is
    known, it decides: care inside it is in a suspension even if the status has since been
    restored, care outside it is not. Without an interval, `status` decides.
    """

    status: str = "active"
    suspended_from: date | None = None
    suspended_until: date | None = None

    def __post_init__(self) -> None:
        _choice("status", self.status, BASIC_INSURANCE_STATUSES)
        _day("suspended_from", self.suspended_from, optional=True)
        _day("suspended_until", self.suspended_until, optional=True)
        if self.suspended_until is not None and self.suspended_from is None:
            raise ValueError("suspended_until needs suspended_from")

    def suspended_on(self, day: date) -> bool:
        if self.suspended_from is not None:
            return self.suspended_from <= day and (
                self.suspended_until is None or day <= self.suspended_until
            )
        return self.status == "suspended"


class _StatusOnDate(Protocol):
    @property
    def status(self) -> str: ...  # active | suspended | unknown

    @property
    def period(self) -> Any: ...  # the period that answered, None when nothing did


class InsuranceHistoryLike(Protocol):
    """What basic_insurance_on reads of app.identity.periods.InsuranceHistory, named here as a
    protocol so the pure engine imports nothing of identity's package."""

    def status_on(self, day: date, insutype: str | None = None) -> _StatusOnDate: ...

    def suspended_run(self, period: Any) -> tuple[date | None, date | None]: ...


def basic_insurance_on(
    history: InsuranceHistoryLike, day: date, insutype: str | None = None
) -> BasicInsurance | None:
    """The engine's BasicInsurance for a date of care from a person's insurance history
    (app/identity/periods.py); None when the status is unknown (the caller holds the claim for
    a person or asks the bureau again). A suspension carries its whole run of suspended days
    as the interval. Here, not in identity: the engine is above identity, which knows only
    statuses and how they were known."""
    answer = history.status_on(day, insutype)
    if answer.status == "unknown" or answer.period is None:
        return None
    if answer.status == "active":
        return BasicInsurance("active")
    starts, ends = history.suspended_run(answer.period)
    return BasicInsurance("suspended", starts, ends)


@dataclass(frozen=True)
class Insured:
    """The person cared for: basic insurance on the date of care, the pre-existing
    determination (healthy | pre_existing) and continuous healthy renewal years."""

    basic_insurance: BasicInsurance = field(default_factory=BasicInsurance)
    health: str = "healthy"
    healthy_renewal_years: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.basic_insurance, BasicInsurance):
            raise ValueError("basic_insurance must be a BasicInsurance")
        _choice("health", self.health, HEALTH_STATUSES)
        if type(self.healthy_renewal_years) is not int or self.healthy_renewal_years < 0:
            raise ValueError("healthy_renewal_years must be a non-negative integer")


# --- accumulators ---------------------------------------------------------------------------------


class SubCapKey(NamedTuple):
    """Which sub-cap counter: bucket code, sub-cap code, and the scope within it — the item code
    (per item; "*" for an un-itemised amount), the admission id (per admission) or "" (per year)."""

    bucket: str
    sub_cap: str
    scope: str


def _frozen_map(
    name: str, value: Mapping[K, int], key_check: Callable[[K], object]
) -> MappingProxyType[K, int]:
    data = dict(value)
    for key, amount in data.items():
        key_check(key)
        _fen(f"{name}[{key!r}]", amount)
    return MappingProxyType(data)


def _kind_key(key: object) -> None:
    _kind("other_amounts_fen key", key)


def _str_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"accumulator keys must be non-empty strings, got {key!r}")


def _sub_cap_key(key: object) -> None:
    if not isinstance(key, tuple) or len(key) != 3 or not all(isinstance(p, str) for p in key):
        raise ValueError(f"sub-cap keys must be (bucket, sub_cap, scope), got {key!r}")


@dataclass(frozen=True)
class _Ledger:
    paid_fen: Mapping[str, int] = field(default_factory=dict)  # bucket -> fen
    eligible_fen: Mapping[str, int] = field(default_factory=dict)  # bucket -> fen
    deductible_used_fen: Mapping[str, int] = field(default_factory=dict)  # deductible key -> fen
    sub_cap_used_fen: Mapping[SubCapKey, int] = field(default_factory=dict)
    # bucket -> eligible spend above the deductible (kept for buckets with tiers_from =
    # "above_deductible" only)
    above_deductible_fen: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paid_fen", _frozen_map("paid_fen", self.paid_fen, _str_key))
        object.__setattr__(
            self,
            "above_deductible_fen",
            _frozen_map("above_deductible_fen", self.above_deductible_fen, _str_key),
        )
        object.__setattr__(
            self, "eligible_fen", _frozen_map("eligible_fen", self.eligible_fen, _str_key)
        )
        object.__setattr__(
            self,
            "deductible_used_fen",
            _frozen_map("deductible_used_fen", self.deductible_used_fen, _str_key),
        )
        subs = {
            SubCapKey(*key) if isinstance(key, tuple) and len(key) == 3 else key: amount
            for key, amount in dict(self.sub_cap_used_fen).items()
        }
        object.__setattr__(
            self, "sub_cap_used_fen", _frozen_map("sub_cap_used_fen", subs, _sub_cap_key)
        )


@dataclass(frozen=True)
class Accumulators(_Ledger):
    """What the person/policy year has used so far (read before the claim).

    paid_fen             bucket code -> paid so far this year (for the annual cap)
    eligible_fen         bucket code -> eligible spend counted so far this year (for tiers;
                         includes spend absorbed by the deductible)
    deductible_used_fen  deductible key -> deductible used so far; the key is the bucket's
                         deductible_group, or the bucket code when it has none
    sub_cap_used_fen     SubCapKey(bucket, sub_cap, scope) -> paid against that sub-cap so far
    """

    def apply(self, deltas: AccumulatorDeltas) -> Accumulators:
        """These accumulators plus the deltas of one claim (a pure helper; the database caller
        applies the same deltas in one transaction)."""

        def plus(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
            out = dict(a)
            for key, amount in b.items():
                out[key] = out.get(key, 0) + amount
            return out

        return Accumulators(
            paid_fen=plus(self.paid_fen, deltas.paid_fen),
            eligible_fen=plus(self.eligible_fen, deltas.eligible_fen),
            deductible_used_fen=plus(self.deductible_used_fen, deltas.deductible_used_fen),
            sub_cap_used_fen=plus(self.sub_cap_used_fen, deltas.sub_cap_used_fen),
            above_deductible_fen=plus(self.above_deductible_fen, deltas.above_deductible_fen),
        )


@dataclass(frozen=True)
class AccumulatorDeltas(_Ledger):
    """What one claim adds to the accumulators (only non-zero entries). The caller applies them
    atomically together with recording the claim's payment, and only when the claim is settled
    (decision "payable", or "review" once a reviewer approves the figures)."""

    @classmethod
    def computed(
        cls,
        paid: dict[str, int],
        eligible: dict[str, int],
        deductible: dict[str, int],
        sub_caps: dict[SubCapKey, int],
        above: dict[str, int],
    ) -> AccumulatorDeltas:
        """Deltas the engine has just computed (non-negative ints under its own keys, SubCapKey
        for sub-caps, dicts it hands over): taken as they are, without the checks that
        __init__ makes of anything given from outside."""
        deltas = cls.__new__(cls)
        fields = deltas.__dict__
        fields["paid_fen"] = MappingProxyType(paid)
        fields["eligible_fen"] = MappingProxyType(eligible)
        fields["deductible_used_fen"] = MappingProxyType(deductible)
        fields["sub_cap_used_fen"] = MappingProxyType(sub_caps)
        fields["above_deductible_fen"] = MappingProxyType(above)
        return deltas

    @property
    def is_empty(self) -> bool:
        return not (
            self.paid_fen
            or self.eligible_fen
            or self.deductible_used_fen
            or self.sub_cap_used_fen
            or self.above_deductible_fen
        )


# --- output ---------------------------------------------------------------------------------------


class Explanation:
    """One line of the explanation shown to the member and the reviewer: a reason code, its
    Chinese and English text, and the bucket it is about.

    Immutable, compared by value like the frozen dataclass it was. The engine writes its lines
    with `render` (a function giving (zh, en)): the text is formatted on first read, so a claim
    whose lines nobody reads (an estimate, a benchmark, the engine's own decision) costs no
    formatting. The figures a render uses are fixed when the line is written (ints, strings and
    frozen values, copied where mutable), so the text is the same whenever it is read."""

    __slots__ = ("_en", "_render", "_zh", "bucket", "code")
    code: str
    bucket: str | None
    _zh: str | None
    _en: str | None
    _render: Callable[[], tuple[str, str]] | None

    def __init__(
        self,
        code: str,
        zh: str | None = None,
        en: str | None = None,
        bucket: str | None = None,
        *,
        render: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        if render is None and (zh is None or en is None):
            raise TypeError("an explanation needs its text (zh and en) or a render")
        _set = object.__setattr__
        _set(self, "code", code)
        _set(self, "bucket", bucket)
        _set(self, "_zh", zh)
        _set(self, "_en", en)
        _set(self, "_render", render)

    def _text(self) -> tuple[str, str]:
        if self._zh is None or self._en is None:
            assert self._render is not None
            zh, en = self._render()
            object.__setattr__(self, "_zh", zh)
            object.__setattr__(self, "_en", en)
            object.__setattr__(self, "_render", None)
        assert self._zh is not None and self._en is not None
        return self._zh, self._en

    @property
    def zh(self) -> str:
        return self._text()[0]

    @property
    def en(self) -> str:
        return self._text()[1]

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[str, str, str, str | None]:
        zh, en = self._text()
        return (self.code, zh, en, self.bucket)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        code, zh, en, bucket = self._key()
        return f"Explanation(code={code!r}, zh={zh!r}, en={en!r}, bucket={bucket!r})"


@dataclass(frozen=True)
class BucketResult:
    """How one bucket was computed for this claim.

    counted_fen          the member's money counted in the bucket (added to eligible spend)
    excluded_fen         the member's money mapped to the bucket but not counted (not on the
                         commercial list, or the list could not be verified)
    deductible_fen       part of counted_fen absorbed by the deductible
    ratio_numerator      exact ratio result in 1/10,000 fen (fen x basis points), before rounding
    after_ratio_fen      ratio result rounded (ROUND_HALF_UP)
    after_sub_caps_fen   after per-item, per-admission and per-year sub-caps
    payable_fen          after the annual cap: what this bucket pays
    """

    bucket: str
    name: str
    counted_fen: int
    excluded_fen: int
    deductible_fen: int
    ratio_numerator: int
    after_ratio_fen: int
    after_sub_caps_fen: int
    payable_fen: int

    @classmethod
    def computed(
        cls,
        bucket: str,
        name: str,
        counted_fen: int,
        excluded_fen: int,
        deductible_fen: int,
        ratio_numerator: int,
        after_ratio_fen: int,
        after_sub_caps_fen: int,
        payable_fen: int,
    ) -> BucketResult:
        """The same as BucketResult(...), made the engine's way: its fields set in one step
        rather than one frozen-attribute call each (a third of the time, once per bucket)."""
        result = cls.__new__(cls)
        result.__dict__.update(
            bucket=bucket,
            name=name,
            counted_fen=counted_fen,
            excluded_fen=excluded_fen,
            deductible_fen=deductible_fen,
            ratio_numerator=ratio_numerator,
            after_ratio_fen=after_ratio_fen,
            after_sub_caps_fen=after_sub_caps_fen,
            payable_fen=payable_fen,
        )
        return result


@dataclass(frozen=True)
class Adjudication:
    """The result. decision: payable (pay payable_fen, apply deltas) | not_payable (nothing to
    pay or apply) | review (figures computed as if the claim's amounts are right; hold for a
    reviewer, apply the deltas only if approved).

    The engine builds its result with `written`: the lines stay the plain tuples the engine
    wrote (explain.py) until `lines` is first read, which makes their Explanation objects (their
    text is formatted when read in turn). Constructed directly, it takes its lines as given."""

    decision: str
    payable_fen: int
    buckets: tuple[BucketResult, ...]
    lines: tuple[Explanation, ...]
    reason_codes: tuple[str, ...]
    deltas: AccumulatorDeltas

    @classmethod
    def written(
        cls,
        decision: str,
        payable_fen: int,
        buckets: tuple[BucketResult, ...],
        written: list[tuple[str, str | None, Callable[..., tuple[str, str]], tuple[Any, ...]]],
        reason_codes: tuple[str, ...],
        deltas: AccumulatorDeltas,
    ) -> Adjudication:
        """The engine's result, its lines as written: (code, bucket, text, args) with
        text(*args) giving (zh, en)."""
        result = cls.__new__(cls)
        fields = result.__dict__
        fields["decision"] = decision
        fields["payable_fen"] = payable_fen
        fields["buckets"] = buckets
        fields["reason_codes"] = reason_codes
        fields["deltas"] = deltas
        fields["_written"] = tuple(written)
        return result

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute not set: `lines` of a result built by `written`.
        written = self.__dict__.get("_written")
        if name != "lines" or written is None:
            raise AttributeError(name)
        lines = tuple(
            Explanation(code, bucket=bucket, render=partial(text, *args))
            for code, bucket, text, args in written
        )
        self.__dict__["lines"] = lines
        return lines
