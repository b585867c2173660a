"""Every error leaves as RFC 9457 problem details with a stable code and a Chinese detail."""

from __future__ import annotations

import logging

import pytest

from app.errors import PROBLEM_TYPE_BASE
from tests.conftest import bearer, login

PROBLEM = "application/problem+json"
PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def assert_problem(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    assert body["title"] == PHRASES[status]
    assert body["type"] == PROBLEM_TYPE_BASE + body["code"]
    assert isinstance(body["detail"], str) and has_cjk(body["detail"])
    if code is not None:
        assert body["code"] == code
    assert resp.headers["Cache-Control"] == "no-store"
    return body


@pytest.mark.parametrize(
    ("path", "method"),
    [
        pytest.param("/no/such/route", "get", id="unknown-route"),
        pytest.param("/me/relatives/not-a-number", "get", id="non-int-id"),
        pytest.param("/auth/wechat/nothing", "post", id="unknown-route-post"),
    ],
)
def test_unknown_route_is_404(client, path, method):
    body = assert_problem(getattr(client, method)(path), 404, "not_found")
    assert body["detail"] == "资源不存在"


def test_wrong_method_is_405_with_allow(client):
    resp = client.get("/auth/wechat/login")
    assert_problem(resp, 405, "method_not_allowed")
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert "POST" in allowed
    assert "GET" not in allowed


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "token_missing", id="no-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, "token_missing", id="basic-scheme"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, None, id="garbage-token"),
    ],
)
def test_401_has_www_authenticate(client, headers, code):
    resp = client.get("/me", headers=headers)
    body = assert_problem(resp, 401, code)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["code"].startswith(("token_", "unauthorized"))


def test_invalid_wechat_code_is_401(client):
    resp = client.post("/auth/wechat/login", json={"code": "invalid-code"})
    assert_problem(resp, 401, "wechat_code_invalid")
    assert "WWW-Authenticate" in resp.headers


def test_body_larger_than_max_content_length_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    payload = b'{"code": "' + b"a" * limit + b'"}'
    assert len(payload) > limit
    resp = client.post("/auth/wechat/login", data=payload, content_type="application/json")
    assert_problem(resp, 413, "payload_too_large")


def test_body_larger_than_max_content_length_on_a_member_route_is_413(client, app):
    token = login(client, "member-big")["access_token"]
    payload = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post(
        "/me/identity", data=payload, content_type="application/json", headers=bearer(token)
    )
    assert_problem(resp, 413, "payload_too_large")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{bad json", id="broken"),
        pytest.param(b'{"code": "a",}', id="trailing-comma"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        # 3 KB of brackets: json.loads raises RecursionError, which was a 500
        pytest.param(b"[" * 1500 + b"]" * 1500, id="nested-too-deep"),
        pytest.param(b'{"code": ' + b"[" * 1500 + b"]" * 1500 + b"}", id="nested-field"),
    ],
)
def test_malformed_json(client, raw):
    resp = client.post("/auth/wechat/login", data=raw, content_type="application/json")
    assert resp.status_code in (400, 422)
    body = assert_problem(resp, resp.status_code)
    assert body["code"] in ("bad_request", "validation_failed")
    assert body["errors"] == {"json": ["JSON 格式错误"]}


def test_unknown_field_is_422_with_errors(client):
    resp = client.post("/auth/wechat/login", json={"code": "abc", "is_admin": True})
    body = assert_problem(resp, 422, "validation_failed")
    assert body["errors"] == {"json": {"is_admin": ["不允许的字段"]}}


def test_missing_and_wrong_typed_fields_are_translated(client):
    resp = client.post("/auth/wechat/login", json={})
    body = assert_problem(resp, 422, "validation_failed")
    assert body["errors"]["json"]["code"] == ["缺少必填字段"]
    resp = client.post("/auth/wechat/login", json={"code": 42})
    body = assert_problem(resp, 422, "validation_failed")
    assert body["errors"]["json"]["code"] == ["应为字符串"]


def test_unexpected_exception_is_a_500_problem_without_internals(client, monkeypatch, caplog):
    from app.members import services

    token = login(client, "member-boom")["access_token"]

    def boom(member_id):
        raise RuntimeError("secret-trace")

    monkeypatch.setattr(services, "get_member", boom)
    with caplog.at_level(logging.ERROR):
        resp = client.get("/me", headers=bearer(token))
    body = assert_problem(resp, 500, "internal_error")
    raw = resp.get_data(as_text=True)
    for leak in ("secret-trace", "Traceback", "RuntimeError", "services.py", 'File "'):
        assert leak not in raw
    assert set(body) == {"type", "title", "status", "detail", "code"}
    # it is logged on the server side instead
    assert any(
        r.levelno >= logging.ERROR and "unhandled error" in r.getMessage() for r in caplog.records
    )


def test_domain_error_detail_is_chinese_and_code_is_stable(client):
    token = login(client, "member-c")["access_token"]
    resp = client.post("/me/identity/refresh", headers=bearer(token))
    body = assert_problem(resp, 422, "identity_not_verified")
    assert body["detail"] == "请先完成医保身份核验"
