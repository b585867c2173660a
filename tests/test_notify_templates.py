"""Member notifications mapped onto WeChat subscription templates (app/integrations/notifier/templates.py)."""

from __future__ import annotations

import pytest

from app.integrations.notifier.templates import Template, fill, parse_templates, template_for

PAID = {"template_id": "TPL-PAID", "fields": {"character_string1": "claim_no", "amount2": "amount"}}


def test_a_kind_finds_its_own_template_else_the_longest_prefix():
    templates = parse_templates(
        {
            "claim_paid": PAID,
            "renewal.*": {"template_id": "TPL-R", "fields": {"thing1": "message"}},
            "renewal.failed.*": {"template_id": "TPL-RF", "fields": {"thing1": "message"}},
        }
    )
    assert template_for(templates, "claim_paid").template_id == "TPL-PAID"
    assert template_for(templates, "renewal.renewed").template_id == "TPL-R"
    assert template_for(templates, "renewal.failed.x").template_id == "TPL-RF"
    assert template_for(templates, "claim_rejected") is None
    assert template_for(templates, "renewalx") is None
    every_claim = parse_templates({"claim_*": PAID})
    assert template_for(every_claim, "claim_rejected").template_id == "TPL-PAID"


@pytest.mark.parametrize(
    "key, value, expected",
    [
        (
            "thing1",
            "已从个人账户缴纳 2027 年度保费 89.00 元，保单已生效",
            "已从个人账户缴纳 2027 年度保费 …",
        ),
        ("thing1", "短", "短"),
        ("phrase3", "已赔付完成", "已赔付完成"),
        ("phrase3", "退保处理中啦", "退保处理…"),
        ("amount2", "1188.00元", "1188.00元"),
        ("date4", "2026-12-06", "2026-12-06"),  # no limit known: as it is
        ("thing1", "", "-"),  # WeChat refuses an empty value
    ],
)
def test_values_are_cut_to_their_types_limit(key, value, expected):
    data = fill(Template("T", {key: "v"}), {"v": value})
    assert data == {key: expected}
    assert len(data[key]) <= {"thing1": 20, "phrase3": 5}.get(key, 99)


@pytest.mark.parametrize(
    "raw, words",
    [
        ([], "JSON object"),
        ({"claim_paid": {"fields": {"thing1": "x"}}}, "template_id"),
        ({"claim_paid": {"template_id": "T"}}, "needs fields"),
        ({"claim_paid": {"template_id": "T", "fields": {"claim_no": "claim_no"}}}, "thing1"),
    ],
)
def test_a_wrong_mapping_says_what_is_wrong(raw, words):
    with pytest.raises(ValueError, match=words):
        parse_templates(raw)
