"""Step 1's one rule that depends on the kind of care: a chronic out-patient visit (门诊慢特病) is
care treated as in-patient only for a class-one chronic condition (一类门诊慢特病) the product lists
(ProductDefinition.class_one_chronic_conditions; the prefix match is
app.products.definition.class_one_condition). Pure, like the engine; its lines are written the
way explain.py writes the others.
"""

from __future__ import annotations

from app.adjudication.explain import Run
from app.adjudication.model import Claim
from app.products.definition import ChronicCondition, class_one_condition, normalise_icd10


def chronic_class(run: Run, claim: Claim, conditions: tuple[ChronicCondition, ...] | None) -> bool:
    """A chronic out-patient visit (门诊慢特病) is care treated as in-patient only for a class-one
    condition (一类门诊慢特病) the product lists: one line; False when the diagnosis is not on the
    list. A visit with no diagnosis code, or on a product that does not state its list (stored
    before the list existed), goes to a reviewer."""
    code = (claim.diagnosis_code or "").strip()
    name = claim.diagnosis_name.strip()
    if conditions is None:
        reason, text, condition = "chronic_class_unverified", "unlisted", None
    elif not normalise_icd10(code):  # blank, or dots only: no code to match
        reason, text, condition = "chronic_class_unverified", "no_code", None
    elif (condition := class_one_condition(conditions, code)) is None:
        reason, text = "chronic_not_class_one", "not_listed"
    else:
        reason, text = "chronic_class_one", "listed"
    run.lines.append((reason, None, _text, (text, name, code, condition)))
    return reason != "chronic_not_class_one"


# (Chinese, English) of each line; {dx} is the diagnosis as the member reads it, "name（code）".
_TEXTS = {
    "listed": (
        "门诊慢特病诊断 {dx} 属于本产品保障的一类门诊慢特病“{listed}”（{prefix}），视同住院保障",
        "chronic out-patient diagnosis {code} is the class-one condition {prefix} the product "
        "covers: treated as in-patient care",
    ),
    "not_listed": (
        "门诊慢特病诊断 {dx} 不在本产品保障的一类门诊慢特病范围内；门诊慢特病仅保障一类门诊慢特病，"
        "不予赔付",
        "chronic out-patient diagnosis {code} is not a class-one condition the product covers; "
        "only class-one chronic conditions are covered: not payable",
    ),
    "no_code": (
        "门诊慢特病诊断 {dx} 没有诊断编码，无法确认是否属于一类门诊慢特病，转人工审核",
        "chronic out-patient visit without a diagnosis code: whether it is class-one is checked "
        "by a reviewer",
    ),
    "unlisted": (
        "本产品未列明保障的一类门诊慢特病，门诊慢特病诊断 {dx} 转人工审核",
        "the product does not list its class-one chronic conditions: the chronic out-patient "
        "diagnosis {code} is checked by a reviewer",
    ),
}


def _text(which: str, name: str, code: str, condition: ChronicCondition | None) -> tuple[str, str]:
    dx = f"{name}（{code}）" if name and code else name or code or "（未填写）"
    figures = {
        "dx": dx,
        "code": code or "(none)",
        "listed": condition.name if condition else "",
        "prefix": condition.code if condition else "",
    }
    zh, en = _TEXTS[which]
    return zh.format(**figures), en.format(**figures)
