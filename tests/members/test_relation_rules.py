"""The relation rule (app/members/relation_rules.py): a spouse must have reached the legal age
of marriage (民法典第1047条: men 22, women 20), on both sides; other relations are not ordered
by age (a step-parent may be younger than the step-child). Today is 2026-12-06 in every row."""

from __future__ import annotations

from datetime import date

import pytest

from app.members.relation_rules import relation_refusal

TODAY = date(2026, 12, 6)
ADULT_MAN = (date(1985, 3, 12), "1")  # 41


@pytest.mark.parametrize(
    ("relation", "relative", "member", "refused"),
    [
        # a 3-year-old declared a spouse: 2026-12-06 - 2023-02-06 = 3 years < 22
        ("spouse", (date(2023, 2, 6), "1"), ADULT_MAN, "该家属"),
        # a woman aged 20 on the day: born 2006-12-06 -> exactly 20 >= 20
        ("spouse", (date(2006, 12, 6), "2"), ADULT_MAN, None),
        # a woman one day short of 20: born 2006-12-07 -> 19 < 20
        ("spouse", (date(2006, 12, 7), "2"), ADULT_MAN, "该家属"),
        # a man of 21: born 2005-01-01 -> 21 < 22
        ("spouse", (date(2005, 1, 1), "1"), (date(1990, 1, 1), "2"), "该家属"),
        # a man of 22 exactly: born 2004-12-06 -> 22 >= 22
        ("spouse", (date(2004, 12, 6), "1"), (date(1990, 1, 1), "2"), None),
        # the member is the minor: a woman of 19 (born 2007-06-01) adding a husband of 41
        ("spouse", ADULT_MAN, (date(2007, 6, 1), "2"), "您本人"),
        # gender unknown: the lower age (20) applies; 20 years exactly is allowed
        ("spouse", (date(2006, 12, 6), None), ADULT_MAN, None),
        # other relations are not judged by age: a 3-year-old child, a younger step-parent
        ("child", (date(2023, 2, 6), "1"), ADULT_MAN, None),
        ("parent", (date(1990, 1, 1), "2"), ADULT_MAN, None),
        ("sibling", (date(2023, 2, 6), "1"), ADULT_MAN, None),
    ],
)
def test_relation_refusal(relation, relative, member, refused):
    answer = relation_refusal(
        relation,
        member_birth=member[0],
        member_gender=member[1],
        relative_birth=relative[0],
        relative_gender=relative[1],
        today=TODAY,
    )
    if refused is None:
        assert answer is None
    else:
        assert answer is not None and answer.startswith(refused) and "法定婚龄" in answer
