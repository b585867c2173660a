"""Every message a member or reviewer reads is Chinese: validation messages, policy states, refusals."""

from __future__ import annotations

import pytest

from app.claims.schemas import MAX_ID
from app.errors import translate_field_messages, translate_message
from app.integrations.payout.port import FAILURE_LABELS_ZH, PERMANENT_FAILURES, failure_label
from tests.conftest import bearer, login


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            "Must be greater than or equal to 1 and less than or equal to 100.",
            "应在 1 到 100 之间（含）",
        ),
        ("Must be greater than or equal to 0.", "应不小于 0"),
        ("Must be greater than 0.", "应大于 0"),
        ("Must be less than or equal to 500.", "应不大于 500"),
        ("Must be less than 7.", "应小于 7"),
        ("Must be greater than 0 and less than 9.", "应大于 0 且小于 9"),
        ("Length must be between 1 and 64.", "长度应在 1 到 64 之间"),
        ("Length must be 18.", "长度应为 18"),
        ("Shorter than minimum length 2.", "长度不能少于 2"),
        ("Longer than maximum length 20.", "长度不能超过 20"),
        ("Must be one of: self, wechat.", "取值必须是以下之一：self, wechat"),
        ("Must be equal to yes.", "应等于 yes"),
        ("String does not match expected pattern.", "格式不正确"),
        ("Not a valid number.", "应为数字"),
        ("Missing data for required field.", "缺少必填字段"),
        ('"2026-13-01" cannot be formatted as a date.', "格式错误"),
        ("Some brand new library message.", "取值无效"),
        ("请上传发票", "请上传发票"),
    ],
)
def test_validation_messages_are_chinese(english: str, chinese: str) -> None:
    assert translate_message(english) == chinese


def test_nested_messages_are_translated_everywhere() -> None:
    messages = {
        "json": {"amount_fen": ["Must be greater than 0."], "items": {0: {"x": ["Unknown field."]}}}
    }
    assert translate_field_messages(messages) == {
        "json": {"amount_fen": ["应大于 0"], "items": {0: {"x": ["不允许的字段"]}}}
    }


def test_range_error_over_http_is_chinese(client) -> None:
    response = client.post(
        "/claims", json={"policy_id": 0}, headers=bearer(login(client)["access_token"])
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]["json"]["policy_id"] == [f"应在 1 到 {MAX_ID} 之间（含）"]


@pytest.mark.parametrize(
    "code", sorted(PERMANENT_FAILURES | {"bank_system_error", "invalid_request"})
)
def test_every_known_transfer_refusal_has_a_chinese_reason(code: str) -> None:
    assert code in FAILURE_LABELS_ZH
    assert failure_label(code) == FAILURE_LABELS_ZH[code]
    assert code not in failure_label(code)


def test_an_unknown_transfer_refusal_reads_as_a_refusal_not_a_code() -> None:
    assert failure_label("E_9999_new") == "银行拒绝了这笔转账"
    assert failure_label(None) == "银行拒绝了这笔转账"
