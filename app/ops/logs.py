"""Request ids, one log line per request, and the JSON log format.

- Request id: a client's `X-Request-ID` is kept when it is sane (8-64 characters of
  `A-Z a-z 0-9 . _ : -`, starting with a letter or digit), so a trace can be followed from the
  gateway; anything else is replaced by a fresh uuid4. A kept id is masked like log text (an
  ID-number- or phone-shaped run keeps only its ends) before anything sees it, since a client
  may put an ID number there. It is echoed in the response's `X-Request-Id` header (problem
  details included), recorded in audit rows, and added to every log record made while the
  request is served.
- Request log: `huimin.request` logs method, url rule (never the raw path or query string, which
  may carry ids, tokens or personal data), status, duration and the caller's member or staff id.
- JSON format (`LOG_FORMAT=json`, the production default): one object per line with ts, level,
  logger, msg, the request fields and any `extra=` fields. python-json-logger does the encoding;
  every string value is passed through `redact()` as well, because the record factory in
  app/logging_setup.py redacts only the message and `extra=` values are not part of it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from app.common.redaction import redact

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{7,63}")
request_log = logging.getLogger("huimin.request")


def accept_request_id(incoming: str | None) -> str:
    """The client's request id when it is sane (masked), otherwise a new one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return redact(incoming)
    return uuid.uuid4().hex


def request_fields() -> dict[str, Any]:
    """What identifies the current request in a log line (empty outside a request)."""
    if not has_request_context():
        return {}
    fields: dict[str, Any] = {
        "request_id": g.get("request_id"),
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule is not None else None,
    }
    principal = g.get("principal")
    if principal is not None:
        fields["member_id" if principal.kind == "member" else "staff_id"] = principal.id
    return fields


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    return value


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: ts, level, logger, msg, request fields, extras."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "message": "msg"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        for key, value in request_fields().items():
            log_data.setdefault(key, value)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return _redacted(log_data)


class TextFormatter(logging.Formatter):
    """The development format, with the request id appended when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = request_fields().get("request_id") or getattr(record, "request_id", None)
        # The line's own text was masked when the record was made; the id is added here.
        return f"{line} [request_id={redact(str(request_id))}]" if request_id else line


def formatter_for(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def init_app(app: Flask) -> None:
    """Request id and timing first thing in every request; the id header and the request log
    line last thing in every response (problem details included)."""
    from app.ops import metrics

    def _start() -> None:
        g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    # First of all before-request hooks: one registered earlier may refuse the request (the rate
    # limiter's, for app-wide limits), and that answer needs its id and its log line too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        route = request.url_rule.rule if request.url_rule is not None else None
        metrics.observe_request(route, request.method, response.status_code, seconds)
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        duration_ms = round(seconds * 1000, 1)
        request_log.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            route or metrics.UNMATCHED_ROUTE,
            response.status_code,
            duration_ms,
            extra={"status": response.status_code, "duration_ms": duration_ms},
        )
        return response
