"""Every setting the application reads is declared, with its default, in app/config.py's Config,
so no default hides at a call site (`config.get("X", 30)`) and the settings are documented in one
place."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from app.config import Config

APP = Path(__file__).resolve().parent.parent / "app"
READ = re.compile(r"""\b(?:config|cfg)(?:\[|\.get\()\s*["']([A-Z][A-Z0-9_]+)["']""")
INLINE_DEFAULT = re.compile(r"""\b(?:config|cfg)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']\s*,""")
# Keys flask-smorest / Flask / flask-limiter own (set by Config.flask_settings or the extension).
FRAMEWORK = {"RATELIMIT_STORAGE_URI", "OPENAPI_URL_PREFIX", "API_TITLE", "API_VERSION"}


def _sources():
    for path in sorted(APP.rglob("*.py")):
        if path.name != "config.py":
            yield str(path.relative_to(APP.parent)), path.read_text(encoding="utf-8")


def test_every_setting_read_is_declared_in_config():
    declared = {f.name for f in dataclasses.fields(Config)} | FRAMEWORK
    read = {(name, rel) for rel, text in _sources() for name in READ.findall(text)}
    assert len(read) > 50  # the pattern still finds the reads
    missing = sorted(f"{name} ({rel})" for name, rel in read if name not in declared)
    assert not missing, "declare these in app/config.py Config: " + ", ".join(missing)


def test_no_setting_is_read_with_an_inline_default():
    found = sorted(
        f"{name} ({rel})" for rel, text in _sources() for name in INLINE_DEFAULT.findall(text)
    )
    assert not found, "read these settings plainly (their default is in Config): " + ", ".join(
        found
    )


def test_settings_reach_flask_with_their_defaults(app):
    assert app.config["CLAIM_DOCUMENTS_MAX"] == 30
    assert app.config["CLAIMS_FREQUENCY_LIMIT"] == 4
    assert app.config["RATELIMIT_KEY_PREFIX"] == "huimin"
    assert app.config["NOTIFY_TEMPLATES"] == {}
