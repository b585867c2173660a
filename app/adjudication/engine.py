"""The claim adjudication engine: pure functions over frozen dataclasses (see docs/adjudication.md).

    adjudicate(product, claim, policy, insured, accumulators) -> Adjudication

Rules, in order (each writes explanation lines with a stable reason code, see reasons.py; their
wording is in explain.py):
  1. eligibility: care date inside the policy's coverage; basic insurance not suspended on the
     date of care; policy active; a chronic out-patient visit only for a class-one chronic
     condition the product lists (一类门诊慢特病). Any failure -> not_payable, nothing else is
     computed.
  2. coordination of benefits: what the member still carries after basic insurance,
     critical-illness / large-amount insurance and medical assistance (maf_pay reduces in-policy
     self-pay first); the settlement must add up.
  3. mapping into the product's buckets by `counts`; the commercial list where required.
  4. annual cumulative deductible per bucket or shared deductible group, buckets in product
     order, carried across claims by the accumulators.
  5. ratio (healthy / pre-existing) with marginal tiers on the year's eligible spend; rounded
     ROUND_HALF_UP to the fen once per bucket (per item in a bucket with per-item sub-caps).
  6. sub-caps: per item, per admission, per year; then 7. the annual cap (what is left of it).
The engine never mutates anything: it returns the accumulator deltas for the caller to apply.
Integers only: no float anywhere.

Speed (issue 13, docs/performance.md): what a product's buckets need (kinds, deductible keys,
ratio schedules, sub-caps by period) is worked out once per product (plan.py); explanation
lines are written as plain tuples and made into Explanation objects only when
`Adjudication.lines` is read (explain.py); the buckets' results and the deltas the engine
computed are built without being checked again (BucketResult.computed,
AccumulatorDeltas.computed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypedDict, TypeVar

from app.adjudication import explain
from app.adjudication.chronic import chronic_class
from app.adjudication.explain import KIND_NAMES, Run
from app.adjudication.model import (
    UNITEMISED,
    AccumulatorDeltas,
    Accumulators,
    Adjudication,
    BucketResult,
    Claim,
    ClaimLine,
    Insured,
    PolicyCover,
    SubCapKey,
)
from app.adjudication.money import BP, fen_of
from app.adjudication.plan import (
    BucketPlan,
    Plan,
    deductible_key,
    effective_deductible,
    ratio_schedule,
)
from app.adjudication.plan import plan as plan_of
from app.adjudication.reasons import REVIEW
from app.products.definition import CHRONIC_OUTPATIENT, Bucket, ProductDefinition, SubCap

__all__ = [
    "KIND_NAMES",
    "adjudicate",
    "deductible_key",
    "effective_deductible",
    "estimate",
    "ratio_schedule",
]

K = TypeVar("K")
_REVIEW = frozenset(REVIEW)
_NO_ACCUMULATORS = Accumulators()
_NO_DELTAS = AccumulatorDeltas()


class _Deltas(TypedDict):
    """What one claim adds to the accumulators, built bucket by bucket (AccumulatorDeltas's
    fields: bucket -> paid / eligible fen, deductible key -> fen, sub-cap counter -> fen)."""

    paid: dict[str, int]
    eligible: dict[str, int]
    deductible: dict[str, int]
    sub_caps: dict[SubCapKey, int]
    above: dict[str, int]


def _segments(
    schedule: tuple[tuple[int, int], ...], start: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """(index, length, ratio_bp) of [start, end) split at the schedule's thresholds."""
    last = len(schedule) - 1
    for i, (lo, bp) in enumerate(schedule):
        a = start if start > lo else lo
        b = end if i == last or end < schedule[i + 1][0] else schedule[i + 1][0]
        if b > a:
            yield i, b - a, bp


def _lines_by_kind(
    plan: Plan, product: ProductDefinition, claim: Claim
) -> dict[str, list[ClaimLine]]:
    """The claim's itemised lines by amount kind, in claim order. A claim (or line) naming a
    kind the product does not declare is the caller's mistake (the claims layer answers 422)."""
    by_kind: dict[str, list[ClaimLine]] = {}
    for line in claim.lines:
        by_kind.setdefault(line.amount_kind, []).append(line)
    if not plan.declared.issuperset(by_kind) or not plan.declared.issuperset(
        claim.other_amounts_fen
    ):
        unknown = sorted({*claim.other_amounts_fen, *by_kind} - plan.declared)
        raise ValueError(f"amount kinds not declared by product {product.code}: {unknown}")
    return by_kind


def _codes(run: Run) -> tuple[str, ...]:
    """The codes of the run's lines, each once, in the order they first appear."""
    return tuple(dict.fromkeys([line[0] for line in run.lines]))


# --- the run --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Piece:
    """A run of one bucket's counted money: one itemised line, or an un-itemised amount."""

    kind: str
    item: str
    amount: int
    absorbed: int = 0  # taken by the deductible
    numerator: int = 0  # exact ratio result, fen x bp
    fen: int = 0  # rounded and item-capped (buckets with per-item sub-caps)
    paid: int = 0  # after later limits (for per-item sub-cap usage)
    keys: Sequence[SubCapKey] = ()  # its per-item sub-cap counters, one per item sub-cap


def adjudicate(
    product: ProductDefinition,
    claim: Claim,
    policy: PolicyCover,
    insured: Insured,
    accumulators: Accumulators | None = None,
) -> Adjudication:
    """Adjudicate one claim against the person's accumulators for the policy year.

    Pure: reads its arguments, returns the payable amount, per-bucket breakdown, explanation
    lines, reason codes and the accumulator deltas the caller applies atomically.
    """
    acc = accumulators if accumulators is not None else _NO_ACCUMULATORS
    plan = plan_of(product)
    by_kind = _lines_by_kind(plan, product, claim)
    run = Run(plan.kind_names)

    # 1. eligibility -----------------------------------------------------------------------------
    eligible = explain.eligibility(run, claim, policy, insured)
    if claim.care_kind == CHRONIC_OUTPATIENT:  # the one rule that depends on the kind of care
        eligible = chronic_class(run, claim, product.class_one_chronic_conditions) and eligible
    if not eligible:
        explain.not_payable_total(run)
        return Adjudication.written("not_payable", 0, (), run.lines, _codes(run), _NO_DELTAS)

    # 2. coordination of benefits ----------------------------------------------------------------
    net = _coordinate(run, plan, claim, by_kind)

    # 3.-7. buckets ------------------------------------------------------------------------------
    for kind in plan.uncovered:
        if net[kind] > 0:
            explain.amount_not_covered(run, kind, net[kind])

    remaining_deductible: dict[str, int] = {}  # deductible key -> left, as this claim runs
    results: list[BucketResult] = []
    deltas: _Deltas = {"paid": {}, "eligible": {}, "deductible": {}, "sub_caps": {}, "above": {}}
    for plan_bucket in plan.buckets:
        result = _bucket(
            run, plan_bucket, claim, insured, acc, net, by_kind, remaining_deductible, deltas
        )
        if result is not None:
            results.append(result)

    total = sum([r.payable_fen for r in results])
    explain.payable_total(run, total)
    codes = _codes(run)
    return Adjudication.written(
        "payable" if _REVIEW.isdisjoint(codes) else "review",
        total,
        tuple(results),
        run.lines,
        codes,
        AccumulatorDeltas.computed(
            deltas["paid"],
            deltas["eligible"],
            deltas["deductible"],
            deltas["sub_caps"],
            deltas["above"],
        ),
    )


def estimate(
    product: ProductDefinition,
    claim: Claim,
    policy: PolicyCover,
    insured: Insured,
    accumulators: Accumulators | None = None,
) -> Adjudication:
    """The estimator (理赔试算) IS the engine run against the person's current accumulators.

    `adjudicate` has no side effects, so an estimate is exactly what the claim would pay if it
    were settled now; it changes nothing (the deltas are simply not applied). It can differ
    from the final settlement only if other claims of the same year settle first.
    """
    return adjudicate(product, claim, policy, insured, accumulators)


# --- 2. coordination ------------------------------------------------------------------------------


def _coordinate(
    run: Run, plan: Plan, claim: Claim, by_kind: dict[str, list[ClaimLine]]
) -> dict[str, int]:
    """The member's remaining amounts per kind after the public layers.

    hifp/hifmi/hifob have already been deducted by the bureau from the member amounts in the
    settlement (they are used only in the consistency check). Medical assistance (maf_pay) paid
    part of the member's in-policy self-pay: it is subtracted from in-policy self-pay; any excess
    (which should not happen) is subtracted from the other amounts in COUNTABLE_AMOUNTS order and
    sends the claim to review. The plan's kinds are the built-in kinds first, then the product's.
    """
    net = {kind: getattr(claim, field) for kind, field in plan.built_in}
    for kind in plan.own:
        net[kind] = claim.other_amounts_fen.get(kind, 0)
    maf = claim.maf_pay_fen
    if maf:
        in_policy = net["in_policy_self_pay"]
        take = min(maf, in_policy)
        explain.medical_assistance(run, maf, in_policy, take)
        net["in_policy_self_pay"] = in_policy - take
        left = maf - take
        if left:
            explain.medical_assistance_excess(run, left)
            for kind in plan.kinds[1:]:
                take = min(left, net[kind])
                net[kind] -= take
                left -= take

    payers = claim.hifp_pay_fen + claim.hifmi_pay_fen + claim.hifob_pay_fen + claim.maf_pay_fen
    explain.settlement_sum(run, claim, payers, sum(net.values()))
    for kind in plan.kinds if by_kind else ():
        if kind in by_kind:
            listed = sum([line.amount_fen for line in by_kind[kind]])
            if listed > claim.amount(kind):
                explain.lines_exceed_amount(run, kind, listed, claim.amount(kind))
    explain.coordination(run, net)
    return net


# --- 3. mapping into the bucket -------------------------------------------------------------------


def _trim(lines: Sequence[ClaimLine], limit: int) -> list[tuple[ClaimLine, int]]:
    """Lines with their amounts, trimmed from the last line backwards to add up to <= limit."""
    amounts = [line.amount_fen for line in lines]
    excess = sum(amounts) - limit
    if excess <= 0:
        return list(zip(lines, amounts))
    for i in range(len(amounts) - 1, -1, -1):
        if excess <= 0:
            break
        cut = min(excess, amounts[i])
        amounts[i] -= cut
        excess -= cut
    return list(zip(lines, amounts))


def _map(
    run: Run, bucket: Bucket, net: dict[str, int], by_kind: dict[str, list[ClaimLine]]
) -> tuple[list[_Piece], int]:
    pieces: list[_Piece] = []
    excluded = 0
    for kind in bucket.counts:
        amount = net[kind]
        if amount == 0:
            continue
        lines = by_kind.get(kind, ())
        if bucket.commercial_list_required:
            if not lines:
                excluded += amount
                explain.commercial_list_unverifiable(run, bucket, kind, amount)
                continue
            counted = not_listed = 0
            for line, a in _trim(lines, amount):
                if not line.on_commercial_list:
                    not_listed += a
                elif a:
                    counted += a
                    pieces.append(_Piece(kind, line.item_code, a))
            unitemised = amount - counted - not_listed
            excluded += amount - counted
            explain.commercial_list_itemised(run, bucket, kind, counted, not_listed, unitemised)
        else:
            rest = amount
            if lines:
                trimmed = _trim(lines, amount)
                pieces += [_Piece(kind, line.item_code, a) for line, a in trimmed if a]
                rest -= sum([a for _, a in trimmed])
            if rest:
                pieces.append(_Piece(kind, UNITEMISED, rest))
            if kind != "in_policy_self_pay":
                explain.commercial_list_not_required(run, bucket, kind, amount)
            counted = amount
        explain.amount_mapped(run, bucket, kind, counted)
    return pieces, excluded


# --- 4.-7. one bucket -----------------------------------------------------------------------------


def _bucket(
    run: Run,
    plan: BucketPlan,
    claim: Claim,
    insured: Insured,
    acc: Accumulators,
    net: dict[str, int],
    by_kind: dict[str, list[ClaimLine]],
    remaining_deductible: dict[str, int],
    deltas: _Deltas,
) -> BucketResult | None:
    """One bucket of the claim, step by step; None when the claim has nothing in it."""
    bucket = plan.bucket
    for kind in plan.counts:
        if net[kind]:
            break
    else:
        return None
    pieces, excluded = _map(run, bucket, net, by_kind)
    counted = sum([p.amount for p in pieces])
    if counted == 0:
        explain.bucket_payable(run, bucket, 0)
        return BucketResult.computed(bucket.code, bucket.name, 0, excluded, 0, 0, 0, 0, 0)

    absorbed = _deductible(run, plan, insured, acc, counted, remaining_deductible)
    numerator = _ratio(run, plan, insured, acc, pieces, absorbed)
    after_ratio = _round(run, bucket, pieces, numerator, per_item=bool(plan.item_caps))
    amount = after_ratio
    if plan.item_caps:
        amount = _item_sub_caps(run, bucket, acc, pieces, plan.item_caps)
    after_sub_caps = _scope_sub_caps(run, plan, claim, acc, amount) if plan.scope_caps else amount
    payable = _annual_cap(run, bucket, acc, after_sub_caps)
    explain.bucket_payable(run, bucket, payable)

    _record_deltas(deltas, plan, claim, counted, absorbed, payable, pieces)
    return BucketResult.computed(
        bucket=bucket.code,
        name=bucket.name,
        counted_fen=counted,
        excluded_fen=excluded,
        deductible_fen=absorbed,
        ratio_numerator=numerator,
        after_ratio_fen=after_ratio,
        after_sub_caps_fen=after_sub_caps,
        payable_fen=payable,
    )


def _deductible(
    run: Run,
    plan: BucketPlan,
    insured: Insured,
    acc: Accumulators,
    counted: int,
    remaining_deductible: dict[str, int],
) -> int:
    """4. What the year's deductible (per bucket or shared group) absorbs of `counted`; the
    claim's running `remaining_deductible` is lowered by it."""
    bucket, key = plan.bucket, plan.key
    deductible = effective_deductible(bucket, insured)
    if key not in remaining_deductible:
        used = acc.deductible_used_fen.get(key, 0)
        remaining_deductible[key] = max(0, deductible - used)
        if deductible != bucket.deductible_fen or insured.health == "pre_existing":
            explain.deductible_basis(run, bucket, insured, deductible)  # why not the plain one
    before = remaining_deductible[key]
    absorbed = min(before, counted)
    remaining_deductible[key] = before - absorbed
    explain.deductible(run, bucket, key, deductible, before, absorbed, counted)
    return absorbed


def _ratio(
    run: Run,
    plan: BucketPlan,
    insured: Insured,
    acc: Accumulators,
    pieces: list[_Piece],
    absorbed: int,
) -> int:
    """5. The ratio with marginal tiers over the year's eligible spend: the deductible takes the
    first `absorbed` fen; each piece gets its exact numerator (fen x bp). Returns their sum.
    Tiers count the year's eligible spend from its first yuan, or (tiers_from =
    "above_deductible") only the spend above the deductible."""
    schedule = plan.pre_existing if insured.health == "pre_existing" else plan.healthy
    above, code = plan.above, plan.bucket.code
    left = absorbed
    if len(schedule) == 1:  # one ratio, no tiers: what the loop below does, without segments
        ratio = schedule[0][1]
        for piece in pieces:
            piece.absorbed = min(left, piece.amount)
            left -= piece.absorbed
            piece.numerator = (piece.amount - piece.absorbed) * ratio
        length = sum([p.amount - p.absorbed for p in pieces])
        if length:
            explain.ratio_segment(run, plan.bucket, 0, 0, ratio, length, above=above)
        return length * ratio
    if above:
        position = acc.above_deductible_fen.get(code, 0)
    else:
        position = acc.eligible_fen.get(code, 0)
    by_segment: dict[int, int] = {}
    for piece in pieces:
        piece.absorbed = min(left, piece.amount)
        left -= piece.absorbed
        start = position if above else position + piece.absorbed
        end = start + piece.amount - piece.absorbed
        for index, length, bp in _segments(schedule, start, end):
            piece.numerator += length * bp
            by_segment[index] = by_segment.get(index, 0) + length
        position = end
    for index in sorted(by_segment):
        lo, bp = schedule[index]
        explain.ratio_segment(run, plan.bucket, index, lo, bp, by_segment[index], above=above)
    return sum([p.numerator for p in pieces])


def _round(
    run: Run, bucket: Bucket, pieces: list[_Piece], numerator: int, *, per_item: bool
) -> int:
    """5. Round half up to the fen: once for the bucket, or item by item (each piece's `fen`)
    when the bucket has per-item sub-caps."""
    if per_item:
        for piece in pieces:
            piece.fen = fen_of(piece.numerator)
        after_ratio = sum([p.fen for p in pieces])
        if [p for p in pieces if p.numerator % BP]:
            explain.rounding(run, bucket, numerator, after_ratio, per_item=True)
        return after_ratio
    after_ratio = fen_of(numerator)
    if numerator % BP:
        explain.rounding(run, bucket, numerator, after_ratio, per_item=False)
    return after_ratio


def _item_sub_caps(
    run: Run,
    bucket: Bucket,
    acc: Accumulators,
    pieces: list[_Piece],
    item_caps: tuple[SubCap, ...],
) -> int:
    """6. Per-item sub-caps cut each piece (usage counted across the year and this claim's
    earlier pieces of the same item); returns the bucket's amount after them."""
    code = bucket.code
    in_claim: dict[SubCapKey, int] = {}
    if UNITEMISED in [p.item for p in pieces]:
        explain.unitemised_as_one_item(run, bucket)
    for piece in pieces:
        piece.keys = [SubCapKey(code, cap.code, piece.item) for cap in item_caps]
        for cap, sk in zip(item_caps, piece.keys):
            rem = max(0, cap.cap_fen - acc.sub_cap_used_fen.get(sk, 0) - in_claim.get(sk, 0))
            if piece.fen > rem:
                explain.item_sub_cap(run, bucket, cap, piece.item, piece.fen, rem)
                piece.fen = rem
        for sk in piece.keys:
            in_claim[sk] = in_claim.get(sk, 0) + piece.fen
    return sum([p.fen for p in pieces])


def _scope_sub_caps(
    run: Run, plan: BucketPlan, claim: Claim, acc: Accumulators, amount: int
) -> int:
    """6. Per-admission, then per-year sub-caps, on what is left of them."""
    bucket = plan.bucket
    code = bucket.code
    for per in ("admission", "year"):
        for cap in (s for s in plan.scope_caps if s.per == per):
            if per == "admission" and claim.admission_id is None:
                rem = cap.cap_fen
                explain.admission_unidentified(run, bucket, cap)
            else:
                # (an admission cap reaches here only with an admission id)
                scope = "" if per == "year" or claim.admission_id is None else claim.admission_id
                rem = max(
                    0, cap.cap_fen - acc.sub_cap_used_fen.get(SubCapKey(code, cap.code, scope), 0)
                )
            if amount > rem:
                admission = claim.admission_id if per == "admission" else None
                explain.scope_sub_cap(run, bucket, cap, admission, amount, rem)
                amount = rem
    return amount


def _annual_cap(run: Run, bucket: Bucket, acc: Accumulators, amount: int) -> int:
    """7. The annual cap: what is left of it after the year's earlier payments."""
    if bucket.cap_fen is None:  # the product states no annual cap
        return amount
    paid_before = acc.paid_fen.get(bucket.code, 0)
    cap_left = max(0, bucket.cap_fen - paid_before)
    if amount > cap_left:
        explain.annual_cap(run, bucket, paid_before, cap_left, amount)
        return cap_left
    return amount


def _add(target: dict[K, int], key: K, fen: int) -> None:
    if fen:
        target[key] = target.get(key, 0) + fen


def _record_deltas(
    deltas: _Deltas,
    plan: BucketPlan,
    claim: Claim,
    counted: int,
    absorbed: int,
    payable: int,
    pieces: list[_Piece],
) -> None:
    """What settling the bucket adds to the accumulators (only non-zero amounts)."""
    code = plan.bucket.code
    sub_deltas: dict[SubCapKey, int] = deltas["sub_caps"]
    add = _add
    if payable:  # (each bucket once a claim: its paid and eligible are set here only)
        deltas["paid"][code] = payable
    if counted:
        deltas["eligible"][code] = counted
    add(deltas["deductible"], plan.key, absorbed)  # a shared group's key: added to
    if plan.above and counted > absorbed:
        deltas["above"][code] = counted - absorbed
    item_caps = plan.item_caps
    if item_caps:
        # Later limits cut the bucket's payment; the cut is taken from the pieces in reverse
        # order (last line first) so each item is charged only what was actually paid for it.
        cut = sum([p.fen for p in pieces]) - payable
        for piece in reversed(pieces):
            take = min(cut, piece.fen)
            piece.paid = piece.fen - take
            cut -= take
        for piece in pieces:
            for sk in piece.keys:
                add(sub_deltas, sk, piece.paid)
    for cap in plan.scope_caps:
        if cap.per == "admission" and claim.admission_id is not None:
            add(sub_deltas, SubCapKey(code, cap.code, claim.admission_id), payable)
        elif cap.per == "year":
            add(sub_deltas, SubCapKey(code, cap.code, ""), payable)
