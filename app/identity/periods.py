"""Basic-insurance status as history: which periods a person was active or suspended in, built
from every bureau 1101 answer seen, so a claim is judged on the status on the DATE OF CARE and a
past suspension still counts after the person has been reinstated.

Pure functions over frozen dataclasses (no Flask, no database). The caller stores each 1101
`insuinfo` row it receives with the Shanghai date it was received on (observed_on), and asks

    history = build_history(observations)
    history.status_on(date_of_care)             # StatusOnDate: active | suspended | unknown
    history.suspended_run(period)               # the whole run of suspended days around it

(The claim engine's BasicInsurance is built from these in app/adjudication/model.py,
`basic_insurance_on`: identity is the bottom capability and knows nothing of the engine.)

What one answer says (psn_insu_stas 1 正常参保 active, 2 暂停参保 suspended, 4 终止参保 ended,
treated as suspended: no benefit either way):
  - active:    active from the begin date (psn_insu_date) if given, else on observed_on only,
               through observed_on; with a pause date before the begin date it also says the
               person was suspended from the pause date to the day before the begin date;
  - suspended: suspended from paus_insu_date if given, else on observed_on only, through
               observed_on.
A day the bureau answered for (an observed_on) is certain. A begin or pause date that reaches
back over a day the bureau answered differently for is not believed (a begin date reported
after a reinstatement is often the first-ever insured date): that answer then speaks for its
own day only. Where two answers still cover one day, the later answer wins.

Days no answer covers are filled from the answers on each side (L before, R after):
  - R has a dated start (begin / pause date) and a different status from L: L lasted until
    R began                                                      -> L's status, "inferred";
  - R has a dated start and the same status as L: the status changed and changed back at
    unknown dates                                                -> unknown, "changed_in_between";
  - R has no dated start, same status as L: nothing says it changed -> L's status, "presumed";
  - R has no dated start, different status: changed on an unknown day -> unknown.
Before the first answer: unknown ("no_answer"). After the last: the last status, basis
"carried_forward" (the caller should ask the bureau again when that is not good enough).

Example (the reason this exists): suspended since 2026-03-01 (answer of 2026-03-05), active again
with begin date 2026-05-20 (answer of 2026-06-10): care on 2026-04-01 -> suspended ("inferred"),
care on 2026-05-25 -> active ("stated"), care on 2026-02-01 -> unknown (no answer reaches back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

STATUS_CODES = {"1": "active", "2": "suspended", "4": "suspended"}  # psn_insu_stas -> status
STATUSES = ("active", "suspended", "unknown")
# How a status was arrived at, strongest first.
BASES = ("stated", "inferred", "presumed", "carried_forward", "changed_in_between", "no_answer")

ONE_DAY = timedelta(days=1)


def _day(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai), got {value!r}")


@dataclass(frozen=True)
class InsuranceObservation:
    """One 1101 `insuinfo` row as received on `observed_on` (an Asia/Shanghai date).

    begin_date: the start of the current insured period (1101 psn_insu_date) when the bureau
    gives one; paus_insu_date: the start of the suspension."""

    insutype: str  # 310 employee | 390 resident | another bureau code
    psn_insu_stas: str  # 1 | 2 | 4
    observed_on: date
    paus_insu_date: date | None = None
    begin_date: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.insutype, str) or not self.insutype.strip():
            raise ValueError("insutype must be a non-empty string")
        if self.psn_insu_stas not in STATUS_CODES:
            raise ValueError(f"psn_insu_stas must be one of 1, 2, 4, got {self.psn_insu_stas!r}")
        _day("observed_on", self.observed_on)
        _day("paus_insu_date", self.paus_insu_date, optional=True)
        _day("begin_date", self.begin_date, optional=True)

    @property
    def status(self) -> str:
        return STATUS_CODES[self.psn_insu_stas]


def _parse_day(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])  # "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"


def from_insuinfo(row: Mapping[str, object], observed_on: date) -> InsuranceObservation:
    """An observation from one raw 1101 insuinfo row (insutype, psn_insu_stas, paus_insu_date,
    psn_insu_date; dates as date or 'YYYY-MM-DD[ HH:MM:SS]', empty for none)."""
    return InsuranceObservation(
        insutype=str(row.get("insutype") or "").strip(),
        psn_insu_stas=str(row.get("psn_insu_stas") or "").strip(),
        observed_on=observed_on,
        paus_insu_date=_parse_day(row.get("paus_insu_date")),
        begin_date=_parse_day(row.get("psn_insu_date")),
    )


@dataclass(frozen=True)
class InsurancePeriod:
    """A stretch of days with one status. starts None: since forever; ends None: from then on
    (both inclusive)."""

    insutype: str
    status: str  # active | suspended | unknown
    starts: date | None
    ends: date | None
    basis: str  # one of BASES

    def contains(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and (
            self.ends is None or day <= self.ends
        )


@dataclass(frozen=True)
class StatusOnDate:
    status: str  # active | suspended | unknown
    basis: str
    insutype: str | None
    period: InsurancePeriod | None


@dataclass
class _Statement:
    order: int  # later observations have higher orders
    status: str  # active | suspended
    start: date
    end: date
    start_known: bool  # start came from a begin / pause date
    witnessed: date | None  # the day the bureau answered, None for an inferred statement


def _statements(observations: list[InsuranceObservation]) -> list[_Statement]:
    statements: list[_Statement] = []
    for i, obs in enumerate(observations):
        seen = obs.observed_on
        start: date = seen
        if obs.status == "active":
            known = obs.begin_date is not None and obs.begin_date <= seen
            if obs.begin_date is not None and known:
                start = obs.begin_date
            if known and obs.paus_insu_date is not None and obs.paus_insu_date < start:
                # Suspended from the pause date until the new insured period began.
                statements.append(
                    _Statement(2 * i, "suspended", obs.paus_insu_date, start - ONE_DAY, True, None)
                )
        else:
            known = obs.paus_insu_date is not None and obs.paus_insu_date <= seen
            if obs.paus_insu_date is not None and known:
                start = obs.paus_insu_date
        statements.append(_Statement(2 * i + 1, obs.status, start, seen, known, seen))
    # A start date reaching back over a day the bureau answered differently for is not believed.
    witnessed = [s for s in statements if s.witnessed is not None]
    kept: list[_Statement] = []
    for s in statements:
        for w in witnessed:
            assert w.witnessed is not None  # (witnessed holds only those)
            if w.order < s.order and w.status != s.status and s.start <= w.witnessed <= s.end:
                if s.witnessed is None:
                    s.start = s.end + ONE_DAY  # an inferred statement falls away
                    break
                s.start, s.start_known = s.witnessed, False
        if s.start <= s.end:
            kept.append(s)
    return kept


def _gap_status(left: _Statement, right: _Statement) -> tuple[str, str]:
    if right.start_known:
        if left.status != right.status:
            return left.status, "inferred"
        return "unknown", "changed_in_between"
    if left.status == right.status:
        return left.status, "presumed"
    return "unknown", "changed_in_between"


def _periods(
    insutype: str, observations: list[InsuranceObservation]
) -> tuple[InsurancePeriod, ...]:
    statements = _statements(observations)
    bounds = sorted({s.start for s in statements} | {s.end + ONE_DAY for s in statements})
    segments: list[tuple[date, date, _Statement | None]] = []
    for a, b in zip(bounds, bounds[1:]):
        covering = [s for s in statements if s.start <= a <= s.end]
        winner = max(covering, key=lambda s: s.order) if covering else None
        segments.append((a, b - ONE_DAY, winner))
    raw: list[InsurancePeriod] = [
        InsurancePeriod(insutype, "unknown", None, segments[0][0] - ONE_DAY, "no_answer")
    ]
    for index, (a, b, winner) in enumerate(segments):
        if winner is not None:
            raw.append(InsurancePeriod(insutype, winner.status, a, b, "stated"))
            continue
        # Gaps lie between covered segments: the first and last segments are always covered.
        left = segments[index - 1][2]
        right = segments[index + 1][2]
        assert left is not None and right is not None
        status, basis = _gap_status(left, right)
        raw.append(InsurancePeriod(insutype, status, a, b, basis))
    last_start, last_end, last_winner = segments[-1]
    assert last_winner is not None  # the last segment is always covered
    raw.append(
        InsurancePeriod(insutype, last_winner.status, last_end + ONE_DAY, None, "carried_forward")
    )
    merged: list[InsurancePeriod] = []
    for period in raw:
        prev = merged[-1] if merged else None
        if prev and (prev.status, prev.basis) == (period.status, period.basis):
            merged[-1] = InsurancePeriod(
                insutype, prev.status, prev.starts, period.ends, prev.basis
            )
        else:
            merged.append(period)
    return tuple(merged)


@dataclass(frozen=True)
class InsuranceHistory:
    """The periods of each insurance type (insutype -> consecutive periods covering all time)."""

    periods: Mapping[str, tuple[InsurancePeriod, ...]]

    def status_on(self, day: date, insutype: str | None = None) -> StatusOnDate:
        """The status on a date of care. Without insutype, over every type: active when any
        type is active (employee or resident insurance both qualify), else suspended when any
        is, else unknown; the strongest basis among equals decides which period is reported."""
        _day("day", day)
        types = [insutype] if insutype is not None else sorted(self.periods)
        found: list[InsurancePeriod] = []
        for t in types:
            for period in self.periods.get(t, ()):
                if period.contains(day):
                    found.append(period)
                    break
        if not found:
            return StatusOnDate("unknown", "no_answer", insutype, None)
        best = min(found, key=lambda p: (STATUSES.index(p.status), BASES.index(p.basis)))
        return StatusOnDate(best.status, best.basis, best.insutype, best)

    def suspended_run(self, period: InsurancePeriod) -> tuple[date | None, date | None]:
        """The first and last day (inclusive; None: open) of the run of consecutive suspended
        periods that `period`, one of this history's suspended periods, belongs to."""
        run = self.periods[period.insutype]
        index = run.index(period)
        first = last = index
        while first > 0 and run[first - 1].status == "suspended":
            first -= 1
        while last + 1 < len(run) and run[last + 1].status == "suspended":
            last += 1
        return run[first].starts, run[last].ends


def build_history(observations: Iterable[InsuranceObservation]) -> InsuranceHistory:
    """Periods per insurance type from every answer seen, in any order (sorted by observed_on;
    answers of the same day keep their given order, the later one winning)."""
    by_type: dict[str, list[InsuranceObservation]] = {}
    for obs in sorted(observations, key=lambda o: o.observed_on):
        by_type.setdefault(obs.insutype, []).append(obs)
    return InsuranceHistory({t: _periods(t, obs) for t, obs in sorted(by_type.items())})
