"""The explanation lines the engine writes (pure, like the engine): the collector of a run's
lines, and the Chinese and English text of each line, given the figures the engine computed.

Every line carries a stable reason code from reasons.py; the engine decides which line applies
and with which figures, this module only words it. Integers only: money is formatted with
money.yuan / exact_yuan, ratios with money.percent.
"""

from __future__ import annotations

from collections.abc import Callable

from app.adjudication.model import Claim, Explanation, Insured, PolicyCover
from app.adjudication.money import exact_yuan, percent, yuan
from app.adjudication.reasons import REASONS, REVIEW
from app.products.definition import Bucket, SubCap

KIND_NAMES = {
    "in_policy_self_pay": ("医保政策范围内个人自付", "in-policy self-pay"),
    "out_of_policy_self_pay": ("医保范围外自费", "out-of-policy self-pay"),
    "special_drugs": ("特药费用", "special drugs"),
    "proton_heavy_ion": ("质子重离子费用", "proton / heavy-ion therapy"),
}

# Policy states as a member reads them (app.policies.models.PolicyStatus lives above this layer).
_POLICY_STATUS_ZH = {"surrendered": "已退保", "void": "已作废（未生效）"}


class Run:
    """The lines of one adjudication, in order; a line whose code is in REVIEW marks the run
    for review."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.lines: list[Explanation] = []
        self.review = False
        self.names = names or {}  # a product's own amount kinds: code -> Chinese name

    def kind_name(self, kind: str) -> tuple[str, str]:
        """(Chinese, English) name of an amount kind; a product's own kind is named by it."""
        if kind in KIND_NAMES:
            return KIND_NAMES[kind]
        return self.names.get(kind, kind), kind.replace("_", " ")

    def add(self, code: str, zh: str, en: str, bucket: str | None = None) -> None:
        if code not in REASONS:
            raise AssertionError(f"unknown reason code {code}")
        if code in REVIEW:
            self.review = True
        self.lines.append(Explanation(code, zh, en, bucket))

    def lazy(
        self, code: str, render: Callable[[], tuple[str, str]], bucket: str | None = None
    ) -> None:
        """A line whose text `render()` formats when first read (Explanation); its figures must
        not change afterwards (ints, strings, frozen values; copy a dict before capturing it)."""
        if code not in REASONS:
            raise AssertionError(f"unknown reason code {code}")
        if code in REVIEW:
            self.review = True
        self.lines.append(Explanation(code, bucket=bucket, render=render))

    def codes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for line in self.lines:
            seen.setdefault(line.code, None)
        return tuple(seen)


# --- 1. eligibility -------------------------------------------------------------------------------


def eligibility(run: Run, claim: Claim, policy: PolicyCover, insured: Insured) -> None:
    day = claim.care_date.isoformat()
    start, end = policy.coverage_starts.isoformat(), policy.coverage_ends.isoformat()
    if policy.covers(claim.care_date):
        run.lazy(
            "care_within_coverage",
            lambda: (
                f"就医日期 {day} 在保障期 {start} 至 {end} 内",
                f"date of care {day} is within the coverage period {start} to {end}",
            ),
        )
    else:
        run.lazy(
            "care_outside_coverage",
            lambda: (
                f"就医日期 {day} 不在保障期 {start} 至 {end} 内，不予赔付",
                f"date of care {day} is outside the coverage period {start} to {end}: not payable",
            ),
        )
    if insured.basic_insurance.suspended_on(claim.care_date):
        run.lazy(
            "basic_insurance_suspended",
            lambda: (
                f"就医日期 {day} 基本医保处于暂停或中断状态，不享受惠民保待遇",
                f"basic insurance was suspended on the date of care {day}: no benefit",
            ),
        )
    else:
        run.lazy(
            "basic_insurance_active",
            lambda: (
                f"就医日期 {day} 基本医保正常参保",
                f"basic insurance was active on the date of care {day}",
            ),
        )
    if policy.status == "active":
        run.add("policy_active", "保单有效", "the policy is active")
    else:
        run.lazy(
            "policy_not_active",
            lambda: (
                f"保单{_POLICY_STATUS_ZH.get(policy.status, '未生效')}，不予赔付",
                f"the policy is {policy.status}: not payable",
            ),
        )


def not_payable_total(run: Run) -> None:
    run.add("payable_total", "本次赔付 0.00 元", "payable 0.00 yuan")


def payable_total(run: Run, total: int) -> None:
    run.lazy(
        "payable_total",
        lambda: (f"本次赔付合计 {yuan(total)} 元", f"total payable {yuan(total)} yuan"),
    )


def amount_not_covered(run: Run, kind: str, amount: int) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "amount_not_covered",
        lambda: (
            f"{zh} {yuan(amount)} 元不属于本产品保障责任",
            f"{en} {yuan(amount)} yuan is not covered by any bucket of this product",
        ),
    )


# --- 2. coordination of benefits ------------------------------------------------------------------


def medical_assistance(run: Run, maf: int, in_policy: int, take: int) -> None:
    run.lazy(
        "medical_assistance_deducted",
        lambda: (
            f"医疗救助支付 {yuan(maf)} 元，政策范围内个人自付 {yuan(in_policy)} 元"
            f"扣除 {yuan(take)} 元后为 {yuan(in_policy - take)} 元",
            f"medical assistance paid {yuan(maf)} yuan: in-policy self-pay "
            f"{yuan(in_policy)} yuan less {yuan(take)} yuan is "
            f"{yuan(in_policy - take)} yuan",
        ),
    )


def medical_assistance_excess(run: Run, left: int) -> None:
    run.lazy(
        "medical_assistance_exceeds_in_policy",
        lambda: (
            f"医疗救助支付额超过政策范围内个人自付 {yuan(left)} 元，超出部分从其他自付费用中扣除，"
            f"转人工审核",
            f"medical assistance exceeds in-policy self-pay by {yuan(left)} yuan; the excess "
            f"is deducted from the other amounts and the claim goes to review",
        ),
    )


def settlement_sum(run: Run, claim: Claim, payers: int, carried: int) -> None:
    """Do the public layers and what the member carries add up to no more than the total?"""

    def parts() -> tuple[str, str]:
        return (
            f"基本医保 {yuan(claim.hifp_pay_fen)} + 大病/大额 "
            f"{yuan(claim.hifmi_pay_fen + claim.hifob_pay_fen)} + 医疗救助 "
            f"{yuan(claim.maf_pay_fen)} + 个人负担 {yuan(carried)} = {yuan(payers + carried)} 元",
            f"basic {yuan(claim.hifp_pay_fen)} + critical illness/large amount "
            f"{yuan(claim.hifmi_pay_fen + claim.hifob_pay_fen)} + assistance "
            f"{yuan(claim.maf_pay_fen)} + member {yuan(carried)} = {yuan(payers + carried)} yuan",
        )

    if claim.medfee_sumamt_fen < payers + carried:

        def inconsistent() -> tuple[str, str]:
            zh, en = parts()
            return (
                f"{zh}，超过医疗费用总额 {yuan(claim.medfee_sumamt_fen)} 元，转人工审核",
                f"{en}, more than the total cost {yuan(claim.medfee_sumamt_fen)} yuan: "
                f"held for review",
            )

        run.lazy("amounts_inconsistent", inconsistent)
    else:

        def consistent() -> tuple[str, str]:
            zh, en = parts()
            return (
                f"{zh}，不超过医疗费用总额 {yuan(claim.medfee_sumamt_fen)} 元",
                f"{en}, within the total cost {yuan(claim.medfee_sumamt_fen)} yuan",
            )

        run.lazy("amounts_consistent", consistent)


def lines_exceed_amount(run: Run, kind: str, listed: int, amount: int) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "amounts_inconsistent",
        lambda: (
            f"{zh}明细合计 {yuan(listed)} 元超过申报金额 {yuan(amount)} 元，转人工审核",
            f"itemised {en} lines add up to {yuan(listed)} yuan, more than the amount "
            f"{yuan(amount)} yuan: held for review",
        ),
    )


def coordination(run: Run, net: dict[str, int]) -> None:
    carried = tuple((k, v) for k, v in net.items() if v)  # fixed now: the caller's dict may change

    def render() -> tuple[str, str]:
        summary_zh = "，".join(f"{run.kind_name(k)[0]} {yuan(v)} 元" for k, v in carried)
        summary_en = ", ".join(f"{run.kind_name(k)[1]} {yuan(v)} yuan" for k, v in carried)
        return (
            f"基本医保、大病保险、医疗救助之后个人仍负担：{summary_zh or '0.00 元'}",
            f"after basic insurance, critical-illness insurance and medical assistance the member "
            f"still carries: {summary_en or '0.00 yuan'}",
        )

    run.lazy("coordination_applied", render)


# --- 3. mapping into buckets ----------------------------------------------------------------------


def commercial_list_unverifiable(run: Run, bucket: Bucket, kind: str, amount: int) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "commercial_list_unverifiable",
        lambda: (
            f"{zh} {yuan(amount)} 元无费用明细，无法核对商保目录，不予计入",
            f"{en} {yuan(amount)} yuan has no itemised lines: the commercial list "
            f"cannot be verified, not counted",
        ),
        bucket.code,
    )


def commercial_list_itemised(
    run: Run, bucket: Bucket, kind: str, counted: int, not_listed: int, unitemised: int
) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "commercial_list_itemised",
        lambda: (
            f"{zh}：商保目录内 {yuan(counted)} 元计入，目录外 {yuan(not_listed)} 元、"
            f"无明细 {yuan(unitemised)} 元不计入",
            f"{en}: {yuan(counted)} yuan on the commercial list counted; "
            f"{yuan(not_listed)} yuan off the list and {yuan(unitemised)} yuan without "
            f"itemised lines not counted",
        ),
        bucket.code,
    )


def commercial_list_not_required(run: Run, bucket: Bucket, kind: str, amount: int) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "commercial_list_not_required",
        lambda: (
            f"{zh}：本责任不限商保目录，{yuan(amount)} 元全部计入",
            f"{en}: this bucket does not require the commercial list, all {yuan(amount)} yuan counted",
        ),
        bucket.code,
    )


def amount_mapped(run: Run, bucket: Bucket, kind: str, counted: int) -> None:
    zh, en = run.kind_name(kind)
    run.lazy(
        "amount_mapped",
        lambda: (
            f"{zh} {yuan(counted)} 元计入“{bucket.name}”",
            f"{en} {yuan(counted)} yuan counted in bucket {bucket.code}",
        ),
        bucket.code,
    )


# --- 4. deductible --------------------------------------------------------------------------------


def deductible_basis(run: Run, bucket: Bucket, insured: Insured, deductible: int) -> None:
    """Why the year's deductible is not the bucket's plain deductible_fen (once per key)."""
    code = bucket.code
    if insured.health == "pre_existing" and bucket.deductible_pre_existing_fen is not None:
        run.lazy(
            "deductible_pre_existing",
            lambda: (
                f"既往症人群起付线 {yuan(deductible)} 元",
                f"pre-existing deductible {yuan(deductible)} yuan",
            ),
            code,
        )
    elif deductible != bucket.deductible_fen:
        run.lazy(
            "deductible_renewal_reduced",
            lambda: (
                f"连续健康续保 {insured.healthy_renewal_years} 年，起付线由 "
                f"{yuan(bucket.deductible_fen)} 元降至 {yuan(deductible)} 元",
                f"{insured.healthy_renewal_years} continuous healthy renewals lower the "
                f"deductible from {yuan(bucket.deductible_fen)} to {yuan(deductible)} yuan",
            ),
            code,
        )


def deductible(
    run: Run, bucket: Bucket, key: str, deductible: int, before: int, absorbed: int, counted: int
) -> None:
    """What the deductible (`before` of it left) took of the bucket's `counted` spend."""
    code = bucket.code
    shared = f"（与同组责任共用“{key}”）" if bucket.deductible_group else ""
    shared_en = f" (shared deductible group {key})" if bucket.deductible_group else ""
    if deductible == 0:
        run.add("deductible_none", "本责任无起付线", "this bucket has no deductible", code)
    elif before == 0:
        run.lazy(
            "deductible_already_met",
            lambda: (
                f"年度累计起付线 {yuan(deductible)} 元{shared}已累计达到（本年此前的费用或本次先计算的"
                f"责任），{yuan(counted)} 元全部超过起付线",
                f"the annual deductible of {yuan(deductible)} yuan{shared_en} is already met (by "
                f"earlier spend this year or a bucket computed before this one): all "
                f"{yuan(counted)} yuan is above it",
            ),
            code,
        )
    else:
        run.lazy(
            "deductible_applied",
            lambda: (
                f"年度累计起付线 {yuan(deductible)} 元{shared}，此前已累计 "
                f"{yuan(deductible - before)} 元，本次抵扣 {yuan(absorbed)} 元，尚余 "
                f"{yuan(before - absorbed)} 元；超过起付线的部分 {yuan(counted - absorbed)} 元",
                f"annual deductible {yuan(deductible)} yuan{shared_en}: {yuan(deductible - before)}"
                f" used before, {yuan(absorbed)} used now, {yuan(before - absorbed)} left; "
                f"{yuan(counted - absorbed)} yuan above the deductible",
            ),
            code,
        )


# --- 5. ratio and rounding ------------------------------------------------------------------------


def ratio_segment(
    run: Run, bucket: Bucket, index: int, lo: int, bp: int, length: int, *, above: bool = False
) -> None:
    """`length` fen of the year's eligible spend paid at `bp`: the base ratio (index 0) or the
    tier starting at `lo` (of the spend above the deductible when `above`)."""
    code = bucket.code
    if index == 0:
        run.lazy(
            "ratio_applied",
            lambda: (
                f"{yuan(length)} 元 × {percent(bp)} = {exact_yuan(length * bp)} 元",
                f"{yuan(length)} yuan x {percent(bp)} = {exact_yuan(length * bp)} yuan",
            ),
            code,
        )
    elif above:
        run.lazy(
            "tier_applied",
            lambda: (
                f"超过起付线后的年度累计费用超过 {yuan(lo)} 元的部分 {yuan(length)} 元 × "
                f"{percent(bp)} = {exact_yuan(length * bp)} 元",
                f"the part of the year's spend above the deductible beyond {yuan(lo)} yuan, "
                f"{yuan(length)} yuan x {percent(bp)} = {exact_yuan(length * bp)} yuan",
            ),
            code,
        )
    else:
        run.lazy(
            "tier_applied",
            lambda: (
                f"年度累计合规费用超过 {yuan(lo)} 元的部分 {yuan(length)} 元 × {percent(bp)} = "
                f"{exact_yuan(length * bp)} 元",
                f"the part of the year's eligible spend above {yuan(lo)} yuan, "
                f"{yuan(length)} yuan x {percent(bp)} = {exact_yuan(length * bp)} yuan",
            ),
            code,
        )


def rounding(run: Run, bucket: Bucket, numerator: int, rounded: int, *, per_item: bool) -> None:
    if per_item:
        run.lazy(
            "rounding_applied",
            lambda: (
                f"按项目四舍五入到分：{exact_yuan(numerator)} 元计为 {yuan(rounded)} 元",
                f"rounded half up to the fen item by item: {exact_yuan(numerator)} yuan "
                f"becomes {yuan(rounded)} yuan",
            ),
            bucket.code,
        )
    else:
        run.lazy(
            "rounding_applied",
            lambda: (
                f"四舍五入到分：{exact_yuan(numerator)} 元计为 {yuan(rounded)} 元",
                f"rounded half up to the fen: {exact_yuan(numerator)} yuan becomes "
                f"{yuan(rounded)} yuan",
            ),
            bucket.code,
        )


# --- 6. sub-caps and 7. the annual cap ------------------------------------------------------------


def unitemised_as_one_item(run: Run, bucket: Bucket) -> None:
    run.add(
        "sub_cap_item_unitemised",
        "未分项的费用合并视为一个项目计算单项限额",
        "amounts without itemised lines are treated as one item for the per-item sub-cap",
        bucket.code,
    )


def item_sub_cap(run: Run, bucket: Bucket, cap: SubCap, item: str, fen: int, rem: int) -> None:
    run.lazy(
        "sub_cap_applied",
        lambda: (
            f"{cap.name}（项目 {item}）{yuan(cap.cap_fen)} 元，尚余 "
            f"{yuan(rem)} 元：{yuan(fen)} 元降为 {yuan(rem)} 元",
            f"sub-cap {cap.code} (item {item}) of {yuan(cap.cap_fen)} yuan "
            f"has {yuan(rem)} yuan left: {yuan(fen)} becomes {yuan(rem)} yuan",
        ),
        bucket.code,
    )


def admission_unidentified(run: Run, bucket: Bucket, cap: SubCap) -> None:
    run.lazy(
        "admission_unidentified",
        lambda: (
            f"缺少住院号，{cap.name} {yuan(cap.cap_fen)} 元仅按本次理赔计算，转人工审核",
            f"no admission id: sub-cap {cap.code} of {yuan(cap.cap_fen)} yuan is "
            f"checked against this claim alone; held for review",
        ),
        bucket.code,
    )


def scope_sub_cap(
    run: Run, bucket: Bucket, cap: SubCap, admission_id: str | None, amount: int, rem: int
) -> None:
    """A per-admission (`admission_id` named when known) or per-year sub-cap cut `amount`."""
    what_zh = f"（住院 {admission_id}）" if admission_id else ""
    what_en = f" (admission {admission_id})" if what_zh else ""
    run.lazy(
        "sub_cap_applied",
        lambda: (
            f"{cap.name}{what_zh} {yuan(cap.cap_fen)} 元，尚余 {yuan(rem)} 元："
            f"{yuan(amount)} 元降为 {yuan(rem)} 元",
            f"sub-cap {cap.code}{what_en} of {yuan(cap.cap_fen)} yuan has "
            f"{yuan(rem)} yuan left: {yuan(amount)} becomes {yuan(rem)} yuan",
        ),
        bucket.code,
    )


def annual_cap(run: Run, bucket: Bucket, paid_before: int, cap_left: int, amount: int) -> None:
    cap = bucket.cap_fen
    assert cap is not None  # a bucket with no cap never reaches its cap
    run.lazy(
        "cap_applied",
        lambda: (
            f"年度封顶线 {yuan(cap)} 元，此前已赔 {yuan(paid_before)} 元，尚余 "
            f"{yuan(cap_left)} 元：{yuan(amount)} 元降为 {yuan(cap_left)} 元",
            f"annual cap {yuan(cap)} yuan, {yuan(paid_before)} paid before, "
            f"{yuan(cap_left)} left: {yuan(amount)} becomes {yuan(cap_left)} yuan",
        ),
        bucket.code,
    )


def bucket_payable(run: Run, bucket: Bucket, payable: int) -> None:
    run.lazy(
        "bucket_payable",
        lambda: (
            f"“{bucket.name}”赔付 {yuan(payable)} 元",
            f"bucket {bucket.code} pays {yuan(payable)} yuan",
        ),
        bucket.code,
    )
