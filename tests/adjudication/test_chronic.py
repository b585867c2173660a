"""Rule 3a: a chronic out-patient visit (门诊慢特病) is covered only for a class-one chronic
condition (一类门诊慢特病) the product lists. One row per case, the arithmetic in the comment.

The 赣州 demo product: deductible 15,000 yuan shared by in-policy and out-of-policy ("main"),
in-policy 75% healthy. Every row has the year's deductible already met (15,000 used) and 3,000
yuan of in-policy self-pay, so a covered visit pays 3,000 x 75% = 2,250 yuan."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest

from app.adjudication import adjudicate
from app.products.definition import ProductDefinition
from tests.adjudication.products import GANZHOU, HEALTHY, HUHUIBAO, Y, acc, claim, policy_for

DAY = date(2026, 7, 15)
MET = acc(deductible={"main": 15_000 * Y})
NOT_STATED = replace(GANZHOU, class_one_chronic_conditions=None)  # stored before the list


@dataclass(frozen=True)
class Row:
    name: str
    product: ProductDefinition
    kind: str
    code: str | None
    dx: str
    decision: str
    payable: int
    code_line: str | None  # the reason code of the chronic line (None: no chronic line)
    text: tuple[str, ...] = ()  # fragments of that line's Chinese text
    on: date = DAY


ROWS = [
    # 慢性肾脏病5期 N18.500 starts with the listed N18.5: 3,000 x 75% = 2,250
    Row(
        "uraemia-covered",
        GANZHOU,
        "chronic_outpatient",
        "N18.500",
        "慢性肾脏病5期",
        "payable",
        2_250 * Y,
        "chronic_class_one",
        ("慢性肾脏病5期（N18.500）", "尿毒症透析（慢性肾脏病5期）", "视同住院"),
    ),
    # 2型糖尿病 E11.900 is on no line: denied, nothing paid, nothing counted
    Row(
        "diabetes-not-class-one",
        GANZHOU,
        "chronic_outpatient",
        "E11.900",
        "2型糖尿病",
        "not_payable",
        0,
        "chronic_not_class_one",
        ("2型糖尿病（E11.900）", "仅保障一类门诊慢特病", "不予赔付"),
    ),
    # 高血压 I10.x00: denied the same way
    Row(
        "hypertension-not-class-one",
        GANZHOU,
        "chronic_outpatient",
        "I10.x00",
        "高血压",
        "not_payable",
        0,
        "chronic_not_class_one",
        ("高血压（I10.x00）",),
    ),
    # lower case, spaces: normalised before the match; 3,000 x 75% = 2,250
    Row(
        "normalised-code",
        GANZHOU,
        "chronic_outpatient",
        " n18.500 ",
        "慢性肾脏病5期",
        "payable",
        2_250 * Y,
        "chronic_class_one",
    ),
    # no diagnosis code: the figures (2,250) computed, held for a reviewer
    Row(
        "no-code-review",
        GANZHOU,
        "chronic_outpatient",
        None,
        "慢性肾脏病",
        "review",
        2_250 * Y,
        "chronic_class_unverified",
        ("慢性肾脏病", "没有诊断编码", "人工审核"),
    ),
    # a code of dots only (the schema lets "." through) is no code: held for a reviewer, not
    # denied; the figures (2,250) computed
    Row(
        "dots-only-code-review",
        GANZHOU,
        "chronic_outpatient",
        "..",
        "慢性肾脏病",
        "review",
        2_250 * Y,
        "chronic_class_unverified",
        ("没有诊断编码", "人工审核"),
    ),
    # a product stored before it stated its list: review, whatever the diagnosis (2,250)
    Row(
        "list-not-stated-review",
        NOT_STATED,
        "chronic_outpatient",
        "E11.900",
        "2型糖尿病",
        "review",
        2_250 * Y,
        "chronic_class_unverified",
        ("未列明", "2型糖尿病（E11.900）"),
    ),
    # 沪惠保 2021 states an empty list: no chronic visit is covered, even a class-one one
    Row(
        "empty-list",
        HUHUIBAO,
        "chronic_outpatient",
        "N18.500",
        "慢性肾脏病5期",
        "not_payable",
        0,
        "chronic_not_class_one",
        on=date(2021, 7, 15),
    ),
    # an in-patient stay for diabetes: the rule is for chronic out-patient visits only;
    # 3,000 x 75% = 2,250
    Row(
        "in-patient-unaffected",
        GANZHOU,
        "in_patient",
        "E11.900",
        "2型糖尿病",
        "payable",
        2_250 * Y,
        None,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_chronic_class_one(row: Row):
    visit = replace(
        claim(row.on, in_=3_000 * Y, hifp=7_000 * Y, kind=row.kind),
        diagnosis_code=row.code,
        diagnosis_name=row.dx,
    )
    result = adjudicate(row.product, visit, policy_for(row.product), HEALTHY, MET)
    assert (result.decision, result.payable_fen) == (row.decision, row.payable)
    chronic = [line for line in result.lines if line.code.startswith("chronic_")]
    if row.code_line is None:
        assert chronic == []
        return
    assert [line.code for line in chronic] == [row.code_line]
    for fragment in row.text:
        assert fragment in chronic[0].zh
    if row.decision == "not_payable":
        assert result.buckets == () and result.deltas.is_empty


def test_a_denied_chronic_visit_reports_every_other_failure_too():
    # outside the 2026 cover AND not class-one: both lines, nothing paid
    visit = replace(
        claim(date(2027, 1, 3), in_=3_000 * Y, kind="chronic_outpatient"),
        diagnosis_code="E11.900",
        diagnosis_name="2型糖尿病",
    )
    result = adjudicate(GANZHOU, visit, policy_for(GANZHOU), HEALTHY, MET)
    assert result.decision == "not_payable"
    assert {"care_outside_coverage", "chronic_not_class_one"} <= set(result.reason_codes)
