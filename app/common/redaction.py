"""Masking of personal data in free text (log lines): any ID-number-shaped or mobile-phone-shaped
run of characters. Pure: used by the log-record factory (app/logging_setup.py) and the request
log (app/ops/logs.py), kept here so neither has to import the other."""

from __future__ import annotations

import re

# 18 characters not inside a longer run of digits: letters may touch it ("ID3607..."), and so may
# a percent-encoded character ("%223607...%22" in a logged URL or body).
_ID_NUMBER = re.compile(r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))(\d{4})\d{10}(\d{3}[\dXx])(?![0-9])")
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)
