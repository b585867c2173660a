"""The consent texts' settings (split from app/config.py): which setting holds the version in
force of each consent text a member agrees to (the one place each version lives; docs/privacy.md
"Consent text versions"), and the start-up check that each is a version a consent could carry."""

from __future__ import annotations

from typing import Any

from app.config_production import ConfigurationError

# Every consent text a member agrees to -> the Config setting holding its version in force.
CONSENT_TEXT_SETTINGS = {
    "personal_information": "PI_CONSENT_TEXT_VERSION",
    "guardian": "GUARDIAN_CONSENT_TEXT_VERSION",
    "renewal": "RENEWAL_CONSENT_VERSION",
    "value_estimate": "ESTIMATE_CONSENT_TEXT_VERSION",
}


def validate_consent_versions(cfg: Any) -> None:
    """Each version in force is what a consent's text_version may carry on the wire (1 to 32
    printable characters, no surrounding space), or no consent could ever be given to it."""
    for name in CONSENT_TEXT_SETTINGS.values():
        version = getattr(cfg, name)
        if not (0 < len(version) <= 32 and version.isprintable() and version == version.strip()):
            raise ConfigurationError(f"{name} must be 1 to 32 printable characters")
