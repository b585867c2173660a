"""Chinese labels the console shows for codes (statuses and rejection reasons have theirs in
app/claims/workflow.py, document kinds in app/documents/types.py, roles and organisation kinds in
app/auth/services.py). Display only: no rule
depends on them. tests/web/test_labels.py walks every code list a page shows (the state machine's
actions, the engine's decisions, the flags the claims code raises ...): a new code without a
label here fails it, so no English code reaches a Chinese page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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

# The queue's assignment filter (the API's QueueQuerySchema `assigned`).
ASSIGNED_LABELS = {"me": "分配给我", "unassigned": "未分配"}

CARE_KIND_LABELS = {
    "in_patient": "住院",
    "emergency": "急诊",
    "day_surgery": "日间手术",
    "chronic_outpatient": "门诊慢特病",
    "special_drug": "特药",
}

# The flags the claims code raises (app/claims/rules.py, adjudication_run.py, settlement.py,
# lines.py, payouts.py, supplements.py); a flag carries its own sentence (`zh`) too, shown on the
# claim page beside its label.
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
}


HEALTH_LABELS = {"healthy": "健康体", "pre_existing": "既往症"}

# The engine's decisions (app/adjudication/model.py DECISIONS).
DECISION_LABELS = {"payable": "可赔付", "not_payable": "不予赔付", "review": "需人工审核"}

# A fee line's 甲/乙/丙 level (chrgitm_lv) and where it came from (app/claims/line_models.py).
CHARGE_LEVEL_LABELS = {"01": "甲", "02": "乙", "03": "丙"}
LINE_SOURCE_LABELS = {"bureau": "医保", "member": "会员", "staff": "审核员"}

# Who moved a claim (app/claims/models.py ACTOR_TYPES).
ACTOR_LABELS = {"member": "会员", "staff": "工作人员", "system": "系统"}

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


# --- form errors ---------------------------------------------------------------------------------

_ONE_OF = re.compile(r"^Must be one of: .*\.$")


def choice_messages(
    messages: Any, choices: Mapping[str, Mapping[str, str]], field: str = ""
) -> Any:
    """marshmallow's field errors (before translate_field_messages) with each "Must be one of:
    a, b." (which would show the codes) in Chinese: 应为以下之一：人工审核中、复核中 from the
    field's labels in `choices`, or 请从列表中选择 for a field without labels. A list item's
    errors (keyed by index) take the list field's labels."""
    if isinstance(messages, dict):
        return {
            key: choice_messages(
                value, choices, field if isinstance(key, int) or str(key).isdigit() else str(key)
            )
            for key, value in messages.items()
        }
    if isinstance(messages, list):
        return [choice_messages(m, choices, field) for m in messages]
    if isinstance(messages, str) and _ONE_OF.match(messages):
        labels = choices.get(field)
        return "应为以下之一：" + "、".join(labels.values()) if labels else "请从列表中选择"
    return messages
