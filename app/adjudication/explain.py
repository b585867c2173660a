"""The explanation lines the engine writes (pure, like the engine): the collector of a run's
lines, and the Chinese and English text of each line, given the figures the engine computed.

Every line carries a stable reason code from reasons.py; the engine decides which line applies
and with which figures, this module only words it. Integers only: money is formatted with
money.yuan / exact_yuan, ratios with money.percent.

A line is written as a plain tuple (code, bucket, text, args): `text(*args)` gives its (Chinese,
English). Nothing is formatted and no Explanation is made while the engine runs: both happen
when `Adjudication.lines` is first read (model.Adjudication), so a claim whose lines nobody
reads (an estimate's figures, a benchmark, the engine's own decision) costs one tuple a line.
The args are the figures fixed when the line is written (ints, strings, dates, tuples, frozen
product parts), so the text is the same whenever it is read. The `_..._text` functions below
are that wording, one per kind of line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.adjudication.model import Claim, Insured, PolicyCover
from app.adjudication.money import exact_yuan, percent, yuan
from app.products.definition import Bucket, SubCap

KIND_NAMES = {
    "in_policy_self_pay": ("医保政策范围内个人自付", "in-policy self-pay"),
    "out_of_policy_self_pay": ("医保范围外自费", "out-of-policy self-pay"),
    "special_drugs": ("特药费用", "special drugs"),
    "proton_heavy_ion": ("质子重离子费用", "proton / heavy-ion therapy"),
}

# Policy states as a member reads them (app.policies.models.PolicyStatus lives above this layer).
_POLICY_STATUS_ZH = {"surrendered": "已退保", "void": "已作废（未生效）"}

Text = Callable[..., tuple[str, str]]
Line = tuple[
    str, str | None, Text, tuple[Any, ...]
]  # (code, bucket, text, args): text(*args) = (zh, en)


def kind_names(names: dict[str, str], kinds: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """(Chinese, English) name of each amount kind; a product's own kind by its declared name."""
    return {
        kind: KIND_NAMES.get(kind) or (names.get(kind, kind), kind.replace("_", " "))
        for kind in kinds
    }


class Run:
    """The lines of one adjudication, in order, as written (see the module docstring);
    `kind_names` names the amount kinds of the product (kind_names() above)."""

    __slots__ = ("kind_names", "lines")

    def __init__(self, kind_names: dict[str, tuple[str, str]]) -> None:
        self.lines: list[Line] = []
        self.kind_names = kind_names


def _fixed(zh: str, en: str) -> tuple[str, str]:
    """The text of a line that has no figures."""
    return zh, en


# --- 1. eligibility -------------------------------------------------------------------------------


def eligibility(run: Run, claim: Claim, policy: PolicyCover, insured: Insured) -> bool:
    """Coverage dates, basic insurance on the date of care, the policy's status: one line each.
    True when the claim is eligible (no line denies it)."""
    day, start, end = claim.care_date, policy.coverage_starts, policy.coverage_ends
    covered = start <= day <= end
    suspended = insured.basic_insurance.suspended_on(day)
    active = policy.status == "active"
    add = run.lines.append
    if covered:
        add(("care_within_coverage", None, _within_coverage_text, (day, start, end)))
    else:
        add(("care_outside_coverage", None, _outside_coverage_text, (day, start, end)))
    if suspended:
        add(("basic_insurance_suspended", None, _suspended_text, (day,)))
    else:
        add(("basic_insurance_active", None, _basic_active_text, (day,)))
    if active:
        add(("policy_active", None, _fixed, ("保单有效", "the policy is active")))
    else:
        add(("policy_not_active", None, _policy_not_active_text, (policy.status,)))
    return covered and not suspended and active


def _within_coverage_text(day: date, start: date, end: date) -> tuple[str, str]:
    return (
        f"就医日期 {day} 在保障期 {start} 至 {end} 内",
        f"date of care {day} is within the coverage period {start} to {end}",
    )


def _outside_coverage_text(day: date, start: date, end: date) -> tuple[str, str]:
    return (
        f"就医日期 {day} 不在保障期 {start} 至 {end} 内，不予赔付",
        f"date of care {day} is outside the coverage period {start} to {end}: not payable",
    )


def _suspended_text(day: date) -> tuple[str, str]:
    return (
        f"就医日期 {day} 基本医保处于暂停或中断状态，不享受惠民保待遇",
        f"basic insurance was suspended on the date of care {day}: no benefit",
    )


def _basic_active_text(day: date) -> tuple[str, str]:
    return (
        f"就医日期 {day} 基本医保正常参保",
        f"basic insurance was active on the date of care {day}",
    )


def _policy_not_active_text(status: str) -> tuple[str, str]:
    return (
        f"保单{_POLICY_STATUS_ZH.get(status, '未生效')}，不予赔付",
        f"the policy is {status}: not payable",
    )


def not_payable_total(run: Run) -> None:
    run.lines.append(("payable_total", None, _fixed, ("本次赔付 0.00 元", "payable 0.00 yuan")))


def payable_total(run: Run, total: int) -> None:
    run.lines.append(("payable_total", None, _payable_total_text, (total,)))


def _payable_total_text(total: int) -> tuple[str, str]:
    y = yuan(total)
    return f"本次赔付合计 {y} 元", f"total payable {y} yuan"


def amount_not_covered(run: Run, kind: str, amount: int) -> None:
    run.lines.append(
        ("amount_not_covered", None, _not_covered_text, (run.kind_names[kind], amount))
    )


def _not_covered_text(name: tuple[str, str], amount: int) -> tuple[str, str]:
    (zh, en), y = name, yuan(amount)
    return (
        f"{zh} {y} 元不属于本产品保障责任",
        f"{en} {y} yuan is not covered by any bucket of this product",
    )


# --- 2. coordination of benefits ------------------------------------------------------------------


def medical_assistance(run: Run, maf: int, in_policy: int, take: int) -> None:
    run.lines.append(
        ("medical_assistance_deducted", None, _assistance_text, (maf, in_policy, take))
    )


def _assistance_text(maf: int, in_policy: int, take: int) -> tuple[str, str]:
    paid, before, taken, after = yuan(maf), yuan(in_policy), yuan(take), yuan(in_policy - take)
    return (
        f"医疗救助支付 {paid} 元，政策范围内个人自付 {before} 元扣除 {taken} 元后为 {after} 元",
        f"medical assistance paid {paid} yuan: in-policy self-pay "
        f"{before} yuan less {taken} yuan is {after} yuan",
    )


def medical_assistance_excess(run: Run, left: int) -> None:
    run.lines.append(("medical_assistance_exceeds_in_policy", None, _excess_text, (left,)))


def _excess_text(left: int) -> tuple[str, str]:
    y = yuan(left)
    return (
        f"医疗救助支付额超过政策范围内个人自付 {y} 元，超出部分从其他自付费用中扣除，转人工审核",
        f"medical assistance exceeds in-policy self-pay by {y} yuan; the excess "
        f"is deducted from the other amounts and the claim goes to review",
    )


def settlement_sum(run: Run, claim: Claim, payers: int, carried: int) -> None:
    """Do the public layers and what the member carries add up to no more than the total?"""
    if claim.medfee_sumamt_fen < payers + carried:
        run.lines.append(
            ("amounts_inconsistent", None, _inconsistent_text, (claim, payers, carried))
        )
    else:
        run.lines.append(("amounts_consistent", None, _consistent_text, (claim, payers, carried)))


def _sum_text(claim: Claim, payers: int, carried: int) -> tuple[str, str]:
    basic, serious = yuan(claim.hifp_pay_fen), yuan(claim.hifmi_pay_fen + claim.hifob_pay_fen)
    assistance, member, total = yuan(claim.maf_pay_fen), yuan(carried), yuan(payers + carried)
    return (
        f"基本医保 {basic} + 大病/大额 {serious} + 医疗救助 {assistance} + 个人负担 {member}"
        f" = {total} 元",
        f"basic {basic} + critical illness/large amount {serious} + assistance {assistance}"
        f" + member {member} = {total} yuan",
    )


def _inconsistent_text(claim: Claim, payers: int, carried: int) -> tuple[str, str]:
    (zh, en), cost = _sum_text(claim, payers, carried), yuan(claim.medfee_sumamt_fen)
    return (
        f"{zh}，超过医疗费用总额 {cost} 元，转人工审核",
        f"{en}, more than the total cost {cost} yuan: held for review",
    )


def _consistent_text(claim: Claim, payers: int, carried: int) -> tuple[str, str]:
    (zh, en), cost = _sum_text(claim, payers, carried), yuan(claim.medfee_sumamt_fen)
    return f"{zh}，不超过医疗费用总额 {cost} 元", f"{en}, within the total cost {cost} yuan"


def lines_exceed_amount(run: Run, kind: str, listed: int, amount: int) -> None:
    run.lines.append(
        ("amounts_inconsistent", None, _lines_exceed_text, (run.kind_names[kind], listed, amount))
    )


def _lines_exceed_text(name: tuple[str, str], listed: int, amount: int) -> tuple[str, str]:
    (zh, en), lines, declared = name, yuan(listed), yuan(amount)
    return (
        f"{zh}明细合计 {lines} 元超过申报金额 {declared} 元，转人工审核",
        f"itemised {en} lines add up to {lines} yuan, more than the amount "
        f"{declared} yuan: held for review",
    )


def coordination(run: Run, net: dict[str, int]) -> None:
    """What the member still carries, kind by kind (`net` copied: the caller's dict may change)."""
    run.lines.append(
        ("coordination_applied", None, _coordination_text, (run.kind_names, tuple(net.items())))
    )


def _coordination_text(
    names: dict[str, tuple[str, str]], net: tuple[tuple[str, int], ...]
) -> tuple[str, str]:
    carried = [(names[k], yuan(v)) for k, v in net if v]
    summary_zh = "，".join(f"{zh} {y} 元" for (zh, _), y in carried)
    summary_en = ", ".join(f"{en} {y} yuan" for (_, en), y in carried)
    return (
        f"基本医保、大病保险、医疗救助之后个人仍负担：{summary_zh or '0.00 元'}",
        f"after basic insurance, critical-illness insurance and medical assistance the member "
        f"still carries: {summary_en or '0.00 yuan'}",
    )


# --- 3. mapping into buckets ----------------------------------------------------------------------


def commercial_list_unverifiable(run: Run, bucket: Bucket, kind: str, amount: int) -> None:
    args = (run.kind_names[kind], amount)
    run.lines.append(("commercial_list_unverifiable", bucket.code, _unverifiable_text, args))


def _unverifiable_text(name: tuple[str, str], amount: int) -> tuple[str, str]:
    (zh, en), y = name, yuan(amount)
    return (
        f"{zh} {y} 元无费用明细，无法核对商保目录，不予计入",
        f"{en} {y} yuan has no itemised lines: the commercial list cannot be verified, not counted",
    )


def commercial_list_itemised(
    run: Run, bucket: Bucket, kind: str, counted: int, not_listed: int, unitemised: int
) -> None:
    args = (run.kind_names[kind], counted, not_listed, unitemised)
    run.lines.append(("commercial_list_itemised", bucket.code, _itemised_text, args))


def _itemised_text(
    name: tuple[str, str], counted: int, not_listed: int, unitemised: int
) -> tuple[str, str]:
    (zh, en), on, off, loose = name, yuan(counted), yuan(not_listed), yuan(unitemised)
    return (
        f"{zh}：商保目录内 {on} 元计入，目录外 {off} 元、无明细 {loose} 元不计入",
        f"{en}: {on} yuan on the commercial list counted; "
        f"{off} yuan off the list and {loose} yuan without itemised lines not counted",
    )


def commercial_list_not_required(run: Run, bucket: Bucket, kind: str, amount: int) -> None:
    args = (run.kind_names[kind], amount)
    run.lines.append(("commercial_list_not_required", bucket.code, _not_required_text, args))


def _not_required_text(name: tuple[str, str], amount: int) -> tuple[str, str]:
    (zh, en), y = name, yuan(amount)
    return (
        f"{zh}：本责任不限商保目录，{y} 元全部计入",
        f"{en}: this bucket does not require the commercial list, all {y} yuan counted",
    )


def amount_mapped(run: Run, bucket: Bucket, kind: str, counted: int) -> None:
    run.lines.append(
        ("amount_mapped", bucket.code, _mapped_text, (run.kind_names[kind], bucket, counted))
    )


def _mapped_text(name: tuple[str, str], bucket: Bucket, counted: int) -> tuple[str, str]:
    (zh, en), y = name, yuan(counted)
    return f"{zh} {y} 元计入“{bucket.name}”", f"{en} {y} yuan counted in bucket {bucket.code}"


# --- 4. deductible --------------------------------------------------------------------------------


def deductible_basis(run: Run, bucket: Bucket, insured: Insured, deductible: int) -> None:
    """Why the year's deductible is not the bucket's plain deductible_fen (once per key)."""
    if insured.health == "pre_existing" and bucket.deductible_pre_existing_fen is not None:
        run.lines.append(
            ("deductible_pre_existing", bucket.code, _pre_existing_text, (deductible,))
        )
    elif deductible != bucket.deductible_fen:
        args = (insured.healthy_renewal_years, bucket.deductible_fen, deductible)
        run.lines.append(("deductible_renewal_reduced", bucket.code, _renewal_text, args))


def _pre_existing_text(deductible: int) -> tuple[str, str]:
    y = yuan(deductible)
    return f"既往症人群起付线 {y} 元", f"pre-existing deductible {y} yuan"


def _renewal_text(years: int, plain: int, deductible: int) -> tuple[str, str]:
    was, now = yuan(plain), yuan(deductible)
    return (
        f"连续健康续保 {years} 年，起付线由 {was} 元降至 {now} 元",
        f"{years} continuous healthy renewals lower the deductible from {was} to {now} yuan",
    )


def deductible(
    run: Run, bucket: Bucket, key: str, deductible: int, before: int, absorbed: int, counted: int
) -> None:
    """What the deductible (`before` of it left) took of the bucket's `counted` spend."""
    if deductible == 0:
        run.lines.append(
            (
                "deductible_none",
                bucket.code,
                _fixed,
                ("本责任无起付线", "this bucket has no deductible"),
            )
        )
        return
    shared = key if bucket.deductible_group else None
    if before == 0:
        args: tuple[Any, ...] = (deductible, shared, counted)
        run.lines.append(("deductible_already_met", bucket.code, _already_met_text, args))
    else:
        args = (deductible, shared, before, absorbed, counted)
        run.lines.append(("deductible_applied", bucket.code, _deductible_text, args))


def _shared(group: str | None) -> tuple[str, str]:
    if group is None:
        return "", ""
    return f"（与同组责任共用“{group}”）", f" (shared deductible group {group})"


def _already_met_text(deductible: int, group: str | None, counted: int) -> tuple[str, str]:
    (shared, shared_en), full, above = _shared(group), yuan(deductible), yuan(counted)
    return (
        f"年度累计起付线 {full} 元{shared}已累计达到（本年此前的费用或本次先计算的"
        f"责任），{above} 元全部超过起付线",
        f"the annual deductible of {full} yuan{shared_en} is already met (by "
        f"earlier spend this year or a bucket computed before this one): all "
        f"{above} yuan is above it",
    )


def _deductible_text(
    deductible: int, group: str | None, before: int, absorbed: int, counted: int
) -> tuple[str, str]:
    shared, shared_en = _shared(group)
    full, used, now = yuan(deductible), yuan(deductible - before), yuan(absorbed)
    left, above = yuan(before - absorbed), yuan(counted - absorbed)
    return (
        f"年度累计起付线 {full} 元{shared}，此前已累计 {used} 元，本次抵扣 {now} 元，尚余 "
        f"{left} 元；超过起付线的部分 {above} 元",
        f"annual deductible {full} yuan{shared_en}: {used} used before, {now} used now, "
        f"{left} left; {above} yuan above the deductible",
    )


# --- 5. ratio and rounding ------------------------------------------------------------------------


def ratio_segment(
    run: Run, bucket: Bucket, index: int, lo: int, bp: int, length: int, *, above: bool = False
) -> None:
    """`length` fen of the year's eligible spend paid at `bp`: the base ratio (index 0) or the
    tier starting at `lo` (of the spend above the deductible when `above`)."""
    if index == 0:
        run.lines.append(("ratio_applied", bucket.code, _ratio_text, (length, bp)))
    elif above:
        run.lines.append(("tier_applied", bucket.code, _tier_above_text, (lo, length, bp)))
    else:
        run.lines.append(("tier_applied", bucket.code, _tier_text, (lo, length, bp)))


def _ratio_text(length: int, bp: int) -> tuple[str, str]:
    spend, ratio, paid = yuan(length), percent(bp), exact_yuan(length * bp)
    return f"{spend} 元 × {ratio} = {paid} 元", f"{spend} yuan x {ratio} = {paid} yuan"


def _tier_above_text(lo: int, length: int, bp: int) -> tuple[str, str]:
    start, spend, ratio, paid = yuan(lo), yuan(length), percent(bp), exact_yuan(length * bp)
    return (
        f"超过起付线后的年度累计费用超过 {start} 元的部分 {spend} 元 × {ratio} = {paid} 元",
        f"the part of the year's spend above the deductible beyond {start} yuan, "
        f"{spend} yuan x {ratio} = {paid} yuan",
    )


def _tier_text(lo: int, length: int, bp: int) -> tuple[str, str]:
    start, spend, ratio, paid = yuan(lo), yuan(length), percent(bp), exact_yuan(length * bp)
    return (
        f"年度累计合规费用超过 {start} 元的部分 {spend} 元 × {ratio} = {paid} 元",
        f"the part of the year's eligible spend above {start} yuan, "
        f"{spend} yuan x {ratio} = {paid} yuan",
    )


def rounding(run: Run, bucket: Bucket, numerator: int, rounded: int, *, per_item: bool) -> None:
    text = _rounding_per_item_text if per_item else _rounding_text
    run.lines.append(("rounding_applied", bucket.code, text, (numerator, rounded)))


def _rounding_per_item_text(numerator: int, rounded: int) -> tuple[str, str]:
    exact, fen = exact_yuan(numerator), yuan(rounded)
    return (
        f"按项目四舍五入到分：{exact} 元计为 {fen} 元",
        f"rounded half up to the fen item by item: {exact} yuan becomes {fen} yuan",
    )


def _rounding_text(numerator: int, rounded: int) -> tuple[str, str]:
    exact, fen = exact_yuan(numerator), yuan(rounded)
    return (
        f"四舍五入到分：{exact} 元计为 {fen} 元",
        f"rounded half up to the fen: {exact} yuan becomes {fen} yuan",
    )


# --- 6. sub-caps and 7. the annual cap ------------------------------------------------------------


def unitemised_as_one_item(run: Run, bucket: Bucket) -> None:
    run.lines.append(
        (
            "sub_cap_item_unitemised",
            bucket.code,
            _fixed,
            (
                "未分项的费用合并视为一个项目计算单项限额",
                "amounts without itemised lines are treated as one item for the per-item sub-cap",
            ),
        )
    )


def item_sub_cap(run: Run, bucket: Bucket, cap: SubCap, item: str, fen: int, rem: int) -> None:
    run.lines.append(("sub_cap_applied", bucket.code, _item_sub_cap_text, (cap, item, fen, rem)))


def _item_sub_cap_text(cap: SubCap, item: str, fen: int, rem: int) -> tuple[str, str]:
    limit, left, was = yuan(cap.cap_fen), yuan(rem), yuan(fen)
    return (
        f"{cap.name}（项目 {item}）{limit} 元，尚余 {left} 元：{was} 元降为 {left} 元",
        f"sub-cap {cap.code} (item {item}) of {limit} yuan "
        f"has {left} yuan left: {was} becomes {left} yuan",
    )


def admission_unidentified(run: Run, bucket: Bucket, cap: SubCap) -> None:
    run.lines.append(("admission_unidentified", bucket.code, _unidentified_text, (cap,)))


def _unidentified_text(cap: SubCap) -> tuple[str, str]:
    limit = yuan(cap.cap_fen)
    return (
        f"缺少住院号，{cap.name} {limit} 元仅按本次理赔计算，转人工审核",
        f"no admission id: sub-cap {cap.code} of {limit} yuan is "
        f"checked against this claim alone; held for review",
    )


def scope_sub_cap(
    run: Run, bucket: Bucket, cap: SubCap, admission_id: str | None, amount: int, rem: int
) -> None:
    """A per-admission (`admission_id` named when known) or per-year sub-cap cut `amount`."""
    args = (cap, admission_id, amount, rem)
    run.lines.append(("sub_cap_applied", bucket.code, _scope_sub_cap_text, args))


def _scope_sub_cap_text(
    cap: SubCap, admission_id: str | None, amount: int, rem: int
) -> tuple[str, str]:
    what_zh = f"（住院 {admission_id}）" if admission_id else ""
    what_en = f" (admission {admission_id})" if what_zh else ""
    limit, left, was = yuan(cap.cap_fen), yuan(rem), yuan(amount)
    return (
        f"{cap.name}{what_zh} {limit} 元，尚余 {left} 元：{was} 元降为 {left} 元",
        f"sub-cap {cap.code}{what_en} of {limit} yuan has {left} yuan left: {was} becomes {left} yuan",
    )


def annual_cap(run: Run, bucket: Bucket, paid_before: int, cap_left: int, amount: int) -> None:
    assert bucket.cap_fen is not None  # a bucket with no cap never reaches its cap
    args = (bucket.cap_fen, paid_before, cap_left, amount)
    run.lines.append(("cap_applied", bucket.code, _annual_cap_text, args))


def _annual_cap_text(cap: int, paid_before: int, cap_left: int, amount: int) -> tuple[str, str]:
    limit, paid, left, was = yuan(cap), yuan(paid_before), yuan(cap_left), yuan(amount)
    return (
        f"年度封顶线 {limit} 元，此前已赔 {paid} 元，尚余 {left} 元：{was} 元降为 {left} 元",
        f"annual cap {limit} yuan, {paid} paid before, {left} left: {was} becomes {left} yuan",
    )


def bucket_payable(run: Run, bucket: Bucket, payable: int) -> None:
    run.lines.append(("bucket_payable", bucket.code, _bucket_payable_text, (bucket, payable)))


def _bucket_payable_text(bucket: Bucket, payable: int) -> tuple[str, str]:
    y = yuan(payable)
    return f"“{bucket.name}”赔付 {y} 元", f"bucket {bucket.code} pays {y} yuan"
