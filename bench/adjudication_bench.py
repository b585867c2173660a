"""Adjudication engine throughput, pure (benchmark, not a test): claims per CPU-second on one core.

    .venv/bin/python bench/adjudication_bench.py [--seconds 5] [--profile] [--read-lines]

The workload: claims on the shipped 赣州 demo product (four buckets: in-policy, out-of-policy,
special drugs, proton) with accumulators part-used, so each claim crosses the deductible, the
ratio and the caps and writes its full explanation. The floor is a minimal loop over the same
arithmetic (coordination, mapping, deductible, ratio with half-up rounding, cap per bucket) with
no explanation and no dataclasses: what the numbers alone cost in Python.

`--read-lines` also reads every explanation line's Chinese and English text of every result
(what the claims service does when it stores a result): the engine's lines are made into
Explanation objects and formatted only when read, so this is the engine plus the wording.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Y = 100


def workload():
    from app.adjudication import Accumulators, Claim, ClaimLine, Insured, PolicyCover
    from app.products.loader import DEFINITIONS_DIR, load_file

    product = load_file(DEFINITIONS_DIR / "ganzhou-demo-2026.toml")
    policy = PolicyCover(product.coverage_starts, product.coverage_ends, "active")
    claims = []
    for n in range(64):
        in_policy = (8_000 + 731 * n) * Y + n
        out_policy = (3_000 + 517 * n) * Y + 7 * n
        drugs = (n % 5) * 9_000 * Y
        claims.append(
            Claim(
                care_kind="in_patient",
                care_date=date(2026, 3, 1 + n % 28),
                medfee_sumamt_fen=in_policy + out_policy + drugs + 40_000 * Y,
                hifp_pay_fen=30_000 * Y,
                hifmi_pay_fen=8_000 * Y,
                hifob_pay_fen=2_000 * Y,
                maf_pay_fen=(n % 3) * 500 * Y,
                in_policy_self_pay_fen=in_policy,
                out_of_policy_self_pay_fen=out_policy,
                special_drugs_fen=drugs,
                proton_heavy_ion_fen=0,
                other_amounts_fen={},
                lines=(
                    tuple(
                        ClaimLine(
                            item_code=f"XL01{n:03d}",
                            amount_fen=drugs,
                            on_commercial_list=True,
                            amount_kind="special_drugs",
                        )
                        for _ in range(1 if drugs else 0)
                    )
                ),
                admission_id=f"A{n}",
            )
        )
    accumulators = [
        Accumulators(
            paid_fen={},
            eligible_fen={},
            deductible_used_fen={"in_policy": (n % 4) * 5_000 * Y},
            sub_cap_used_fen={},
            above_deductible_fen={},
        )
        for n in range(64)
    ]
    insured = [Insured(), Insured(health="pre_existing")]
    return product, policy, claims, accumulators, insured


def engine_rate(seconds: float, read_lines: bool = False) -> float:
    from app.adjudication import adjudicate

    product, policy, claims, accumulators, insured = workload()
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for n, claim in enumerate(claims):
            result = adjudicate(product, claim, policy, insured[n % 2], accumulators[n])
            if read_lines:
                for line in result.lines:
                    line.zh, line.en  # noqa: B018 - the text is formatted when read
        done += len(claims)
    return done / (time.process_time() - start)


def _half_up(numerator: int, denominator: int) -> int:
    q, r = divmod(numerator, denominator)
    return q + (1 if 2 * r >= denominator else 0)


def loop_rate(seconds: float) -> float:
    """The same arithmetic in a minimal loop (the floor)."""
    product, policy, claims, accumulators, insured = workload()
    buckets = [
        (
            b.code,
            tuple(b.counts),
            b.deductible_fen,
            b.ratio_healthy_bp,
            b.ratio_pre_existing_bp,
            b.cap_fen,
        )
        for b in product.buckets
    ]
    done = 0
    total = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for n, c in enumerate(claims):
            if not (policy.coverage_starts <= c.care_date <= policy.coverage_ends):
                continue
            take = min(c.maf_pay_fen, c.in_policy_self_pay_fen)
            net = {
                "in_policy_self_pay": c.in_policy_self_pay_fen - take,
                "out_of_policy_self_pay": c.out_of_policy_self_pay_fen,
                "special_drugs": c.special_drugs_fen,
                "proton_heavy_ion": c.proton_heavy_ion_fen,
            }
            used = accumulators[n].deductible_used_fen
            pre = n % 2
            for code, counts, deductible, healthy, pre_bp, cap in buckets:
                amount = sum(net.get(k, 0) for k in counts)
                left = max(0, deductible - used.get(code, 0))
                over = max(0, amount - left)
                payable = _half_up(over * (pre_bp if pre else healthy), 10_000)
                total += min(payable, cap)
        done += len(claims)
    return done / (time.process_time() - start)


def measure(seconds: float = 5.0) -> tuple[float, float]:
    return engine_rate(seconds), loop_rate(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--read-lines", action="store_true", help="read every line's text too")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx(
            "engine_rate(s, r)",
            globals(),
            {"s": args.seconds, "r": args.read_lines},
            "/tmp/adjudication.prof",
        )
        pstats.Stats("/tmp/adjudication.prof").sort_stats("tottime").print_stats(25)
        return
    if args.read_lines:
        engine, floor = engine_rate(args.seconds, read_lines=True), loop_rate(args.seconds)
        print(f"engine + text {engine:10,.0f} claims per CPU-second (every line's text read)")
    else:
        engine, floor = measure(args.seconds)
        print(f"engine        {engine:10,.0f} claims per CPU-second")
    print(f"minimal loop  {floor:10,.0f} claims per CPU-second")
    print(f"ratio         {engine / floor:10.3f}   (target: engine >= 40,000)")


if __name__ == "__main__":
    main()
