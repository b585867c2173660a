"""Which declared relations are plausible (pure: no Flask, no database).

A relative's relation is the member's word (nothing at the bureau records families), and it
decides who a personal account may pay for (家庭共济: spouse, parents, children). The birth dates
and sexes come from the verified ID numbers (the bureau's answer), so these rules refuse what
the two birth dates, the law or the member's own list rule out, and nothing else:

- a spouse below the legal age of marriage (民法典第1047条: men 22, women 20), on either side
  (`relation_invalid`, as before);
- a parent or child less than `GENERATION_GAP_YEARS` (12) apart, the older on the right side;
  a grandparent or grandchild less than twice that (24) apart (`relation_age_implausible`).
  Twelve is the least gap the law allows an adoptive parent (民法典第1093条, 第1098条: the
  adoptee under 18, the adopter at least 30) and is below any ordinary biological one. A
  step-parent who raised the member (有扶养关系的继父母, 民法典第1072条) can in rare cases be
  less than 12 years older; such a relative is refused as 父母 (docs/enrollment.md says so);
  lowering the constant is the way to admit them;
- siblings are not judged by age (half-siblings can be decades apart);
- a second spouse while one is listed (`spouse_already_added`, 409);
- a person already on the list, under any relation (`relative_exists`, 409, naming the
  relation), and the member themself (`relative_is_self`, 409), checked by the service.

"Older by N years" means: the older person had turned N on the day the younger was born
(`age_on(older_birth, younger_birth) >= N`; a 29 February birthday counts from 1 March).

`family_pool_refusal` applies the same rules when a personal account pays (relatives stored
before these rules may break them): the account refuses, WeChat Pay still may.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.common.clock import age_on

MARRIAGE_AGE = {"1": 22, "2": 20}  # bureau gend codes: 1 male, 2 female
MARRIAGE_AGE_ANY = min(MARRIAGE_AGE.values())
GENERATION_GAP_YEARS = 12

RELATION_LABELS = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandparent": "祖父母/外祖父母",
    "grandchild": "孙子女/外孙子女",
    "sibling": "兄弟姐妹",
}

# relation -> (generations between the member and the relative, + older / - younger)
_GENERATIONS = {"parent": 1, "child": -1, "grandparent": 2, "grandchild": -2}


@dataclass(frozen=True)
class Party:
    """A person as these rules see them: the birth date and sex from the verified ID number."""

    birth_date: date
    gender: str | None  # "1" male, "2" female; None: unknown (the lower marriage age applies)


@dataclass(frozen=True)
class Refusal:
    code: str  # a code in app/error_catalogue.py
    message: str  # Chinese, for the member


def relation_refusal(
    relation: str, *, member: Party, relative: Party, today: date
) -> Refusal | None:
    """Why `relative` cannot be the member's `relation` (by the two birth dates), or None."""
    found = _implausible(relation, member, relative, today)
    if found is None:
        return None
    code, reason = found
    return Refusal(code, f"{reason}，请核对所选关系")


def _implausible(
    relation: str, member: Party, relative: Party, today: date
) -> tuple[str, str] | None:
    """(code, reason without advice) when the birth dates rule the relation out."""
    if relation == "spouse":
        for who, party in (("该家属", relative), ("您本人", member)):
            legal = MARRIAGE_AGE.get(party.gender or "", MARRIAGE_AGE_ANY)
            if age_on(party.birth_date, today) < legal:
                return (
                    "relation_invalid",
                    f"{who}未达法定婚龄（男22周岁、女20周岁），不能登记为配偶",
                )
        return None
    generations = _GENERATIONS.get(relation)
    if generations is None:
        return None
    gap = abs(generations) * GENERATION_GAP_YEARS
    older, younger = (relative, member) if generations > 0 else (member, relative)
    if age_on(older.birth_date, younger.birth_date) >= gap:
        return None
    label = RELATION_LABELS[relation]
    side = "年长" if generations > 0 else "年轻"
    return (
        "relation_age_implausible",
        f"该家属的出生日期与“{label}”关系不符（{label}应比您{side}至少{gap}周岁）",
    )


def spouse_refusal(relation: str, spouses_listed: int) -> Refusal | None:
    """One spouse at a time: a spouse cannot be added while `spouses_listed` is not 0."""
    if relation == "spouse" and spouses_listed > 0:
        return Refusal(
            "spouse_already_added",
            "您已登记一位配偶，同一时间只能登记一位配偶；如原登记有误，请先删除后再添加",
        )
    return None


def already_listed_message(relation: str) -> str:
    """The person is on the member's list already (as `relation`): one person, one relation."""
    label = RELATION_LABELS.get(relation, relation)
    return (
        f"该家属已在您的家属列表中（关系：{label}），同一人只能以一种关系登记；"
        "如关系有误，请先删除该家属，再按正确关系重新添加"
    )


def family_pool_refusal(
    payer: Party,
    paid_for: Sequence[tuple[str, Party]],
    *,
    spouses_listed: int,
    today: date,
) -> Refusal | None:
    """Why the payer's personal account may not pay for these people as family, or None.
    Two people paid for as spouses in one order are refused whatever the list holds.

    `paid_for`: (relation to the payer, person) for each person the account would pay for
    ("self" is never refused here); `spouses_listed`: spouses on the payer's list of relatives.
    A relation the rules above refuse, or a spouse while the list holds more than one (which is
    the real one is the member's to say), is refused with `family_pool_relation_implausible`.
    """
    spouses_paid_for = sum(1 for relation, _ in paid_for if relation == "spouse")
    if spouses_paid_for > 1:
        return Refusal(
            "family_pool_relation_implausible",
            f"本次订单有{spouses_paid_for}位家属登记为配偶，个人账户家庭共济只能为一位配偶支付；"
            "请重新下单，或选择微信支付",
        )
    for relation, person in paid_for:
        if relation == "spouse" and spouses_listed > 1:
            return Refusal(
                "family_pool_relation_implausible",
                f"您的家属中登记了{spouses_listed}位配偶，个人账户家庭共济只能为一位配偶支付；"
                "请删除登记有误的配偶后重新下单，或选择微信支付",
            )
        found = _implausible(relation, payer, person, today)
        if found is not None:
            return Refusal(
                "family_pool_relation_implausible",
                f"个人账户家庭共济不能为该家属支付：{found[1]}；"
                "请删除该家属、按正确关系重新添加后重新下单，或选择微信支付",
            )
    return None


def unlisted_refusal(ordered: Sequence[tuple[str, str | None]]) -> Refusal | None:
    """A payment from the personal account for an order placed earlier: each person it pays for
    as family must still be on the member's list under the relation the order names.
    `ordered`: (relation on the order, relation on the list now or None when not listed) per
    person paid for; "self" is the member's own binding, checked as any other relation."""
    for on_order, now in ordered:
        if now != on_order:
            return Refusal(
                "family_pool_relative_not_listed",
                "订单中的家属已从您的家属列表中删除或关系已变更，个人账户家庭共济不能按原订单为其"
                "支付；请重新下单，或选择微信支付",
            )
    return None
