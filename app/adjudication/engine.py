"""The claim adjudication engine: pure functions over frozen dataclasses (see docs/adjudication.md).

    adjudicate(product, claim, policy, insured, accumulators) -> Adjudication

Rules, in order (each writes explanation lines with a stable reason code, see reasons.py; their
wording is in explain.py):
  1. eligibility: care date inside the policy's coverage; basic insurance not suspended on the
     date of care; policy active. Any failure -> not_payable, nothing else is computed.
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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypedDict, TypeVar

from app.adjudication import explain
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
from app.adjudication.money import BP, round_half_up_fen
from app.adjudication.reasons import DENY
from app.products.definition import COUNTABLE_AMOUNTS, Bucket, ProductDefinition, SubCap

__all__ = [
    "KIND_NAMES",
    "adjudicate",
    "deductible_key",
    "effective_deductible",
    "estimate",
    "ratio_schedule",
]


K = TypeVar("K")


class _Deltas(TypedDict):
    """What one claim adds to the accumulators, built bucket by bucket (AccumulatorDeltas's
    fields: bucket -> paid / eligible fen, deductible key -> fen, sub-cap counter -> fen)."""

    paid: dict[str, int]
    eligible: dict[str, int]
    deductible: dict[str, int]
    sub_caps: dict[SubCapKey, int]
    above: dict[str, int]


# --- small public helpers -------------------------------------------------------------------------


def deductible_key(bucket: Bucket) -> str:
    """The accumulator key of a bucket's deductible: its deductible_group, else its own code."""
    return bucket.deductible_group or bucket.code


def effective_deductible(bucket: Bucket, insured: Insured) -> int:
    """The deductible that applies to this insured person for the year, in fen.

    Pre-existing: deductible_pre_existing_fen when the product sets one, else deductible_fen.
    Healthy: deductible_fen lowered by renewal_deductible_step_fen for each continuous healthy
    renewal year, never below renewal_deductible_floor_fen (nor raised to it). The renewal step
    does not apply to a pre-existing determination.
    """
    base = bucket.deductible_fen
    if insured.health == "pre_existing":
        if bucket.deductible_pre_existing_fen is not None:
            base = bucket.deductible_pre_existing_fen
        return base
    step = bucket.renewal_deductible_step_fen
    if step and insured.healthy_renewal_years:
        floor = min(bucket.renewal_deductible_floor_fen, base)
        return max(floor, base - step * insured.healthy_renewal_years)
    return base


def ratio_schedule(bucket: Bucket, health: str) -> tuple[tuple[int, int], ...]:
    """((from_fen, ratio_bp), ...) for the insured's health: the base ratio from 0, then each tier
    from its above_fen. A fen of eligible spend at position x (0-based, counted over the year in
    this bucket) is paid at the ratio of the last entry with from_fen <= x (marginal tiers)."""
    pre = health == "pre_existing"
    schedule = [(0, bucket.ratio_pre_existing_bp if pre else bucket.ratio_healthy_bp)]
    for tier in sorted(bucket.tiers, key=lambda t: t.above_fen):
        schedule.append(
            (tier.above_fen, tier.ratio_pre_existing_bp if pre else tier.ratio_healthy_bp)
        )
    return tuple(schedule)


def _segments(
    schedule: tuple[tuple[int, int], ...], start: int, end: int
) -> Iterator[tuple[int, int, int]]:
    """(index, length, ratio_bp) of [start, end) split at the schedule's thresholds."""
    for i, (lo, bp) in enumerate(schedule):
        hi = schedule[i + 1][0] if i + 1 < len(schedule) else None
        a = max(start, lo)
        b = end if hi is None else min(end, hi)
        if b > a:
            yield i, b - a, bp


def _check_deductible_keys(product: ProductDefinition) -> None:
    groups = {b.deductible_group for b in product.buckets if b.deductible_group}
    for bucket in product.buckets:
        if bucket.deductible_group is None and bucket.code in groups:
            raise ValueError(
                f"bucket {bucket.code!r} has its own deductible but a deductible "
                f"group of the same name exists: accumulator keys would collide"
            )


def _kinds(product: ProductDefinition, claim: Claim) -> tuple[str, ...]:
    """The built-in amount kinds, then the product's own; a claim (or line) naming a kind the
    product does not declare is the caller's mistake (the claims layer answers 422)."""
    kinds = (*COUNTABLE_AMOUNTS, *product.amount_kinds)
    named = {*claim.other_amounts_fen, *(line.amount_kind for line in claim.lines)}
    unknown = sorted(named - set(kinds))
    if unknown:
        raise ValueError(f"amount kinds not declared by product {product.code}: {unknown}")
    return kinds


# --- the run --------------------------------------------------------------------------------------


@dataclass
class _Piece:
    """A run of one bucket's counted money: one itemised line, or an un-itemised amount."""

    kind: str
    item: str
    amount: int
    absorbed: int = 0  # taken by the deductible
    numerator: int = 0  # exact ratio result, fen x bp
    fen: int = 0  # rounded and item-capped (buckets with per-item sub-caps)
    paid: int = 0  # after later limits (for per-item sub-cap usage)


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
    acc = accumulators if accumulators is not None else Accumulators()
    _check_deductible_keys(product)
    run = Run(product.amount_kinds)
    kinds = _kinds(product, claim)

    # 1. eligibility -----------------------------------------------------------------------------
    explain.eligibility(run, claim, policy, insured)
    if any(line.code in DENY for line in run.lines):
        explain.not_payable_total(run)
        return Adjudication(
            decision="not_payable",
            payable_fen=0,
            buckets=(),
            lines=tuple(run.lines),
            reason_codes=run.codes(),
            deltas=AccumulatorDeltas(),
        )

    # 2. coordination of benefits ----------------------------------------------------------------
    net = _coordinate(run, claim, kinds)

    # 3.-7. buckets ------------------------------------------------------------------------------
    counted_by = {kind: b for b in product.buckets for kind in b.counts}
    for kind in kinds:
        if net[kind] > 0 and kind not in counted_by:
            explain.amount_not_covered(run, kind, net[kind])

    remaining_deductible: dict[str, int] = {}  # deductible key -> left, as this claim runs
    results: list[BucketResult] = []
    deltas: _Deltas = {"paid": {}, "eligible": {}, "deductible": {}, "sub_caps": {}, "above": {}}
    for bucket in product.buckets:
        result = _bucket(run, bucket, claim, insured, acc, net, remaining_deductible, deltas)
        if result is not None:
            results.append(result)

    total = sum(r.payable_fen for r in results)
    explain.payable_total(run, total)
    return Adjudication(
        decision="review" if run.review else "payable",
        payable_fen=total,
        buckets=tuple(results),
        lines=tuple(run.lines),
        reason_codes=run.codes(),
        deltas=AccumulatorDeltas(
            paid_fen=deltas["paid"],
            eligible_fen=deltas["eligible"],
            deductible_used_fen=deltas["deductible"],
            sub_cap_used_fen=deltas["sub_caps"],
            above_deductible_fen=deltas["above"],
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


def _coordinate(run: Run, claim: Claim, kinds: tuple[str, ...]) -> dict[str, int]:
    """The member's remaining amounts per kind after the public layers.

    hifp/hifmi/hifob have already been deducted by the bureau from the member amounts in the
    settlement (they are used only in the consistency check). Medical assistance (maf_pay) paid
    part of the member's in-policy self-pay: it is subtracted from in-policy self-pay; any excess
    (which should not happen) is subtracted from the other amounts in COUNTABLE_AMOUNTS order and
    sends the claim to review. `kinds` are the built-in kinds first, then the product's own.
    """
    net = {kind: claim.amount(kind) for kind in kinds}
    maf = claim.maf_pay_fen
    if maf:
        take = min(maf, net["in_policy_self_pay"])
        explain.medical_assistance(run, maf, net["in_policy_self_pay"], take)
        net["in_policy_self_pay"] -= take
        left = maf - take
        if left:
            explain.medical_assistance_excess(run, left)
            for kind in kinds[1:]:
                take = min(left, net[kind])
                net[kind] -= take
                left -= take

    payers = claim.hifp_pay_fen + claim.hifmi_pay_fen + claim.hifob_pay_fen + claim.maf_pay_fen
    explain.settlement_sum(run, claim, payers, sum(net.values()))
    for kind in kinds:
        listed = sum(line.amount_fen for line in claim.lines_of(kind))
        if listed > claim.amount(kind):
            explain.lines_exceed_amount(run, kind, listed, claim.amount(kind))
    explain.coordination(run, net)
    return net


# --- 3. mapping into the bucket -------------------------------------------------------------------


def _trim(lines: Sequence[ClaimLine], limit: int) -> list[tuple[ClaimLine, int]]:
    """Lines with their amounts, trimmed from the last line backwards to add up to <= limit."""
    amounts = [line.amount_fen for line in lines]
    excess = sum(amounts) - limit
    for i in range(len(amounts) - 1, -1, -1):
        if excess <= 0:
            break
        cut = min(excess, amounts[i])
        amounts[i] -= cut
        excess -= cut
    return list(zip(lines, amounts))


def _map(run: Run, bucket: Bucket, claim: Claim, net: dict[str, int]) -> tuple[list[_Piece], int]:
    pieces: list[_Piece] = []
    excluded = 0
    for kind in bucket.counts:
        amount = net[kind]
        lines = claim.lines_of(kind)
        if amount == 0:
            continue
        trimmed = _trim(lines, amount)
        if bucket.commercial_list_required:
            if not lines:
                excluded += amount
                explain.commercial_list_unverifiable(run, bucket, kind, amount)
                continue
            listed = [(line, a) for line, a in trimmed if line.on_commercial_list and a]
            counted = sum(a for _, a in listed)
            not_listed = sum(a for line, a in trimmed if not line.on_commercial_list)
            unitemised = amount - sum(a for _, a in trimmed)
            excluded += amount - counted
            pieces += [_Piece(kind, line.item_code, a) for line, a in listed]
            explain.commercial_list_itemised(run, bucket, kind, counted, not_listed, unitemised)
        else:
            pieces += [_Piece(kind, line.item_code, a) for line, a in trimmed if a]
            rest = amount - sum(a for _, a in trimmed)
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
    bucket: Bucket,
    claim: Claim,
    insured: Insured,
    acc: Accumulators,
    net: dict[str, int],
    remaining_deductible: dict[str, int],
    deltas: _Deltas,
) -> BucketResult | None:
    """One bucket of the claim, step by step; None when the claim has nothing in it."""
    code = bucket.code
    if not any(net[kind] for kind in bucket.counts):
        return None
    pieces, excluded = _map(run, bucket, claim, net)
    counted = sum(p.amount for p in pieces)
    if counted == 0:
        explain.bucket_payable(run, bucket, 0)
        return BucketResult(code, bucket.name, 0, excluded, 0, 0, 0, 0, 0)

    absorbed = _deductible(run, bucket, insured, acc, counted, remaining_deductible)
    numerator = _ratio(run, bucket, insured, acc, pieces, absorbed)
    item_caps = [s for s in bucket.sub_caps if s.per == "item"]
    after_ratio = _round(run, bucket, pieces, numerator, per_item=bool(item_caps))
    amount = after_ratio
    if item_caps:
        amount = _item_sub_caps(run, bucket, acc, pieces, item_caps)
    after_sub_caps = _scope_sub_caps(run, bucket, claim, acc, amount)
    payable = _annual_cap(run, bucket, acc, after_sub_caps)
    explain.bucket_payable(run, bucket, payable)

    _record_deltas(deltas, bucket, claim, counted, absorbed, payable, pieces, item_caps)
    return BucketResult(
        bucket=code,
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
    bucket: Bucket,
    insured: Insured,
    acc: Accumulators,
    counted: int,
    remaining_deductible: dict[str, int],
) -> int:
    """4. What the year's deductible (per bucket or shared group) absorbs of `counted`; the
    claim's running `remaining_deductible` is lowered by it."""
    key = deductible_key(bucket)
    deductible = effective_deductible(bucket, insured)
    if key not in remaining_deductible:
        used = acc.deductible_used_fen.get(key, 0)
        remaining_deductible[key] = max(0, deductible - used)
        explain.deductible_basis(run, bucket, insured, deductible)
    before = remaining_deductible[key]
    absorbed = min(before, counted)
    remaining_deductible[key] = before - absorbed
    explain.deductible(run, bucket, key, deductible, before, absorbed, counted)
    return absorbed


def _ratio(
    run: Run,
    bucket: Bucket,
    insured: Insured,
    acc: Accumulators,
    pieces: list[_Piece],
    absorbed: int,
) -> int:
    """5. The ratio with marginal tiers over the year's eligible spend: the deductible takes the
    first `absorbed` fen; each piece gets its exact numerator (fen x bp). Returns their sum.
    Tiers count the year's eligible spend from its first yuan, or (tiers_from =
    "above_deductible") only the spend above the deductible."""
    schedule = ratio_schedule(bucket, insured.health)
    above = bucket.tiers_from == "above_deductible"
    if above:
        position = acc.above_deductible_fen.get(bucket.code, 0)
    else:
        position = acc.eligible_fen.get(bucket.code, 0)
    left = absorbed
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
        explain.ratio_segment(run, bucket, index, lo, bp, by_segment[index], above=above)
    return sum(p.numerator for p in pieces)


def _round(
    run: Run, bucket: Bucket, pieces: list[_Piece], numerator: int, *, per_item: bool
) -> int:
    """5. Round half up to the fen: once for the bucket, or item by item (each piece's `fen`)
    when the bucket has per-item sub-caps."""
    if per_item:
        for piece in pieces:
            piece.fen = round_half_up_fen(piece.numerator, BP)
        after_ratio = sum(p.fen for p in pieces)
        if any(p.numerator % BP for p in pieces):
            explain.rounding(run, bucket, numerator, after_ratio, per_item=True)
        return after_ratio
    after_ratio = round_half_up_fen(numerator, BP)
    if numerator % BP:
        explain.rounding(run, bucket, numerator, after_ratio, per_item=False)
    return after_ratio


def _item_sub_caps(
    run: Run, bucket: Bucket, acc: Accumulators, pieces: list[_Piece], item_caps: list[SubCap]
) -> int:
    """6. Per-item sub-caps cut each piece (usage counted across the year and this claim's
    earlier pieces of the same item); returns the bucket's amount after them."""
    code = bucket.code
    in_claim: dict[SubCapKey, int] = {}
    if any(p.item == UNITEMISED for p in pieces):
        explain.unitemised_as_one_item(run, bucket)
    for piece in pieces:
        for cap in item_caps:
            sk = SubCapKey(code, cap.code, piece.item)
            rem = max(0, cap.cap_fen - acc.sub_cap_used_fen.get(sk, 0) - in_claim.get(sk, 0))
            if piece.fen > rem:
                explain.item_sub_cap(run, bucket, cap, piece.item, piece.fen, rem)
                piece.fen = rem
        for cap in item_caps:
            sk = SubCapKey(code, cap.code, piece.item)
            in_claim[sk] = in_claim.get(sk, 0) + piece.fen
    return sum(p.fen for p in pieces)


def _scope_sub_caps(run: Run, bucket: Bucket, claim: Claim, acc: Accumulators, amount: int) -> int:
    """6. Per-admission, then per-year sub-caps, on what is left of them."""
    code = bucket.code
    for per in ("admission", "year"):
        for cap in (s for s in bucket.sub_caps if s.per == per):
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


def _record_deltas(
    deltas: _Deltas,
    bucket: Bucket,
    claim: Claim,
    counted: int,
    absorbed: int,
    payable: int,
    pieces: list[_Piece],
    item_caps: list[SubCap],
) -> None:
    """What settling the bucket adds to the accumulators (only non-zero amounts)."""
    code = bucket.code
    sub_deltas: dict[SubCapKey, int] = deltas["sub_caps"]

    def add(target: dict[K, int], k: K, v: int) -> None:
        if v:
            target[k] = target.get(k, 0) + v

    add(deltas["paid"], code, payable)
    add(deltas["eligible"], code, counted)
    add(deltas["deductible"], deductible_key(bucket), absorbed)
    if bucket.tiers_from == "above_deductible":
        add(deltas["above"], code, counted - absorbed)
    if item_caps:
        # Later limits cut the bucket's payment; the cut is taken from the pieces in reverse
        # order (last line first) so each item is charged only what was actually paid for it.
        cut = sum(p.fen for p in pieces) - payable
        for piece in reversed(pieces):
            take = min(cut, piece.fen)
            piece.paid = piece.fen - take
            cut -= take
        for piece in pieces:
            for cap in item_caps:
                add(sub_deltas, SubCapKey(code, cap.code, piece.item), piece.paid)
    for cap in bucket.sub_caps:
        if cap.per == "admission" and claim.admission_id is not None:
            add(sub_deltas, SubCapKey(code, cap.code, claim.admission_id), payable)
        elif cap.per == "year":
            add(sub_deltas, SubCapKey(code, cap.code, ""), payable)
