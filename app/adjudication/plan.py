"""What the adjudication engine needs of a product, worked out once per product: the amount
kinds it declares and names, the kinds no bucket counts, and per bucket its deductible key,
ratio schedules and sub-caps by period (issue 13: these were rebuilt for every claim).

`plan(product)` keeps a plan while the product's buckets and amount kinds are the same objects
(a definition copied with `dataclasses.replace`, e.g. with a longer sale window, shares them);
the public helpers here (deductible_key, effective_deductible, ratio_schedule) are the rules
the plan is made of, and what tests and reports use to check the engine's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.adjudication import explain
from app.adjudication.model import Insured
from app.products.definition import COUNTABLE_AMOUNTS, Bucket, ProductDefinition, SubCap

# --- the rules a plan is made of ------------------------------------------------------------------


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


def _check_deductible_keys(product: ProductDefinition) -> None:
    groups = {b.deductible_group for b in product.buckets if b.deductible_group}
    for bucket in product.buckets:
        if bucket.deductible_group is None and bucket.code in groups:
            raise ValueError(
                f"bucket {bucket.code!r} has its own deductible but a deductible "
                f"group of the same name exists: accumulator keys would collide"
            )


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketPlan:
    """One bucket as the engine reads it: the definition's figures, with what is derived from
    them (the deductible key, the ratio schedules, the sub-caps by period) worked out once."""

    bucket: Bucket
    counts: tuple[str, ...]
    key: str  # deductible_key(bucket)
    healthy: tuple[tuple[int, int], ...]  # ratio_schedule(bucket, "healthy")
    pre_existing: tuple[tuple[int, int], ...]  # ratio_schedule(bucket, "pre_existing")
    above: bool  # tiers count the spend above the deductible
    item_caps: tuple[SubCap, ...]
    scope_caps: tuple[SubCap, ...]  # per admission and per year, in the definition's order


@dataclass(frozen=True)
class Plan:
    """What adjudicating a claim needs of a product that does not depend on the claim."""

    source: tuple[tuple[Bucket, ...], dict[str, str]]  # the product's own objects, kept alive
    kinds: tuple[str, ...]  # the built-in amount kinds, then the product's own
    built_in: tuple[tuple[str, str], ...]  # (kind, the Claim field holding it)
    own: tuple[str, ...]  # the product's own kinds (Claim.other_amounts_fen)
    declared: frozenset[str]
    uncovered: tuple[str, ...]  # kinds no bucket counts, in `kinds` order
    kind_names: dict[str, tuple[str, str]]
    buckets: tuple[BucketPlan, ...]


def _make(product: ProductDefinition) -> Plan:
    _check_deductible_keys(product)
    own = tuple(product.amount_kinds)
    kinds = (*COUNTABLE_AMOUNTS, *own)
    counted = {kind for b in product.buckets for kind in b.counts}
    return Plan(
        source=(product.buckets, product.amount_kinds),
        kinds=kinds,
        built_in=tuple((kind, f"{kind}_fen") for kind in COUNTABLE_AMOUNTS),
        own=own,
        declared=frozenset(kinds),
        uncovered=tuple(kind for kind in kinds if kind not in counted),
        kind_names=explain.kind_names(product.amount_kinds, kinds),
        buckets=tuple(
            BucketPlan(
                bucket=b,
                counts=tuple(b.counts),
                key=deductible_key(b),
                healthy=ratio_schedule(b, "healthy"),
                pre_existing=ratio_schedule(b, "pre_existing"),
                above=b.tiers_from == "above_deductible",
                item_caps=tuple(s for s in b.sub_caps if s.per == "item"),
                scope_caps=tuple(s for s in b.sub_caps if s.per in ("admission", "year")),
            )
            for b in product.buckets
        ),
    )


_PLANS: dict[tuple[int, int], Plan] = {}
_PLANS_KEPT = 64


def plan(product: ProductDefinition) -> Plan:
    """The product's plan, made once for its buckets and amount kinds (the very objects: a
    definition copied with `dataclasses.replace`, e.g. with a longer sale window, shares them).
    A plan keeps those objects alive, so their ids are not reused while it is kept."""
    key = (id(product.buckets), id(product.amount_kinds))
    kept = _PLANS.get(key)
    if (
        kept is None
        or kept.source[0] is not product.buckets
        or kept.source[1] is not product.amount_kinds
    ):
        kept = _make(product)
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        _PLANS[key] = kept
    return kept
