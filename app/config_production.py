"""Production's refusals (split from app/config.py): a production service refuses to start when
it would be unsafe or fake (weak or development secrets, SQLite, sandbox adapters, document storage
that is not encrypted or not private)."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.integrations.notifier.templates import parse_templates


class ConfigurationError(RuntimeError):
    """The service refuses to start with this configuration."""


MIN_SECRET_BYTES = 32
# Development-only key material. Deliberately recognisable so the production check can refuse it.
_DEV_JWT_KEY = "dev-only-jwt-signing-key-do-not-use-in-production!!"
_DEV_FIELD_KEY = base64.b64encode(b"dev-only-field-encryption-key-32").decode()
_DEV_INDEX_KEY = base64.b64encode(b"dev-only-blind-index-key-32bytes").decode()
_DEV_CERT_KEY = "dev-only-certificate-signing-key-do-not-use-in-prod!"
_DEV_DOCUMENT_KEY = b"dev-only-document-storage-key-32"  # 32 bytes, refused in production
_DEV_DUPLICATE_KEY = b"dev-only-duplicate-check-key-32b"
_DEV_CAMPAIGN_KEY = "dev-only-campaign-link-signing-key-do-not-use-in-prod!"
# The testing profile's keys are in the repository too (app/config.py testing_config).
_TEST_JWT_KEY = "test-jwt-signing-key-0123456789abcdef"
_TEST_FIELD_KEY = b"test-field-encryption-key-32byte"
_TEST_INDEX_KEY = b"test-blind-index-key-32-bytes-ok"
_TEST_CERT_KEY = "test-certificate-signing-key-0123456789"
_TEST_CAMPAIGN_KEY = "test-campaign-link-signing-key-0123456789"
_TEST_DOCUMENT_KEY = b"test-document-encryption-key-32b"
_TEST_DUPLICATE_KEY = b"test-duplicate-check-key-32bytes"
_DEV_KEYS = {
    _DEV_JWT_KEY,
    _DEV_FIELD_KEY,
    _DEV_INDEX_KEY,
    _DEV_CERT_KEY,
    _DEV_CAMPAIGN_KEY,
    _TEST_JWT_KEY,
    _TEST_CERT_KEY,
    _TEST_CAMPAIGN_KEY,
}
# The field and index keys are held decoded (bytes): the base64 texts above never match them.
_DEV_RAW_KEYS = {
    base64.b64decode(_DEV_FIELD_KEY),
    base64.b64decode(_DEV_INDEX_KEY),
    _TEST_FIELD_KEY,
    _TEST_INDEX_KEY,
    _DEV_DUPLICATE_KEY,
    _TEST_DUPLICATE_KEY,
}


def _json_env(name: str, value: str) -> Any:
    """A setting given as JSON in the environment (NOTIFY_TEMPLATES)."""
    try:
        return json.loads(value)
    except ValueError:
        raise ConfigurationError(f"{name} is not JSON") from None


def _validate_templates(cfg: Any) -> None:
    """Every member notification is a WeChat subscription message filling a template the
    mini-program chose: without the map of kinds to templates, none could be delivered."""
    try:
        if not parse_templates(cfg.NOTIFY_TEMPLATES):
            raise ValueError("production needs NOTIFY_TEMPLATES for the real notifier")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _parse_jwt_keys(value: str) -> dict[str, str]:
    """`JWT_KEYS="kid1:secret1,kid2:secret2"`: the first is used to sign, all verify (rotation)."""
    keys: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, secret = part.partition(":")
        if not sep or not kid or not secret:
            raise ConfigurationError("JWT_KEYS must look like 'kid:secret,kid2:secret2'")
        keys[kid] = secret
    if not keys:
        raise ConfigurationError("JWT_KEYS is empty")
    return keys


def _decode_key(value: str, name: str) -> bytes:
    """Keys for AES-GCM and HMAC are base64 in the environment."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{name} must be base64") from exc
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"{name} must decode to at least {MIN_SECRET_BYTES} bytes")
    return raw


def validate_production(cfg: Any) -> None:
    """Refuse to start a production service that would be unsafe or fake."""
    if not cfg.DATABASE_URL.startswith("postgresql"):
        raise ConfigurationError("production needs a PostgreSQL DATABASE_URL")
    if not cfg.JWT_KEYS:
        raise ConfigurationError("production needs JWT_KEYS")
    for kid, secret in cfg.JWT_KEYS.items():
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"JWT key '{kid}' is shorter than {MIN_SECRET_BYTES} bytes")
        if secret in _DEV_KEYS:
            raise ConfigurationError("production refuses the development or testing JWT key")
    if len(cfg.FIELD_ENCRYPTION_KEY) < MIN_SECRET_BYTES:
        raise ConfigurationError("production needs FIELD_ENCRYPTION_KEY (base64, 32 bytes)")
    if len(cfg.BLIND_INDEX_KEY) < MIN_SECRET_BYTES:
        raise ConfigurationError("production needs BLIND_INDEX_KEY (base64, 32 bytes)")
    if cfg.FIELD_ENCRYPTION_KEY in _DEV_RAW_KEYS or cfg.BLIND_INDEX_KEY in _DEV_RAW_KEYS:
        raise ConfigurationError("production refuses a development or testing field or index key")
    if cfg.FIELD_ENCRYPTION_KEY == cfg.BLIND_INDEX_KEY:
        raise ConfigurationError("FIELD_ENCRYPTION_KEY and BLIND_INDEX_KEY must differ")
    _validate_duplicate_check_key(cfg)
    if (
        len(cfg.CERTIFICATE_SIGNING_KEY.encode()) < MIN_SECRET_BYTES
        or cfg.CERTIFICATE_SIGNING_KEY in _DEV_KEYS
    ):
        raise ConfigurationError("production needs CERTIFICATE_SIGNING_KEY of 32+ bytes")
    if (
        len(cfg.CAMPAIGN_SIGNING_KEY.encode()) < MIN_SECRET_BYTES
        or cfg.CAMPAIGN_SIGNING_KEY in _DEV_KEYS
    ):
        raise ConfigurationError("production needs CAMPAIGN_SIGNING_KEY of 32+ bytes")
    if cfg.CAMPAIGN_SIGNING_KEY == cfg.CERTIFICATE_SIGNING_KEY:
        raise ConfigurationError("CAMPAIGN_SIGNING_KEY and CERTIFICATE_SIGNING_KEY must differ")
    if "sandbox" in (
        cfg.WECHAT_ADAPTER,
        cfg.BUREAU_ADAPTER,
        cfg.WECHATPAY_ADAPTER,
        cfg.NOTIFIER_BACKEND,
        cfg.PAYOUT_BACKEND,
    ):
        raise ConfigurationError("production refuses sandbox adapters")
    _validate_templates(cfg)
    if not cfg.PAYOUT_BASE_URL.startswith("https://") or not cfg.PAYOUT_MERCHANT_ID:
        raise ConfigurationError("production needs an https PAYOUT_BASE_URL and PAYOUT_MERCHANT_ID")
    if len(cfg.PAYOUT_SECRET.encode()) < MIN_SECRET_BYTES or cfg.PAYOUT_SECRET in _DEV_KEYS:
        raise ConfigurationError(f"production needs PAYOUT_SECRET of {MIN_SECRET_BYTES}+ bytes")
    for name in (
        "WECHAT_APPID",
        "WECHATPAY_MCHID",
        "WECHATPAY_NOTIFY_URL",
        "WECHATPAY_MERCHANT_KEY",
        "WECHATPAY_MERCHANT_SERIAL",
        "WECHATPAY_APIV3_KEY",
        "WECHATPAY_PUBLIC_KEY",
        "WECHATPAY_PUBLIC_KEY_ID",
    ):
        if not getattr(cfg, name):
            raise ConfigurationError(f"production needs {name}")
    if len(cfg.WECHATPAY_APIV3_KEY.encode()) != 32:
        raise ConfigurationError("WECHATPAY_APIV3_KEY must be exactly 32 bytes")
    if not cfg.PUBLIC_BASE_URL.startswith("https://"):
        raise ConfigurationError("production needs an https PUBLIC_BASE_URL")
    if not cfg.WECHAT_SECRET:
        raise ConfigurationError("production needs WECHAT_SECRET")
    if not (cfg.BUREAU_BASE_URL and cfg.BUREAU_SECRET and cfg.BUREAU_APP_ID):
        raise ConfigurationError(
            "production needs BUREAU_BASE_URL, BUREAU_APP_ID and BUREAU_SECRET"
        )
    if not cfg.REDIS_URL:
        raise ConfigurationError(
            "production needs REDIS_URL (rate limits are shared across workers)"
        )
    validate_production_document_storage(cfg)
    if cfg.METRICS_TOKEN and (
        len(cfg.METRICS_TOKEN.encode()) < MIN_SECRET_BYTES or cfg.METRICS_TOKEN in _DEV_KEYS
    ):
        raise ConfigurationError(f"METRICS_TOKEN must be at least {MIN_SECRET_BYTES} bytes")


def _validate_duplicate_check_key(cfg: Any) -> None:
    """The claims' duplicate digests outlive the numbers they were made of (purge-retained): a
    key of their own, secret, never a development one, and never rotated (a new key would
    stop every purged number from blocking a duplicate)."""
    key = cfg.DUPLICATE_CHECK_KEY
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigurationError("production needs DUPLICATE_CHECK_KEY (base64, 32 bytes)")
    if key in _DEV_RAW_KEYS:
        raise ConfigurationError("production refuses a development or testing DUPLICATE_CHECK_KEY")
    if key in (cfg.FIELD_ENCRYPTION_KEY, cfg.BLIND_INDEX_KEY, cfg.DOCUMENT_ENCRYPTION_KEY):
        raise ConfigurationError("DUPLICATE_CHECK_KEY must differ from the other keys")


def validate_production_document_storage(cfg: Any) -> None:
    """Claim documents in production: a real key of their own, and a store that persists."""
    if len(cfg.DOCUMENT_ENCRYPTION_KEY) != 32:
        raise ConfigurationError("production needs DOCUMENT_ENCRYPTION_KEY (base64, 32 bytes)")
    if cfg.DOCUMENT_ENCRYPTION_KEY in (_DEV_DOCUMENT_KEY, _TEST_DOCUMENT_KEY):
        raise ConfigurationError("production refuses the development DOCUMENT_ENCRYPTION_KEY")
    if cfg.DOCUMENT_ENCRYPTION_KEY in (cfg.FIELD_ENCRYPTION_KEY, cfg.BLIND_INDEX_KEY):
        raise ConfigurationError(
            "DOCUMENT_ENCRYPTION_KEY must differ from the field and index keys"
        )
    # Local disk is a real store, not a sandbox, but the default directory under instance/ lives
    # beside the code, where a redeploy or a new container loses it and no backup looks. So
    # production takes local storage only when STORAGE_LOCAL_DIR names a persistent, backed-up
    # volume explicitly (shared by every app server, if there are several).
    if cfg.STORAGE_BACKEND == "local" and not cfg.STORAGE_LOCAL_DIR:
        raise ConfigurationError("production local storage needs STORAGE_LOCAL_DIR set explicitly")
    if (
        cfg.STORAGE_BACKEND == "s3"
        and cfg.STORAGE_S3_ENDPOINT_URL
        and not cfg.STORAGE_S3_ENDPOINT_URL.startswith("https://")
    ):
        raise ConfigurationError("production needs an https STORAGE_S3_ENDPOINT_URL")
