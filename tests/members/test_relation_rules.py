"""The relation rules (app/members/relation_rules.py), table-driven. Each row can be checked by
hand from the two birth dates: "older by N" means the older person had turned N on the day the
younger was born. Today is 2026-12-06 in every row.

- a spouse has reached the legal age of marriage (民法典第1047条: men 22, women 20), both sides;
- a parent is at least 12 years older than the member, a child at least 12 years younger; a
  grandparent / grandchild 24 (two generations); siblings are not judged by age;
- one spouse at a time;
- the personal account (家庭共济) refuses what these rules refuse, and a spouse while two or
  more are listed.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.members.relation_rules import (
    GENERATION_GAP_YEARS,
    Party,
    already_listed_message,
    family_pool_refusal,
    relation_refusal,
    spouse_refusal,
    unlisted_refusal,
)

TODAY = date(2026, 12, 6)
ADULT_MAN = Party(date(1985, 3, 12), "1")  # 41
YANG = Party(date(1989, 7, 15), "2")  # 杨洋, 37, the member of the hand walk


def born(y: int, m: int, d: int, gender: str | None = "1") -> Party:
    return Party(date(y, m, d), gender)


MARRIAGE = "relation_invalid"
GAP = "relation_age_implausible"


@pytest.mark.parametrize(
    ("relation", "relative", "member", "code", "says"),
    [
        # --- spouse: the legal age of marriage, on both sides ---
        # a 3-year-old declared a spouse: 2026-12-06 - 2023-02-06 = 3 years < 22
        ("spouse", born(2023, 2, 6), ADULT_MAN, MARRIAGE, "该家属未达法定婚龄"),
        # a woman aged 20 on the day: born 2006-12-06 -> exactly 20 >= 20
        ("spouse", born(2006, 12, 6, "2"), ADULT_MAN, None, None),
        # a woman one day short of 20: born 2006-12-07 -> 19 < 20
        ("spouse", born(2006, 12, 7, "2"), ADULT_MAN, MARRIAGE, "该家属未达法定婚龄"),
        # a man of 21: born 2005-01-01 -> 21 < 22
        ("spouse", born(2005, 1, 1), born(1990, 1, 1, "2"), MARRIAGE, "该家属未达法定婚龄"),
        # a man of 22 exactly: born 2004-12-06 -> 22 >= 22
        ("spouse", born(2004, 12, 6), born(1990, 1, 1, "2"), None, None),
        # the member is the minor: a woman of 19 (born 2007-06-01) adding a husband of 41
        ("spouse", ADULT_MAN, born(2007, 6, 1, "2"), MARRIAGE, "您本人未达法定婚龄"),
        # sex unknown: the lower age (20) applies; 20 years exactly is allowed
        ("spouse", born(2006, 12, 6, None), ADULT_MAN, None, None),
        # no upper bound and no gap between spouses: a spouse of 88 (born 1938) for 杨洋 (37)
        ("spouse", born(1938, 4, 1), YANG, None, None),
        # --- parent: at least 12 years older than the member ---
        # the hand walk: an 11-year-old (born 2015-03-02) as 杨洋's parent: 26 years younger
        ("parent", born(2015, 3, 2, "2"), YANG, GAP, "父母应比您年长至少12周岁"),
        # born 1977-07-15: 12 on 杨洋's birth day 1989-07-15 -> exactly the gap
        ("parent", born(1977, 7, 15), YANG, None, None),
        # born 1977-07-16: one day short of 12 on 1989-07-15 -> 11
        ("parent", born(1977, 7, 16), YANG, GAP, "父母应比您年长至少12周岁"),
        # the same birth date: 0 years older
        ("parent", born(1989, 7, 15), YANG, GAP, "父母"),
        # born 1960-01-01: 29 on 1989-07-15
        ("parent", born(1960, 1, 1), YANG, None, None),
        # 29 February: a parent born 2000-02-29 is 11 on 2012-02-28 (the birthday counts from
        # 1 March in a common year) and 12 on 2012-02-29
        ("parent", born(2000, 2, 29), born(2012, 2, 28), GAP, "父母"),
        ("parent", born(2000, 2, 29), born(2012, 2, 29), None, None),
        # --- child: at least 12 years younger than the member ---
        # the hand walk: an 88-year-old (born 1938-04-01) as 杨洋's child: 51 years older
        ("child", born(1938, 4, 1), YANG, GAP, "子女应比您年轻至少12周岁"),
        # born 2001-07-15: 杨洋 was 12 that day -> exactly the gap
        ("child", born(2001, 7, 15), YANG, None, None),
        # born 2001-07-16 would be fine too; born 2001-07-14: 杨洋 was 11 -> refused
        ("child", born(2001, 7, 14), YANG, GAP, "子女应比您年轻至少12周岁"),
        # the 11-year-old as 杨洋's child: 2015-03-02, 杨洋 was 25 -> plausible
        ("child", born(2015, 3, 2, "2"), YANG, None, None),
        # --- grandparent / grandchild: two generations, 24 years ---
        # born 1965-07-15: 24 on 1989-07-15 -> exactly the gap
        ("grandparent", born(1965, 7, 15), YANG, None, None),
        # born 1965-07-16: 23 on 1989-07-15
        ("grandparent", born(1965, 7, 16), YANG, GAP, "祖父母/外祖父母应比您年长至少24周岁"),
        # born 2013-07-15: 杨洋 was 24 that day
        ("grandchild", born(2013, 7, 15), YANG, None, None),
        # born 2013-07-14: 杨洋 was 23
        ("grandchild", born(2013, 7, 14), YANG, GAP, "孙子女/外孙子女应比您年轻至少24周岁"),
        # a grandparent younger than the member
        ("grandparent", born(2015, 3, 2), YANG, GAP, "祖父母"),
        # --- sibling: any age (half-siblings can be decades apart) ---
        ("sibling", born(2015, 3, 2), YANG, None, None),
        ("sibling", born(1938, 4, 1), YANG, None, None),
    ],
)
def test_relation_refusal(relation, relative, member, code, says):
    answer = relation_refusal(relation, member=member, relative=relative, today=TODAY)
    if code is None:
        assert answer is None
    else:
        assert answer is not None
        assert answer.code == code
        assert says in answer.message
        assert answer.message.endswith("请核对所选关系")


def test_the_gap_is_twelve_years():
    """The number docs/enrollment.md states (the least adoptive gap, 民法典第1093/1098条)."""
    assert GENERATION_GAP_YEARS == 12


@pytest.mark.parametrize(
    ("relation", "spouses_listed", "code"),
    [
        ("spouse", 0, None),  # the first spouse
        ("spouse", 1, "spouse_already_added"),  # a second while one is listed
        ("spouse", 2, "spouse_already_added"),  # stored before the rule: still no third
        ("child", 1, None),  # other relations are not counted
        ("parent", 3, None),
    ],
)
def test_one_spouse_at_a_time(relation, spouses_listed, code):
    answer = spouse_refusal(relation, spouses_listed)
    assert (answer.code if answer else None) == code


def test_already_listed_names_the_relation():
    assert "（关系：父母）" in already_listed_message("parent")
    assert "同一人只能以一种关系登记" in already_listed_message("spouse")


POOL = "family_pool_relation_implausible"


@pytest.mark.parametrize(
    ("paid_for", "spouses_listed", "says"),
    [
        # 杨洋 pays for herself: never judged
        ([("self", YANG)], 0, None),
        # the hand walk: the 11-year-old "parent"
        ([("parent", born(2015, 3, 2, "2"))], 0, "父母应比您年长至少12周岁"),
        # the hand walk: the second spouse (two listed): which one is real is hers to say
        ([("spouse", born(1987, 1, 1))], 2, "登记了2位配偶"),
        # one spouse listed, of age: paid
        ([("spouse", born(1987, 1, 1))], 1, None),
        # a spouse of 3, stored before the marriage-age rule
        ([("spouse", born(2023, 2, 6))], 1, "该家属未达法定婚龄"),
        # the 88-year-old "child"
        ([("child", born(1938, 4, 1))], 0, "子女应比您年轻至少12周岁"),
        # herself, a plausible parent and a plausible child: paid
        ([("self", YANG), ("parent", born(1960, 1, 1)), ("child", born(2015, 3, 2))], 0, None),
        # one implausible person among plausible ones refuses the account for the order
        ([("self", YANG), ("parent", born(2015, 3, 2))], 0, "父母"),
        # two people paid for as spouses in one order, whatever the list holds now (the review:
        # the second removed from the list after the order was placed)
        ([("spouse", born(1987, 1, 1)), ("spouse", born(1990, 5, 5, "2"))], 1, "2位家属登记为配偶"),
        ([("spouse", born(1987, 1, 1)), ("spouse", born(1990, 5, 5, "2"))], 0, "只能为一位配偶"),
    ],
)
def test_family_pool_refusal(paid_for, spouses_listed, says):
    answer = family_pool_refusal(YANG, paid_for, spouses_listed=spouses_listed, today=TODAY)
    if says is None:
        assert answer is None
    else:
        assert answer is not None
        assert answer.code == POOL
        assert says in answer.message
        assert "微信支付" in answer.message  # the member is told what still works


@pytest.mark.parametrize(
    ("ordered", "refused"),
    [
        ([("self", "self")], False),  # the member herself, still bound
        ([("self", "self"), ("spouse", "spouse"), ("child", "child")], False),  # as ordered
        ([("spouse", None)], True),  # the spouse removed from the list since the order
        ([("self", "self"), ("parent", None)], True),  # one of several removed
        ([("child", "parent")], True),  # removed and added back under another relation
        ([("self", None)], True),  # the payer's own binding gone (unbound identity)
        ([], False),  # nothing paid as family (sponsors pay it all)
    ],
)
def test_a_payment_pays_only_for_the_family_as_listed_now(ordered, refused):
    answer = unlisted_refusal(ordered)
    assert (answer is not None) is refused
    if answer is not None:
        assert answer.code == "family_pool_relative_not_listed"
        assert "重新下单" in answer.message and "微信支付" in answer.message
