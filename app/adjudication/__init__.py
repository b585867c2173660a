"""Claim adjudication (理赔理算): a pure engine over frozen dataclasses, no Flask, no database.

    from app.adjudication import adjudicate, Claim, PolicyCover, Insured, Accumulators
    result = adjudicate(product, claim, policy, insured, accumulators)
    # result.payable_fen, result.buckets, result.lines, result.reason_codes, result.deltas

`estimate` is the same engine run against the current accumulators (nothing is applied).
The rules, in order, are documented in docs/adjudication.md.
"""

from app.adjudication.engine import (
    KIND_NAMES,
    adjudicate,
    deductible_key,
    effective_deductible,
    estimate,
    ratio_schedule,
)
from app.adjudication.model import (
    DECISIONS,
    UNITEMISED,
    AccumulatorDeltas,
    Accumulators,
    Adjudication,
    BasicInsurance,
    BucketResult,
    Claim,
    ClaimLine,
    Explanation,
    Insured,
    PolicyCover,
    SubCapKey,
)
from app.adjudication.money import BP, round_half_up_fen
from app.adjudication.reasons import REASONS

__all__ = [
    "BP",
    "DECISIONS",
    "KIND_NAMES",
    "REASONS",
    "UNITEMISED",
    "AccumulatorDeltas",
    "Accumulators",
    "Adjudication",
    "BasicInsurance",
    "BucketResult",
    "Claim",
    "ClaimLine",
    "Explanation",
    "Insured",
    "PolicyCover",
    "SubCapKey",
    "adjudicate",
    "deductible_key",
    "effective_deductible",
    "estimate",
    "ratio_schedule",
    "round_half_up_fen",
]
