"""Chinese labels the console shows for codes (statuses have theirs in app/claims/workflow.py,
document kinds in app/documents/types.py). Display only: no rule depends on them."""

from __future__ import annotations

from app.claims.statuses import ClaimStatus

# The statuses the queue can filter by (the API's QueueQuerySchema), in a reviewer's order.
QUEUE_STATUSES = (
    ClaimStatus.PENDING_REVIEW,
    ClaimStatus.RECHECK,
    ClaimStatus.MORE_INFO_REQUESTED,
    ClaimStatus.SUBMITTED,
    ClaimStatus.APPROVED,
    ClaimStatus.PAID,
    ClaimStatus.REJECTED,
    ClaimStatus.CLOSED,
)

CARE_KIND_LABELS = {
    "in_patient": "住院",
    "emergency": "急诊",
    "day_surgery": "日间手术",
    "chronic_outpatient": "门诊慢特病",
    "special_drug": "特药",
}

# The flags the claims code raises (app/claims/rules.py, settlement.py, lines.py, payouts.py,
# supplements.py); a flag carries its own sentence (`zh`) too, shown on the claim page.
FLAG_LABELS = {
    "duplicate_invoice": "发票重复使用",
    "duplicate_settlement": "结算记录重复使用",
    "care_outside_coverage": "就医日期超出保障期",
    "name_mismatch": "姓名不一致",
    "person_mismatch": "参保人不一致",
    "amounts_do_not_add_up": "金额合计不符",
    "settlement_inconsistent": "结算金额不一致",
    "unusual_frequency": "理赔频次异常",
    "identity_not_matched": "身份未核实",
    "fee_details_inconsistent": "费用明细不一致",
    "payout_failed": "转账失败",
    "same_episode": "同一次就医",
    "episode_amounts_differ": "与医保结算记录不符",
    "episode_supplement": "补充理赔",
}

REJECT_REASON_LABELS = {
    "not_covered": "不属于保险责任",
    "outside_coverage": "超出保障期间或范围",
    "basic_insurance_suspended": "基本医保中断",
    "documents_invalid": "材料无效或不实",
    "fraud_confirmed": "经核实存在欺诈",
    "duplicate": "重复申请",
    "other": "其他原因",
}

HEALTH_LABELS = {"healthy": "健康体", "pre_existing": "既往症"}

TRANSITION_LABELS = {
    "submit": "提交申请",
    "adjudicate": "自动理算",
    "request_info": "要求补充材料",
    "answer": "会员补充材料",
    "approve": "核准",
    "reject": "拒赔",
    "redetermine": "更改既往症认定",
    "request_human_review": "申请人工审核",
    "request_recheck": "申请复核",
    "uphold": "复核维持拒赔",
    "pay": "支付",
    "payout_failed": "转账失败",
    "reverse": "医院撤销一站式结算",
}
