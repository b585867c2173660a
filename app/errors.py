"""Domain errors with stable machine codes, rendered as one body shape everywhere.

Every error leaves as RFC 9457 problem details (`application/problem+json`):
    {"type", "title", "status", "detail", "code", "errors"?}
`code` is stable and meant for the mini-program's logic; `detail` is a Chinese sentence meant for
the person holding the phone; `errors` carries per-field messages on a 422.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://huimin.example/problems/"


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    detail: str = "请求无法处理"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail or self.detail)
        if detail is not None:
            self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers or {}


class BadRequest(DomainError):
    status, code, detail = 400, "bad_request", "请求格式错误"


class ValidationFailed(DomainError):
    status, code, detail = 422, "validation_failed", "提交的信息有误，请检查后重试"


class Unauthorized(DomainError):
    status, code, detail = 401, "unauthorized", "未登录或登录已失效，请重新登录"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="huimin"')


class Forbidden(DomainError):
    status, code, detail = 403, "forbidden", "无权执行该操作"


class NotFound(DomainError):
    status, code, detail = 404, "not_found", "资源不存在"


class Conflict(DomainError):
    status, code, detail = 409, "conflict", "操作与当前状态冲突"


class RateLimited(DomainError):
    status, code, detail = 429, "rate_limited", "请求过于频繁，请稍后再试"


class UpstreamUnavailable(DomainError):
    """An outside system (the bureau, WeChat) did not answer usefully; try again later."""

    status, code, detail = 503, "upstream_unavailable", "外部系统暂时不可用，请稍后再试"


# Chinese messages for werkzeug's own HTTP errors, with their stable codes.
HTTP_ERROR_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "未登录或登录已失效，请重新登录"),
    403: ("forbidden", "无权执行该操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所请求的格式"),
    409: ("conflict", "操作与当前状态冲突"),
    412: ("precondition_failed", "资源已被修改，请刷新后重试"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_failed", "提交的信息有误，请检查后重试"),
    428: ("precondition_required", "缺少必要的请求头"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器开小差了，请稍后再试"),
    503: ("service_unavailable", "服务暂时不可用，请稍后再试"),
}

# marshmallow / webargs messages, translated for the mini-program.
FIELD_MESSAGES_ZH: dict[str, str] = {
    "Missing data for required field.": "缺少必填字段",
    "Unknown field.": "不允许的字段",
    "Field may not be null.": "不能为空",
    "Not a valid string.": "应为字符串",
    "Not a valid integer.": "应为整数",
    "Not a valid boolean.": "应为布尔值",
    "Not a valid date.": "日期格式错误",
    "Not a valid datetime.": "时间格式错误",
    "Not a valid mapping type.": "应为对象",
    "Not a valid list.": "应为列表",
    "Invalid input type.": "输入类型错误",
    "Invalid value.": "取值无效",
    "Not a valid UUID.": "应为合法的 UUID",
    "Invalid JSON body.": "JSON 格式错误",
    "Invalid input.": "输入无效",
    "Invalid type.": "类型错误",
    "Not a valid number.": "应为数字",
    "Number too large.": "数值过大",
    "Special numeric values (nan or infinity) are not permitted.": "不允许 NaN 或无穷大",
    "Not a valid email address.": "邮箱地址格式错误",
    "Not a valid URL.": "网址格式错误",
    "Not a valid time.": "时间格式错误",
    "Not a valid aware datetime.": "时间应带时区",
    "Not a valid naive datetime.": "时间不应带时区",
    "Not a valid tuple.": "应为列表",
    "Not a valid utf-8 string.": "应为 UTF-8 字符串",
    "Not a valid period of time.": "时长格式错误",
    "String does not match expected pattern.": "格式不正确",
}


# marshmallow's validator messages that carry numbers or choices, rebuilt in Chinese.
_PATTERNS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        "应在 {0} 到 {1} 之间（含）",
    ),
    (re.compile(r"^Must be greater than (\S+) and less than (\S+)\.$"), "应大于 {0} 且小于 {1}"),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than (\S+)\.$"),
        "应不小于 {0} 且小于 {1}",
    ),
    (
        re.compile(r"^Must be greater than (\S+) and less than or equal to (\S+)\.$"),
        "应大于 {0} 且不大于 {1}",
    ),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), "应不小于 {0}"),
    (re.compile(r"^Must be greater than (\S+)\.$"), "应大于 {0}"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), "应不大于 {0}"),
    (re.compile(r"^Must be less than (\S+)\.$"), "应小于 {0}"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), "长度应在 {0} 到 {1} 之间"),
    (re.compile(r"^Length must be (\d+)\.$"), "长度应为 {0}"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), "长度不能少于 {0}"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), "长度不能超过 {0}"),
    (re.compile(r"^Must be one of: (.*)\.$"), "取值必须是以下之一：{0}"),
    (re.compile(r"^Must be equal to (.*)\.$"), "应等于 {0}"),
    (
        re.compile(r"^One or more of the choices you made was (?:not )?in: (.*)\.$"),
        "包含不允许的取值（可选：{0}）",
    ),
    (re.compile(r"^.* cannot be formatted as a .*\.$"), "格式错误"),
)


def translate_field_messages(messages: Any) -> Any:
    """Translate marshmallow's and webargs' English messages, recursively.

    A message with no Chinese rendering falls back to a generic one: a member never reads English.
    Messages our own validators raise are Chinese already and pass through.
    """
    if isinstance(messages, dict):
        return {k: translate_field_messages(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [translate_field_messages(m) for m in messages]
    if isinstance(messages, str):
        return translate_message(messages)
    return messages


def translate_message(message: str) -> str:
    if message in FIELD_MESSAGES_ZH:
        return FIELD_MESSAGES_ZH[message]
    for pattern, template in _PATTERNS_ZH:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    if _HAS_HAN.search(message):
        return message
    return "取值无效"


_HAS_HAN = re.compile(r"[\u4e00-\u9fff]")


def problem_body(status: int, code: str, detail: str, errors: Any = None) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:  # pragma: no cover - non-standard status
        title = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return body
