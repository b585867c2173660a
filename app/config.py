"""Settings from the environment, in three profiles: development, testing, production.

Development is the default so that `flask run` works on a fresh clone: an SQLite file under
`instance/`, sandbox adapters, generated development-only keys. Production refuses to start with
weak secrets, SQLite or sandbox adapters (`ProductionConfig.validate`).
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path


class ConfigurationError(RuntimeError):
    """The service refuses to start with this configuration."""


MIN_SECRET_BYTES = 32
# Development-only key material. Deliberately recognisable so the production check can refuse it.
_DEV_JWT_KEY = "dev-only-jwt-signing-key-do-not-use-in-production!!"
_DEV_FIELD_KEY = base64.b64encode(b"dev-only-field-encryption-key-32").decode()
_DEV_INDEX_KEY = base64.b64encode(b"dev-only-blind-index-key-32bytes").decode()
_DEV_CERT_KEY = "dev-only-certificate-signing-key-do-not-use-in-prod!"
_DEV_KEYS = {_DEV_JWT_KEY, _DEV_FIELD_KEY, _DEV_INDEX_KEY, _DEV_CERT_KEY}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _decode_key(value: str, name: str) -> bytes:
    """Keys for AES-GCM and HMAC are base64 in the environment."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{name} must be base64") from exc
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"{name} must decode to at least {MIN_SECRET_BYTES} bytes")
    return raw


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


@dataclass
class Config:
    PROFILE: str = "development"
    DEBUG: bool = False
    TESTING: bool = False
    DATABASE_URL: str = ""
    SQL_ECHO: bool = False
    # Key ring: kid -> secret. The first entry signs.
    JWT_KEYS: dict[str, str] = field(default_factory=dict)
    JWT_ISSUER: str = "huimin"
    JWT_MEMBER_AUDIENCE: str = "huimin-member"
    JWT_STAFF_AUDIENCE: str = "huimin-staff"
    ACCESS_TOKEN_SECONDS: int = 15 * 60
    REFRESH_TOKEN_SECONDS: int = 30 * 24 * 3600
    FIELD_ENCRYPTION_KEY: bytes = b""
    BLIND_INDEX_KEY: bytes = b""
    CERTIFICATE_SIGNING_KEY: str = ""
    # Adapters: "sandbox" or "real".
    WECHAT_ADAPTER: str = "sandbox"
    WECHAT_APPID: str = "wx-sandbox-appid"
    WECHAT_SECRET: str = ""
    WECHAT_API_BASE: str = "https://api.weixin.qq.com"
    BUREAU_ADAPTER: str = "sandbox"
    BUREAU_BASE_URL: str = ""
    BUREAU_APP_ID: str = ""
    BUREAU_SECRET: str = ""
    BUREAU_REGION: str = "360700"
    HTTP_TIMEOUT_SECONDS: float = 5.0
    # WeChat Pay API v3 (JSAPI). Key material is given as PEM text or a path to a PEM file.
    WECHATPAY_ADAPTER: str = "sandbox"
    WECHATPAY_MCHID: str = "1900000001"
    WECHATPAY_MERCHANT_KEY: str = ""          # merchant API private key (PEM or path)
    WECHATPAY_MERCHANT_SERIAL: str = ""       # merchant certificate serial number
    WECHATPAY_APIV3_KEY: str = ""             # 32-byte APIv3 key for AEAD_AES_256_GCM
    WECHATPAY_PUBLIC_KEY: str = ""            # WeChat Pay platform public key (PEM or path)
    WECHATPAY_PUBLIC_KEY_ID: str = ""         # its id ("PUB_KEY_ID_...")
    WECHATPAY_NOTIFY_URL: str = "http://127.0.0.1:5000/payments/wechat/notify"
    WECHATPAY_NOTIFY_MAX_SKEW_SECONDS: int = 300
    # Unpaid orders close after this long.
    ORDER_PAYMENT_TIMEOUT_SECONDS: int = 30 * 60
    # Public base URL used in certificate QR codes.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:5000"
    # Identity verification is re-done when older than this.
    VERIFICATION_MAX_AGE_SECONDS: int = 24 * 3600
    REDIS_URL: str | None = None
    RATELIMIT_ENABLED: bool = True
    RATE_LIMIT_VERIFY_PER_USER: str = "10 per hour"
    RATE_LIMIT_VERIFY_PER_TARGET: str = "5 per hour"
    RATE_LIMIT_VERIFY_GLOBAL: str = "600 per minute"
    RATE_LIMIT_LOGIN: str = "30 per minute"
    MAX_CONTENT_LENGTH: int = 1 * 1024 * 1024
    MAX_PAGE_SIZE: int = 100
    SERVE_SWAGGER_UI: bool = True
    LOAD_DEMO_DATA: bool = False

    def flask_settings(self) -> dict:
        """What Flask and flask-smorest read from app.config."""
        settings = {k: v for k, v in self.__dict__.items()}
        settings.update(
            API_TITLE="Huimin 惠民保 member API",
            API_VERSION="0.1.0",
            OPENAPI_VERSION="3.0.3",
            # The spec is served where Swagger UI is (not in production); `flask openapi write`
            # exports it anywhere.
            OPENAPI_URL_PREFIX="/" if self.SERVE_SWAGGER_UI else None,
            OPENAPI_JSON_PATH="openapi.json",
            PROPAGATE_EXCEPTIONS=False,
            JSON_SORT_KEYS=False,
        )
        if self.SERVE_SWAGGER_UI:
            settings.update(
                OPENAPI_SWAGGER_UI_PATH="/docs",
                # Served from the swagger-ui-bundle wheel: no CDN needed (app/docs_assets.py).
                OPENAPI_SWAGGER_UI_URL="/docs/assets/",
            )
        return settings

    def validate(self) -> None:
        if not self.DATABASE_URL:
            raise ConfigurationError("DATABASE_URL is required")
        if not self.JWT_KEYS:
            raise ConfigurationError("JWT_KEYS is required")
        for kid, secret in self.JWT_KEYS.items():
            if len(secret.encode()) < MIN_SECRET_BYTES and self.PROFILE != "development":
                raise ConfigurationError(
                    f"JWT key '{kid}' is shorter than {MIN_SECRET_BYTES} bytes"
                )
        for name in ("WECHAT_ADAPTER", "BUREAU_ADAPTER", "WECHATPAY_ADAPTER"):
            if getattr(self, name) not in ("sandbox", "real"):
                raise ConfigurationError(f"{name} must be 'sandbox' or 'real'")


def _common_from_env(cfg: Config) -> Config:
    cfg.DATABASE_URL = _env("DATABASE_URL", cfg.DATABASE_URL) or ""
    cfg.REDIS_URL = _env("REDIS_URL", cfg.REDIS_URL)
    if _env("JWT_KEYS"):
        cfg.JWT_KEYS = _parse_jwt_keys(_env("JWT_KEYS"))
    if _env("FIELD_ENCRYPTION_KEY"):
        cfg.FIELD_ENCRYPTION_KEY = _decode_key(_env("FIELD_ENCRYPTION_KEY"), "FIELD_ENCRYPTION_KEY")
    if _env("BLIND_INDEX_KEY"):
        cfg.BLIND_INDEX_KEY = _decode_key(_env("BLIND_INDEX_KEY"), "BLIND_INDEX_KEY")
    cfg.CERTIFICATE_SIGNING_KEY = _env("CERTIFICATE_SIGNING_KEY", cfg.CERTIFICATE_SIGNING_KEY) or ""
    for name in (
        "WECHAT_ADAPTER", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE",
        "BUREAU_ADAPTER", "BUREAU_BASE_URL", "BUREAU_APP_ID", "BUREAU_SECRET", "BUREAU_REGION",
        "WECHATPAY_ADAPTER", "WECHATPAY_MCHID", "WECHATPAY_MERCHANT_KEY",
        "WECHATPAY_MERCHANT_SERIAL", "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY",
        "WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_NOTIFY_URL", "PUBLIC_BASE_URL",
    ):
        setattr(cfg, name, _env(name, getattr(cfg, name)))
    return cfg


def development_config() -> Config:
    instance = Path(__file__).resolve().parent.parent / "instance"
    cfg = Config(
        PROFILE="development",
        DEBUG=False,
        DATABASE_URL=f"sqlite:///{instance / 'huimin.sqlite3'}",
        JWT_KEYS={"dev-1": _DEV_JWT_KEY},
        FIELD_ENCRYPTION_KEY=base64.b64decode(_DEV_FIELD_KEY),
        BLIND_INDEX_KEY=base64.b64decode(_DEV_INDEX_KEY),
        CERTIFICATE_SIGNING_KEY=_DEV_CERT_KEY,
        LOAD_DEMO_DATA=True,
    )
    return _common_from_env(cfg)


def testing_config() -> Config:
    cfg = Config(
        PROFILE="testing",
        TESTING=True,
        DATABASE_URL="sqlite://",
        JWT_KEYS={"test-1": "test-jwt-signing-key-0123456789abcdef"},
        FIELD_ENCRYPTION_KEY=b"test-field-encryption-key-32byte",
        BLIND_INDEX_KEY=b"test-blind-index-key-32-bytes-ok",
        CERTIFICATE_SIGNING_KEY="test-certificate-signing-key-0123456789",
        REDIS_URL=None,
    )
    cfg.DATABASE_URL = _env("TEST_DATABASE_URL", cfg.DATABASE_URL) or "sqlite://"
    return cfg


def production_config() -> Config:
    return _common_from_env(Config(PROFILE="production", SERVE_SWAGGER_UI=False))


def validate_production(cfg: Config) -> None:
    """Refuse to start a production service that would be unsafe or fake."""
    if not cfg.DATABASE_URL.startswith("postgresql"):
        raise ConfigurationError("production needs a PostgreSQL DATABASE_URL")
    if not cfg.JWT_KEYS:
        raise ConfigurationError("production needs JWT_KEYS")
    for kid, secret in cfg.JWT_KEYS.items():
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"JWT key '{kid}' is shorter than {MIN_SECRET_BYTES} bytes")
        if secret in _DEV_KEYS:
            raise ConfigurationError("production refuses the development JWT key")
    if len(cfg.FIELD_ENCRYPTION_KEY) < MIN_SECRET_BYTES:
        raise ConfigurationError("production needs FIELD_ENCRYPTION_KEY (base64, 32 bytes)")
    if len(cfg.BLIND_INDEX_KEY) < MIN_SECRET_BYTES:
        raise ConfigurationError("production needs BLIND_INDEX_KEY (base64, 32 bytes)")
    if cfg.FIELD_ENCRYPTION_KEY == cfg.BLIND_INDEX_KEY:
        raise ConfigurationError("FIELD_ENCRYPTION_KEY and BLIND_INDEX_KEY must differ")
    if len(cfg.CERTIFICATE_SIGNING_KEY.encode()) < MIN_SECRET_BYTES or cfg.CERTIFICATE_SIGNING_KEY in _DEV_KEYS:
        raise ConfigurationError("production needs CERTIFICATE_SIGNING_KEY of 32+ bytes")
    if "sandbox" in (cfg.WECHAT_ADAPTER, cfg.BUREAU_ADAPTER, cfg.WECHATPAY_ADAPTER):
        raise ConfigurationError("production refuses sandbox adapters")
    for name in ("WECHATPAY_MERCHANT_KEY", "WECHATPAY_MERCHANT_SERIAL", "WECHATPAY_APIV3_KEY",
                 "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID"):
        if not getattr(cfg, name):
            raise ConfigurationError(f"production needs {name}")
    if len(cfg.WECHATPAY_APIV3_KEY.encode()) != 32:
        raise ConfigurationError("WECHATPAY_APIV3_KEY must be exactly 32 bytes")
    if not cfg.PUBLIC_BASE_URL.startswith("https://"):
        raise ConfigurationError("production needs an https PUBLIC_BASE_URL")
    if not cfg.WECHAT_SECRET:
        raise ConfigurationError("production needs WECHAT_SECRET")
    if not (cfg.BUREAU_BASE_URL and cfg.BUREAU_SECRET and cfg.BUREAU_APP_ID):
        raise ConfigurationError("production needs BUREAU_BASE_URL, BUREAU_APP_ID and BUREAU_SECRET")
    if not cfg.REDIS_URL:
        raise ConfigurationError("production needs REDIS_URL (rate limits are shared across workers)")


PROFILES = {
    "development": development_config,
    "testing": testing_config,
    "production": production_config,
}


def load_config(profile: str | None = None) -> Config:
    name = profile or _env("HUIMIN_PROFILE", "development")
    if name not in PROFILES:
        raise ConfigurationError(f"unknown profile {name!r}; use one of {sorted(PROFILES)}")
    cfg = PROFILES[name]()
    cfg.validate()
    if name == "production":
        validate_production(cfg)
    return cfg
