"""Which declared relations are possible at all (pure: no Flask, no database).

A relative's relation is the member's word (nothing at the bureau records families), and it
decides who a personal account may pay for (家庭共济: spouse, parents, children). The rule here
refuses only what the law rules out: a spouse below the legal age of marriage (民法典第1047条:
men 22, women 20), on either side. Parent and child are not ordered by age, since a step-parent
(有扶养关系的继父母, a parent in law) may be younger than the step-child.
"""

from __future__ import annotations

from datetime import date

from app.common.clock import age_on

MARRIAGE_AGE = {"1": 22, "2": 20}  # bureau gend codes: 1 male, 2 female
MARRIAGE_AGE_ANY = min(MARRIAGE_AGE.values())


def relation_refusal(
    relation: str,
    *,
    member_birth: date,
    member_gender: str | None,
    relative_birth: date,
    relative_gender: str | None,
    today: date,
) -> str | None:
    """Why this relation cannot be, in Chinese for the member, or None."""
    if relation != "spouse":
        return None
    for who, birth, gender in (
        ("该家属", relative_birth, relative_gender),
        ("您本人", member_birth, member_gender),
    ):
        if age_on(birth, today) < MARRIAGE_AGE.get(gender or "", MARRIAGE_AGE_ANY):
            return f"{who}未达法定婚龄（男22周岁、女20周岁），不能登记为配偶，请核对关系"
    return None
