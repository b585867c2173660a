"""Request ids, the request log line, JSON logs, and personal data redacted from all of them."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from app.config import ConfigurationError, development_config, load_config, production_config
from app.ops.logs import accept_request_id
from tests.conftest import CONSENT, bearer, login, seed_app

ID_NUMBER = "360702198503120119"  # 张伟 in the sandbox bureau
ID_MASKED = "3607**********0119"
PHONE = "13812345678"
PHONE_MASKED = "138****5678"
_GENERATED = re.compile(r"[0-9a-f]{32}")


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0f8e2c4a-9b1d-4e7f-a3c5-6d2b8e1f0a94", True),  # a UUID with hyphens
        ("abcdef12", True),  # 8: the shortest kept
        ("a" * 64, True),  # 64: the longest kept
        ("gw.2026-11-23:node_7:000123", True),  # dots, colons, underscores
        ("abcdef1", False),  # 7: too short
        ("a" * 65, False),  # 65: too long (the audit column holds 64)
        ("-abcdef123", False),  # must start with a letter or digit
        ("abc def 123", False),  # spaces
        ("abc\r\nSet-Cookie: x=1", False),  # header injection
        ("请求编号一二三四五六七八", False),  # non-ASCII letters
        ("<script>alert(1)</script>", False),
        ("", False),
        (None, False),
    ],
)
def test_a_client_request_id_is_kept_only_when_sane(incoming, kept):
    result = accept_request_id(incoming)
    if kept:
        assert result == incoming
    else:
        assert _GENERATED.fullmatch(result) and result != incoming


@pytest.mark.parametrize(
    ("incoming", "stored"),
    [
        (ID_NUMBER, ID_MASKED),  # an ID number as the whole id
        (f"trace-{ID_NUMBER}", f"trace-{ID_MASKED}"),  # inside a sane id
        (f"gw:{PHONE}:1", f"gw:{PHONE_MASKED}:1"),  # a mobile number
    ],
)
def test_a_kept_request_id_is_masked_before_it_is_echoed_stored_or_logged(
    app_factory, caplog, incoming, stored
):
    from sqlalchemy import select

    from app.audit.models import AuditEvent
    from app.database import read_scope
    from app.ops.logs import TextFormatter

    assert accept_request_id(incoming) == stored
    application = seed_app(app_factory())
    caplog.set_level(logging.INFO)  # the request log line
    dev_log = io.StringIO()
    handler = logging.StreamHandler(dev_log)
    handler.setFormatter(TextFormatter())  # the development format appends the id
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client = application.test_client()
        tokens = login(client, "rid-member")
        resp = client.post(
            "/me/identity",
            headers={**bearer(tokens["access_token"]), "X-Request-ID": incoming},
            json={"name": "张伟", "id_number": ID_NUMBER, "consent": CONSENT},
        )
    finally:
        root.removeHandler(handler)
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["X-Request-Id"] == stored
    with application.app_context(), read_scope() as s:
        request_ids = set(s.scalars(select(AuditEvent.request_id)))
    assert stored in request_ids and incoming not in request_ids
    assert f"[request_id={stored}]" in dev_log.getvalue()
    assert ID_NUMBER not in dev_log.getvalue() and PHONE not in dev_log.getvalue()


def test_the_request_id_is_echoed_on_every_answer(client):
    rid = "trace-0123456789abcdef"
    for resp in (
        client.get("/healthz", headers={"X-Request-ID": rid}),
        client.get("/me", headers={"X-Request-ID": rid}),  # 401 problem
        client.get("/no/such/path", headers={"X-Request-ID": rid}),
    ):  # 404 problem
        assert resp.headers["X-Request-Id"] == rid


def test_a_rate_limited_answer_carries_the_request_id_too(app_factory):
    client = app_factory(RATE_LIMIT_LOGIN="1 per minute").test_client()
    assert client.post("/auth/wechat/login", json={"code": "rl-1"}).status_code == 200

    refused = client.post(
        "/auth/wechat/login", json={"code": "rl-2"}, headers={"X-Request-ID": "trace-limited-01"}
    )

    assert refused.status_code == 429
    assert refused.headers["X-Request-Id"] == "trace-limited-01"


def test_the_request_id_is_set_before_any_other_before_request_hook(app):
    """A hook registered earlier (the rate limiter's, for app-wide limits) may refuse the request;
    its answer needs the id as well."""
    hooks = app.before_request_funcs[None]
    assert len(hooks) >= 2 and hooks[0].__module__ == "app.ops.logs"
    assert hooks[0].__name__ == "_start"


def test_a_generated_request_id_differs_per_request(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3 and all(_GENERATED.fullmatch(i) for i in ids)


# --- the log format ----------------------------------------------------------------------------


def test_text_in_development_and_json_in_production(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert development_config().LOG_FORMAT == "text"
    assert production_config().LOG_FORMAT == "json"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert development_config().LOG_FORMAT == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError):
        load_config("development")


@pytest.fixture
def json_log(app_factory):
    """An app built with LOG_FORMAT=json on a process whose root logger has no handler yet (as
    under gunicorn), so create_app installs its own; its output is captured line by line."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []
    try:
        application = app_factory(LOG_FORMAT="json")
        [handler] = root.handlers
        assert getattr(handler, "huimin", False)
        stream = io.StringIO()
        handler.setStream(stream)
        yield application, stream
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def lines_of(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def test_json_lines_carry_the_request_fields(json_log):
    application, stream = json_log
    client = application.test_client()
    tokens = login(client, "json-log-member")
    client.get("/me", headers={**bearer(tokens["access_token"]), "X-Request-ID": "trace-me-0001"})

    records = lines_of(stream)
    [me] = [r for r in records if r["logger"] == "huimin.request" and r.get("route") == "/me"]
    assert me["request_id"] == "trace-me-0001"
    assert me["method"] == "GET" and me["status"] == 200 and me["level"] == "INFO"
    assert me["member_id"] == tokens["member_id"]
    assert isinstance(me["duration_ms"], float) and me["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", me["ts"])
    assert me["msg"].startswith("GET /me 200 ")
    login_line = next(r for r in records if r.get("route") == "/auth/wechat/login")
    assert "member_id" not in login_line  # nobody was logged in when that request came


def test_json_logs_hold_no_id_number_and_no_phone(json_log, residents):
    application, stream = json_log
    log = logging.getLogger("app.tests.redaction")

    def leaky():
        # Everything a careless handler could do: message, arguments, extras, an exception.
        log.warning(
            "looking up %s with phone %s",
            ID_NUMBER,
            PHONE,
            extra={"certno": ID_NUMBER, "contact": {"phone": PHONE}},
        )
        raise RuntimeError(f"bureau refused {ID_NUMBER} / {PHONE}")

    application.add_url_rule("/_tests/leaky", "leaky", leaky)
    client = application.test_client()
    token = login(client, "json-log-redaction")["access_token"]
    from app.demo.seed import seed_demo

    with application.app_context():
        seed_demo()

    assert (
        client.get("/_tests/leaky", headers={"X-Request-ID": "trace-leaky-01"}).status_code == 500
    )
    client.get(f"/me/relatives/{ID_NUMBER}?phone={PHONE}", headers=bearer(token))
    client.get(f"/{ID_NUMBER}/{PHONE}")
    verified = client.post(
        "/me/identity",
        headers=bearer(token),
        json={"name": residents["张伟"].name, "id_number": ID_NUMBER, "consent": CONSENT},
    )
    assert verified.status_code == 200, verified.get_json()
    client.post(
        "/me/identity",
        headers=bearer(token),
        json={"name": "王不对", "id_number": ID_NUMBER, "consent": CONSENT},
    )

    text = stream.getvalue()
    records = lines_of(stream)
    assert ID_NUMBER not in text and PHONE not in text
    # The lines were written, masked.
    leaky_lines = [r for r in records if r.get("request_id") == "trace-leaky-01"]
    warning = next(r for r in leaky_lines if r["logger"] == "app.tests.redaction")
    assert warning["msg"] == f"looking up {ID_MASKED} with phone {PHONE_MASKED}"
    assert warning["certno"] == ID_MASKED and warning["contact"] == {"phone": PHONE_MASKED}
    crash = next(r for r in leaky_lines if r["msg"] == "unhandled error")
    assert crash["level"] == "ERROR" and ID_MASKED in crash["exc_info"]
    assert any(r.get("route") == "/me/identity" and r["status"] == 200 for r in records)


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"certno={ID_NUMBER}", f"certno={ID_MASKED}"),
        (f"ID{ID_NUMBER}", f"ID{ID_MASKED}"),  # glued to letters
        (f"{ID_NUMBER}abc", f"{ID_MASKED}abc"),
        (f"%22{ID_NUMBER}%22", f"%22{ID_MASKED}%22"),  # a percent-encoded quote each side
        ("36070219850312011X", "3607**********011X"),
        ("36070219850312011x.", "3607**********011x."),
        # not an ID number: a longer run of digits (an account number) is left to its own rule
        ("6222020200112233445566", "6222020200112233445566"),
        (f"{PHONE} / 1{PHONE}", f"{PHONE_MASKED} / 1{PHONE}"),
    ],
)
def test_redact_masks_id_numbers_wherever_they_touch_other_text(text, expected):
    from app.common.redaction import redact

    assert redact(text) == expected
