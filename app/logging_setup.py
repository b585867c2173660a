"""Logging with personal data redacted at the source.

A log-record factory masks any ID-number-shaped or mobile-phone-shaped run of characters in every
record's message before any handler sees it, whichever logger or handler is used (defence in
depth: code should not log them in the first place).
"""

from __future__ import annotations

import logging

from flask import Flask

from app.common.redaction import redact

_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # pragma: no cover - a broken format string is still logged as is
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    return record


_redacting_factory.huimin = True  # type: ignore[attr-defined]


def configure_logging(app: Flask) -> None:
    """Redaction always; then a stderr handler on the root logger in the configured format
    (LOG_FORMAT text | json, see app/ops/logs.py), unless something else (a test runner, an
    embedding server) configured logging first. A handler this function added is reconfigured
    when another app is created in the same process."""
    from app.ops.logs import formatter_for

    if not getattr(logging.getLogRecordFactory(), "huimin", False):
        logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "huimin", False)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else logging.StreamHandler()
    handler.huimin = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(app.config["LOG_FORMAT"]))
    if not ours:
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"] or logging.INFO)
