"""The stable reason codes of the adjudication engine.

Every explanation line carries one of these codes; `Adjudication.reason_codes` lists the codes of
a claim's lines, each once, in the order they first appear. Codes are part of the API (the
mini-program, reviewers' queues and reports key on them): never rename one; add new ones.

effect: "deny"   -> the claim is not payable (decision not_payable)
        "review" -> figures are computed, but the claim is held for a human (decision review)
        "info"   -> explains a step
"""

from __future__ import annotations

REASONS: dict[str, tuple[str, str, str]] = {
    # code: (effect, 中文, English)
    "care_within_coverage": (
        "info",
        "就医日期在保障期内",
        "date of care within the coverage period",
    ),
    "care_outside_coverage": (
        "deny",
        "就医日期不在保障期内",
        "date of care outside the coverage period",
    ),
    "basic_insurance_active": (
        "info",
        "就医当日基本医保正常参保",
        "basic insurance active on the date of care",
    ),
    "basic_insurance_suspended": (
        "deny",
        "就医当日基本医保暂停或中断",
        "basic insurance suspended on the date of care",
    ),
    "policy_active": ("info", "保单有效", "policy active"),
    "policy_not_active": ("deny", "保单已退保或作废", "policy surrendered or void"),
    "chronic_class_one": (
        "info",
        "一类门诊慢特病，视同住院保障",
        "class-one chronic condition: covered as in-patient care",
    ),
    "chronic_not_class_one": (
        "deny",
        "门诊慢特病仅保障一类门诊慢特病，该诊断不在保障范围内",
        "chronic out-patient care is covered only for the product's class-one conditions",
    ),
    "chronic_class_unverified": (
        "review",
        "无法确认是否属于一类门诊慢特病",
        "cannot tell whether the chronic condition is class-one",
    ),
    "amounts_consistent": ("info", "结算金额勾稽一致", "settlement amounts add up"),
    "amounts_inconsistent": ("review", "结算金额勾稽不一致", "settlement amounts do not add up"),
    "medical_assistance_deducted": (
        "info",
        "医疗救助已支付部分从政策范围内自付中扣除",
        "medical assistance deducted from in-policy self-pay",
    ),
    "medical_assistance_exceeds_in_policy": (
        "review",
        "医疗救助支付额超过政策范围内自付",
        "medical assistance exceeds in-policy self-pay",
    ),
    "coordination_applied": (
        "info",
        "扣除基本医保、大病保险、医疗救助后的个人负担",
        "what the member still carries after the public layers",
    ),
    "amount_mapped": ("info", "费用计入保障责任", "amount mapped into a bucket"),
    "amount_not_covered": (
        "info",
        "该类费用不属于本产品保障责任",
        "amount not covered by any bucket of the product",
    ),
    "commercial_list_not_required": (
        "info",
        "本责任不限商保目录",
        "bucket does not require the commercial list",
    ),
    "commercial_list_itemised": (
        "info",
        "按明细核对商保目录",
        "commercial list checked line by line",
    ),
    "commercial_list_unverifiable": (
        "info",
        "无费用明细，无法核对商保目录，不予计入",
        "no itemised lines: commercial list cannot be verified, not counted",
    ),
    "deductible_none": ("info", "本责任无起付线", "bucket has no deductible"),
    "deductible_pre_existing": ("info", "适用既往症人群起付线", "pre-existing deductible applies"),
    "deductible_renewal_reduced": (
        "info",
        "连续健康续保降低起付线",
        "deductible lowered by continuous healthy renewals",
    ),
    "deductible_applied": ("info", "年度累计起付线抵扣", "annual cumulative deductible applied"),
    "deductible_already_met": (
        "info",
        "年度起付线已累计达到",
        "annual deductible already met (earlier this year, or by a bucket computed before in this claim)",
    ),
    "ratio_applied": ("info", "按基础比例赔付", "base ratio applied"),
    "tier_applied": ("info", "按分段比例赔付（超额累进）", "tier ratio applied (marginal)"),
    "rounding_applied": ("info", "按四舍五入取整到分", "rounded half up to the fen"),
    "sub_cap_applied": ("info", "分项限额扣减", "sub-cap reduced the payment"),
    "sub_cap_item_unitemised": (
        "info",
        "未分项费用按一个项目计算分项限额",
        "un-itemised amount treated as one item for the per-item sub-cap",
    ),
    "admission_unidentified": (
        "review",
        "缺少住院号，单次住院限额仅按本次理赔计算",
        "no admission id: per-admission sub-cap checked on this claim alone",
    ),
    "cap_applied": ("info", "年度封顶线扣减", "annual cap reduced the payment"),
    "bucket_payable": ("info", "本责任赔付金额", "amount payable by the bucket"),
    "payable_total": ("info", "本次赔付合计", "total payable for the claim"),
}

DENY = tuple(code for code, (effect, _, _) in REASONS.items() if effect == "deny")
REVIEW = tuple(code for code, (effect, _, _) in REASONS.items() if effect == "review")
