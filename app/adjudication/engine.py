"""The claim adjudication engine: pure functions over frozen dataclasses (see docs/adjudication.md).

    adjudicate(product, claim, policy, insured, accumulators) -> Adjudication

Rules, in order (each writes explanation lines with a stable reason code, see reasons.py):
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

from dataclasses import dataclass

from app.adjudication.model import (
    UNITEMISED,
    AccumulatorDeltas,
    Accumulators,
    Adjudication,
    BucketResult,
    Claim,
    Explanation,
    Insured,
    PolicyCover,
    SubCapKey,
)
from app.adjudication.money import BP, exact_yuan, percent, round_half_up_fen, yuan
from app.adjudication.reasons import DENY, REASONS, REVIEW
from app.products.definition import COUNTABLE_AMOUNTS, Bucket, ProductDefinition

KIND_NAMES = {
    "in_policy_self_pay": ("医保政策范围内个人自付", "in-policy self-pay"),
    "out_of_policy_self_pay": ("医保范围外自费", "out-of-policy self-pay"),
    "special_drugs": ("特药费用", "special drugs"),
    "proton_heavy_ion": ("质子重离子费用", "proton / heavy-ion therapy"),
}


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


def _segments(schedule: tuple[tuple[int, int], ...], start: int, end: int):
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


class _Run:
    def __init__(self) -> None:
        self.lines: list[Explanation] = []
        self.review = False

    def add(self, code: str, zh: str, en: str, bucket: str | None = None) -> None:
        if code not in REASONS:
            raise AssertionError(f"unknown reason code {code}")
        if code in REVIEW:
            self.review = True
        self.lines.append(Explanation(code=code, zh=zh, en=en, bucket=bucket))

    def codes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.lines:
            seen.setdefault(line.code, None)
        return tuple(seen)


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
    run = _Run()

    # 1. eligibility -----------------------------------------------------------------------------
    day = claim.care_date.isoformat()
    start, end = policy.coverage_starts.isoformat(), policy.coverage_ends.isoformat()
    if policy.covers(claim.care_date):
        run.add(
            "care_within_coverage",
            f"就医日期 {day} 在保障期 {start} 至 {end} 内",
            f"date of care {day} is within the coverage period {start} to {end}",
        )
    else:
        run.add(
            "care_outside_coverage",
            f"就医日期 {day} 不在保障期 {start} 至 {end} 内，不予赔付",
            f"date of care {day} is outside the coverage period {start} to {end}: not payable",
        )
    if insured.basic_insurance.suspended_on(claim.care_date):
        run.add(
            "basic_insurance_suspended",
            f"就医日期 {day} 基本医保处于暂停或中断状态，不享受惠民保待遇",
            f"basic insurance was suspended on the date of care {day}: no benefit",
        )
    else:
        run.add(
            "basic_insurance_active",
            f"就医日期 {day} 基本医保正常参保",
            f"basic insurance was active on the date of care {day}",
        )
    if policy.status == "active":
        run.add("policy_active", "保单有效", "the policy is active")
    else:
        run.add(
            "policy_not_active",
            f"保单状态为 {policy.status}，不予赔付",
            f"the policy is {policy.status}: not payable",
        )
    if any(line.code in DENY for line in run.lines):
        run.add("payable_total", "本次赔付 0.00 元", "payable 0.00 yuan")
        return Adjudication(
            decision="not_payable",
            payable_fen=0,
            buckets=(),
            lines=tuple(run.lines),
            reason_codes=run.codes(),
            deltas=AccumulatorDeltas(),
        )

    # 2. coordination of benefits ----------------------------------------------------------------
    net = _coordinate(run, claim)

    # 3.-7. buckets ------------------------------------------------------------------------------
    counted_by = {kind: b for b in product.buckets for kind in b.counts}
    for kind in COUNTABLE_AMOUNTS:
        if net[kind] > 0 and kind not in counted_by:
            zh, en = KIND_NAMES[kind]
            run.add(
                "amount_not_covered",
                f"{zh} {yuan(net[kind])} 元不属于本产品保障责任",
                f"{en} {yuan(net[kind])} yuan is not covered by any bucket of this product",
            )

    remaining_deductible: dict[str, int] = {}  # deductible key -> left, as this claim runs
    results: list[BucketResult] = []
    deltas = {"paid": {}, "eligible": {}, "deductible": {}, "sub_caps": {}}
    for bucket in product.buckets:
        result = _bucket(run, bucket, claim, insured, acc, net, remaining_deductible, deltas)
        if result is not None:
            results.append(result)

    total = sum(r.payable_fen for r in results)
    run.add("payable_total", f"本次赔付合计 {yuan(total)} 元", f"total payable {yuan(total)} yuan")
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


def _coordinate(run: _Run, claim: Claim) -> dict[str, int]:
    """The member's remaining amounts per kind after the public layers.

    hifp/hifmi/hifob have already been deducted by the bureau from the member amounts in the
    settlement (they are used only in the consistency check). Medical assistance (maf_pay) paid
    part of the member's in-policy self-pay: it is subtracted from in-policy self-pay; any excess
    (which should not happen) is subtracted from the other amounts in COUNTABLE_AMOUNTS order and
    sends the claim to review.
    """
    net = {kind: claim.amount(kind) for kind in COUNTABLE_AMOUNTS}
    maf = claim.maf_pay_fen
    if maf:
        take = min(maf, net["in_policy_self_pay"])
        run.add(
            "medical_assistance_deducted",
            f"医疗救助支付 {yuan(maf)} 元，政策范围内个人自付 {yuan(net['in_policy_self_pay'])} 元"
            f"扣除 {yuan(take)} 元后为 {yuan(net['in_policy_self_pay'] - take)} 元",
            f"medical assistance paid {yuan(maf)} yuan: in-policy self-pay "
            f"{yuan(net['in_policy_self_pay'])} yuan less {yuan(take)} yuan is "
            f"{yuan(net['in_policy_self_pay'] - take)} yuan",
        )
        net["in_policy_self_pay"] -= take
        left = maf - take
        if left:
            run.add(
                "medical_assistance_exceeds_in_policy",
                f"医疗救助支付额超过政策范围内个人自付 {yuan(left)} 元，超出部分从其他自付费用中扣除，"
                f"转人工审核",
                f"medical assistance exceeds in-policy self-pay by {yuan(left)} yuan; the excess "
                f"is deducted from the other amounts and the claim goes to review",
            )
            for kind in COUNTABLE_AMOUNTS[1:]:
                take = min(left, net[kind])
                net[kind] -= take
                left -= take

    payers = claim.hifp_pay_fen + claim.hifmi_pay_fen + claim.hifob_pay_fen + claim.maf_pay_fen
    carried = sum(net.values())
    parts = (
        f"基本医保 {yuan(claim.hifp_pay_fen)} + 大病/大额 "
        f"{yuan(claim.hifmi_pay_fen + claim.hifob_pay_fen)} + 医疗救助 {yuan(claim.maf_pay_fen)}"
        f" + 个人负担 {yuan(carried)} = {yuan(payers + carried)} 元"
    )
    parts_en = (
        f"basic {yuan(claim.hifp_pay_fen)} + critical illness/large amount "
        f"{yuan(claim.hifmi_pay_fen + claim.hifob_pay_fen)} + assistance "
        f"{yuan(claim.maf_pay_fen)} + member {yuan(carried)} = {yuan(payers + carried)} yuan"
    )
    if claim.medfee_sumamt_fen < payers + carried:
        run.add(
            "amounts_inconsistent",
            f"{parts}，超过医疗费用总额 {yuan(claim.medfee_sumamt_fen)} 元，转人工审核",
            f"{parts_en}, more than the total cost {yuan(claim.medfee_sumamt_fen)} yuan: "
            f"held for review",
        )
    else:
        run.add(
            "amounts_consistent",
            f"{parts}，不超过医疗费用总额 {yuan(claim.medfee_sumamt_fen)} 元",
            f"{parts_en}, within the total cost {yuan(claim.medfee_sumamt_fen)} yuan",
        )
    for kind in COUNTABLE_AMOUNTS:
        listed = sum(line.amount_fen for line in claim.lines_of(kind))
        if listed > claim.amount(kind):
            zh, en = KIND_NAMES[kind]
            run.add(
                "amounts_inconsistent",
                f"{zh}明细合计 {yuan(listed)} 元超过申报金额 {yuan(claim.amount(kind))} 元，"
                f"转人工审核",
                f"itemised {en} lines add up to {yuan(listed)} yuan, more than the amount "
                f"{yuan(claim.amount(kind))} yuan: held for review",
            )
    summary_zh = "，".join(f"{KIND_NAMES[k][0]} {yuan(v)} 元" for k, v in net.items() if v)
    summary_en = ", ".join(f"{KIND_NAMES[k][1]} {yuan(v)} yuan" for k, v in net.items() if v)
    run.add(
        "coordination_applied",
        f"基本医保、大病保险、医疗救助之后个人仍负担：{summary_zh or '0.00 元'}",
        f"after basic insurance, critical-illness insurance and medical assistance the member "
        f"still carries: {summary_en or '0.00 yuan'}",
    )
    return net


# --- 3.-7. one bucket -----------------------------------------------------------------------------


def _trim(lines, limit: int) -> list[tuple[object, int]]:
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


def _map(run: _Run, bucket: Bucket, claim: Claim, net: dict[str, int]) -> tuple[list[_Piece], int]:
    pieces: list[_Piece] = []
    excluded = 0
    code = bucket.code
    for kind in bucket.counts:
        amount = net[kind]
        lines = claim.lines_of(kind)
        if amount == 0:
            continue
        zh, en = KIND_NAMES[kind]
        trimmed = _trim(lines, amount)
        if bucket.commercial_list_required:
            if not lines:
                excluded += amount
                run.add(
                    "commercial_list_unverifiable",
                    f"{zh} {yuan(amount)} 元无费用明细，无法核对商保目录，不予计入",
                    f"{en} {yuan(amount)} yuan has no itemised lines: the commercial list "
                    f"cannot be verified, not counted",
                    code,
                )
                continue
            listed = [(line, a) for line, a in trimmed if line.on_commercial_list and a]
            counted = sum(a for _, a in listed)
            not_listed = sum(a for line, a in trimmed if not line.on_commercial_list)
            unitemised = amount - sum(a for _, a in trimmed)
            excluded += amount - counted
            pieces += [_Piece(kind, line.item_code, a) for line, a in listed]
            run.add(
                "commercial_list_itemised",
                f"{zh}：商保目录内 {yuan(counted)} 元计入，目录外 {yuan(not_listed)} 元、"
                f"无明细 {yuan(unitemised)} 元不计入",
                f"{en}: {yuan(counted)} yuan on the commercial list counted; "
                f"{yuan(not_listed)} yuan off the list and {yuan(unitemised)} yuan without "
                f"itemised lines not counted",
                code,
            )
        else:
            pieces += [_Piece(kind, line.item_code, a) for line, a in trimmed if a]
            rest = amount - sum(a for _, a in trimmed)
            if rest:
                pieces.append(_Piece(kind, UNITEMISED, rest))
            if kind != "in_policy_self_pay":
                run.add(
                    "commercial_list_not_required",
                    f"{zh}：本责任不限商保目录，{yuan(amount)} 元全部计入",
                    f"{en}: this bucket does not require the commercial list, all "
                    f"{yuan(amount)} yuan counted",
                    code,
                )
            counted = amount
        run.add(
            "amount_mapped",
            f"{zh} {yuan(counted)} 元计入“{bucket.name}”",
            f"{en} {yuan(counted)} yuan counted in bucket {code}",
            code,
        )
    return pieces, excluded


def _bucket(
    run: _Run,
    bucket: Bucket,
    claim: Claim,
    insured: Insured,
    acc: Accumulators,
    net: dict[str, int],
    remaining_deductible: dict[str, int],
    deltas: dict,
) -> BucketResult | None:
    code = bucket.code
    if not any(net[kind] for kind in bucket.counts):
        return None
    pieces, excluded = _map(run, bucket, claim, net)
    counted = sum(p.amount for p in pieces)
    if counted == 0:
        run.add(
            "bucket_payable", f"“{bucket.name}”赔付 0.00 元", f"bucket {code} pays 0.00 yuan", code
        )
        return BucketResult(code, bucket.name, 0, excluded, 0, 0, 0, 0, 0)

    # 4. deductible ------------------------------------------------------------------------------
    key = deductible_key(bucket)
    deductible = effective_deductible(bucket, insured)
    if key not in remaining_deductible:
        used = acc.deductible_used_fen.get(key, 0)
        remaining_deductible[key] = max(0, deductible - used)
        if insured.health == "pre_existing" and bucket.deductible_pre_existing_fen is not None:
            run.add(
                "deductible_pre_existing",
                f"既往症人群起付线 {yuan(deductible)} 元",
                f"pre-existing deductible {yuan(deductible)} yuan",
                code,
            )
        elif deductible != bucket.deductible_fen:
            run.add(
                "deductible_renewal_reduced",
                f"连续健康续保 {insured.healthy_renewal_years} 年，起付线由 "
                f"{yuan(bucket.deductible_fen)} 元降至 {yuan(deductible)} 元",
                f"{insured.healthy_renewal_years} continuous healthy renewals lower the "
                f"deductible from {yuan(bucket.deductible_fen)} to {yuan(deductible)} yuan",
                code,
            )
    before = remaining_deductible[key]
    absorbed = min(before, counted)
    remaining_deductible[key] = before - absorbed
    shared = f"（与同组责任共用“{key}”）" if bucket.deductible_group else ""
    shared_en = f" (shared deductible group {key})" if bucket.deductible_group else ""
    if deductible == 0:
        run.add("deductible_none", "本责任无起付线", "this bucket has no deductible", code)
    elif before == 0:
        run.add(
            "deductible_already_met",
            f"年度累计起付线 {yuan(deductible)} 元{shared}已累计达到（本年此前的费用或本次先计算的"
            f"责任），{yuan(counted)} 元全部超过起付线",
            f"the annual deductible of {yuan(deductible)} yuan{shared_en} is already met (by "
            f"earlier spend this year or a bucket computed before this one): all "
            f"{yuan(counted)} yuan is above it",
            code,
        )
    else:
        run.add(
            "deductible_applied",
            f"年度累计起付线 {yuan(deductible)} 元{shared}，此前已累计 "
            f"{yuan(deductible - before)} 元，本次抵扣 {yuan(absorbed)} 元，尚余 "
            f"{yuan(before - absorbed)} 元；超过起付线的部分 {yuan(counted - absorbed)} 元",
            f"annual deductible {yuan(deductible)} yuan{shared_en}: {yuan(deductible - before)}"
            f" used before, {yuan(absorbed)} used now, {yuan(before - absorbed)} left; "
            f"{yuan(counted - absorbed)} yuan above the deductible",
            code,
        )

    # 5. ratio, marginal tiers -------------------------------------------------------------------
    schedule = ratio_schedule(bucket, insured.health)
    position = acc.eligible_fen.get(code, 0)
    left = absorbed
    by_segment: dict[int, int] = {}
    for piece in pieces:
        piece.absorbed = min(left, piece.amount)
        left -= piece.absorbed
        for index, length, bp in _segments(
            schedule, position + piece.absorbed, position + piece.amount
        ):
            piece.numerator += length * bp
            by_segment[index] = by_segment.get(index, 0) + length
        position += piece.amount
    numerator = sum(p.numerator for p in pieces)
    for index in sorted(by_segment):
        lo, bp = schedule[index]
        length = by_segment[index]
        if index == 0:
            run.add(
                "ratio_applied",
                f"{yuan(length)} 元 × {percent(bp)} = {exact_yuan(length * bp)} 元",
                f"{yuan(length)} yuan x {percent(bp)} = {exact_yuan(length * bp)} yuan",
                code,
            )
        else:
            run.add(
                "tier_applied",
                f"年度累计合规费用超过 {yuan(lo)} 元的部分 {yuan(length)} 元 × {percent(bp)} = "
                f"{exact_yuan(length * bp)} 元",
                f"the part of the year's eligible spend above {yuan(lo)} yuan, "
                f"{yuan(length)} yuan x {percent(bp)} = {exact_yuan(length * bp)} yuan",
                code,
            )

    item_caps = [s for s in bucket.sub_caps if s.per == "item"]
    if item_caps:
        for piece in pieces:
            piece.fen = round_half_up_fen(piece.numerator, BP)
        after_ratio = sum(p.fen for p in pieces)
        if any(p.numerator % BP for p in pieces):
            run.add(
                "rounding_applied",
                f"按项目四舍五入到分：{exact_yuan(numerator)} 元计为 {yuan(after_ratio)} 元",
                f"rounded half up to the fen item by item: {exact_yuan(numerator)} yuan "
                f"becomes {yuan(after_ratio)} yuan",
                code,
            )
    else:
        after_ratio = round_half_up_fen(numerator, BP)
        if numerator % BP:
            run.add(
                "rounding_applied",
                f"四舍五入到分：{exact_yuan(numerator)} 元计为 {yuan(after_ratio)} 元",
                f"rounded half up to the fen: {exact_yuan(numerator)} yuan becomes "
                f"{yuan(after_ratio)} yuan",
                code,
            )

    # 6. sub-caps: per item, per admission, per year ---------------------------------------------
    sub_deltas: dict[SubCapKey, int] = deltas["sub_caps"]
    amount = after_ratio
    if item_caps:
        in_claim: dict[SubCapKey, int] = {}
        if any(p.item == UNITEMISED for p in pieces):
            run.add(
                "sub_cap_item_unitemised",
                "未分项的费用合并视为一个项目计算单项限额",
                "amounts without itemised lines are treated as one item for the per-item sub-cap",
                code,
            )
        for piece in pieces:
            for cap in item_caps:
                sk = SubCapKey(code, cap.code, piece.item)
                rem = max(0, cap.cap_fen - acc.sub_cap_used_fen.get(sk, 0) - in_claim.get(sk, 0))
                if piece.fen > rem:
                    run.add(
                        "sub_cap_applied",
                        f"{cap.name}（项目 {piece.item}）{yuan(cap.cap_fen)} 元，尚余 "
                        f"{yuan(rem)} 元：{yuan(piece.fen)} 元降为 {yuan(rem)} 元",
                        f"sub-cap {cap.code} (item {piece.item}) of {yuan(cap.cap_fen)} yuan "
                        f"has {yuan(rem)} yuan left: {yuan(piece.fen)} becomes {yuan(rem)} yuan",
                        code,
                    )
                    piece.fen = rem
            for cap in item_caps:
                sk = SubCapKey(code, cap.code, piece.item)
                in_claim[sk] = in_claim.get(sk, 0) + piece.fen
        amount = sum(p.fen for p in pieces)
    for per in ("admission", "year"):
        for cap in (s for s in bucket.sub_caps if s.per == per):
            if per == "admission" and claim.admission_id is None:
                rem = cap.cap_fen
                run.add(
                    "admission_unidentified",
                    f"缺少住院号，{cap.name} {yuan(cap.cap_fen)} 元仅按本次理赔计算，转人工审核",
                    f"no admission id: sub-cap {cap.code} of {yuan(cap.cap_fen)} yuan is "
                    f"checked against this claim alone; held for review",
                    code,
                )
            else:
                scope = claim.admission_id if per == "admission" else ""
                rem = max(
                    0, cap.cap_fen - acc.sub_cap_used_fen.get(SubCapKey(code, cap.code, scope), 0)
                )
            if amount > rem:
                what_zh = (
                    f"（住院 {claim.admission_id}）"
                    if per == "admission" and claim.admission_id
                    else ""
                )
                what_en = f" (admission {claim.admission_id})" if what_zh else ""
                run.add(
                    "sub_cap_applied",
                    f"{cap.name}{what_zh} {yuan(cap.cap_fen)} 元，尚余 {yuan(rem)} 元："
                    f"{yuan(amount)} 元降为 {yuan(rem)} 元",
                    f"sub-cap {cap.code}{what_en} of {yuan(cap.cap_fen)} yuan has "
                    f"{yuan(rem)} yuan left: {yuan(amount)} becomes {yuan(rem)} yuan",
                    code,
                )
                amount = rem
    after_sub_caps = amount

    # 7. annual cap -------------------------------------------------------------------------------
    paid_before = acc.paid_fen.get(code, 0)
    cap_left = max(0, bucket.cap_fen - paid_before)
    if amount > cap_left:
        run.add(
            "cap_applied",
            f"年度封顶线 {yuan(bucket.cap_fen)} 元，此前已赔 {yuan(paid_before)} 元，尚余 "
            f"{yuan(cap_left)} 元：{yuan(amount)} 元降为 {yuan(cap_left)} 元",
            f"annual cap {yuan(bucket.cap_fen)} yuan, {yuan(paid_before)} paid before, "
            f"{yuan(cap_left)} left: {yuan(amount)} becomes {yuan(cap_left)} yuan",
            code,
        )
        amount = cap_left
    payable = amount
    run.add(
        "bucket_payable",
        f"“{bucket.name}”赔付 {yuan(payable)} 元",
        f"bucket {code} pays {yuan(payable)} yuan",
        code,
    )

    # deltas ---------------------------------------------------------------------------------------
    def add(target: dict, k, v: int) -> None:
        if v:
            target[k] = target.get(k, 0) + v

    add(deltas["paid"], code, payable)
    add(deltas["eligible"], code, counted)
    add(deltas["deductible"], key, absorbed)
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
