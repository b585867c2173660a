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
from typing import Any

from app.config_consents import CONSENT_TEXT_SETTINGS, validate_consent_versions

# The production refusals, the key material they know and the parsing of keys live in
# app/config_production.py (imported here, re-exported for the callers of app.config).
from app.config_production import (
    _DEV_CAMPAIGN_KEY,
    _DEV_CERT_KEY,
    _DEV_DOCUMENT_KEY,
    _DEV_DUPLICATE_KEY,
    _DEV_FIELD_KEY,
    _DEV_INDEX_KEY,
    _DEV_JWT_KEY,
    _TEST_CAMPAIGN_KEY,
    _TEST_CERT_KEY,
    _TEST_DOCUMENT_KEY,
    _TEST_DUPLICATE_KEY,
    _TEST_FIELD_KEY,
    _TEST_INDEX_KEY,
    _TEST_JWT_KEY,
    MIN_SECRET_BYTES,
    ConfigurationError,
    _decode_key,
    _json_env,
    _parse_jwt_keys,
    validate_production,
    validate_production_document_storage,
)
from app.proxy import valid_allow_list

__all__ = [
    "MIN_SECRET_BYTES",
    "Config",
    "ConfigurationError",
    "load_config",
    "validate_production",
    "validate_production_document_storage",
]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


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
    # HMAC key of the claims' duplicate digests (app/claims/digests.py, docs/privacy.md).
    DUPLICATE_CHECK_KEY: bytes = b""
    CERTIFICATE_SIGNING_KEY: str = ""
    # Signs invite-campaign links (HMAC-SHA256); a key of its own, never the certificate's.
    CAMPAIGN_SIGNING_KEY: str = ""
    # Sponsor reports suppress any claims count below this (and the sum that goes with it).
    SPONSOR_REPORT_MIN_CELL: int = 5
    # Who issues the sponsors' donation receipts (捐赠凭证): the scheme's operating platform.
    SPONSOR_RECEIPT_ISSUER: str = "赣州惠民保服务平台"
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
    WECHATPAY_MERCHANT_KEY: str = ""  # merchant API private key (PEM or path)
    WECHATPAY_MERCHANT_SERIAL: str = ""  # merchant certificate serial number
    WECHATPAY_APIV3_KEY: str = ""  # 32-byte APIv3 key for AEAD_AES_256_GCM
    WECHATPAY_PUBLIC_KEY: str = ""  # WeChat Pay platform public key (PEM or path)
    WECHATPAY_PUBLIC_KEY_ID: str = ""  # its id ("PUB_KEY_ID_...")
    WECHATPAY_NOTIFY_URL: str = "http://127.0.0.1:5000/payments/wechat/notify"
    WECHATPAY_NOTIFY_MAX_SKEW_SECONDS: int = 300
    # The API v3 gateway; another value only for a local fake (the production smoke run).
    WECHATPAY_API_BASE: str = "https://api.mch.weixin.qq.com"
    # Unpaid orders close after this long.
    ORDER_PAYMENT_TIMEOUT_SECONDS: int = 30 * 60
    # A personal-account balance asked of the bureau (9605) is shown in quotes for this long
    # before it is asked again (0: ask every time). A debit or refund forgets it at once.
    ACCOUNT_BALANCE_CACHE_SECONDS: int = 30
    # The consent texts in force (app/config_consents.py): another version is refused.
    PI_CONSENT_TEXT_VERSION: str = "pi-2026-01"  # 《个人信息处理规则》 (identity, relatives)
    GUARDIAN_CONSENT_TEXT_VERSION: str = "guardian-2026-01"  # for a relative under 14
    RENEWAL_CONSENT_VERSION: str = "renewal-2026-12"  # 续保授权书 (GET /renewals)
    ESTIMATE_CONSENT_TEXT_VERSION: str = "estimate-2026-12"  # GET /me/value-estimate/consent
    # Member notifications: WeChat subscription messages with the mini-program's WECHAT_APPID /
    # WECHAT_SECRET / WECHAT_API_BASE ("real"), or the recording sandbox. The state is which
    # mini-program build a tap opens: developer | trial | formal.
    NOTIFIER_BACKEND: str = "sandbox"
    NOTIFIER_MINIPROGRAM_STATE: str = "formal"
    # Claim payouts: the payment platform's transfer API (app/integrations/payout/http_adapter.py)
    # or the sandbox bank. PAYOUT_SECRET is the HMAC-SHA256 key shared with the platform.
    PAYOUT_BACKEND: str = "sandbox"
    PAYOUT_BASE_URL: str = ""
    PAYOUT_MERCHANT_ID: str = ""
    PAYOUT_SECRET: str = ""
    # Public base URL used in certificate QR codes.
    PUBLIC_BASE_URL: str = "http://127.0.0.1:5000"
    # Identity verification is re-done when older than this.
    VERIFICATION_MAX_AGE_SECONDS: int = 24 * 3600
    REDIS_URL: str | None = None
    # The reverse proxy (app/proxy.py): how many proxies append to X-Forwarded-For in front of
    # the app (0: none, the socket address is the client), and which socket peers may say so:
    # the same FORWARDED_ALLOW_IPS gunicorn reads (comma-separated addresses or networks, "*").
    PROXY_HOPS: int = 1
    FORWARDED_ALLOW_IPS: str = "127.0.0.1"
    RATELIMIT_ENABLED: bool = True
    RATE_LIMIT_VERIFY_PER_USER: str = "10 per hour"
    RATE_LIMIT_VERIFY_PER_TARGET: str = "5 per hour"
    RATE_LIMIT_VERIFY_GLOBAL: str = "600 per minute"
    # The value estimate fetches every family member's settlement records from the bureau: limited
    # as identity checks are (per member, per person fetched, city-wide).
    RATE_LIMIT_ESTIMATE_PER_USER: str = "10 per hour"
    RATE_LIMIT_ESTIMATE_PER_TARGET: str = "5 per hour"
    RATE_LIMIT_ESTIMATE_GLOBAL: str = "600 per minute"
    RATE_LIMIT_LOGIN: str = "30 per minute"
    # Failed staff sign-ins per username, whatever the address (app/auth/lockout.py).
    RATE_LIMIT_STAFF_LOGIN_FAILURES: str = "5 per 15 minutes"
    # Rate-limit storage (Redis) outages (app/ratelimit.py, docs/ratelimits.md): how long a
    # call to Redis may take, and how long the service-level limits answer 503 before asking
    # Redis again (also their Retry-After).
    RATE_LIMIT_STORAGE_TIMEOUT_SECONDS: float = 0.5
    RATE_LIMIT_OUTAGE_RETRY_SECONDS: int = 5
    MAX_CONTENT_LENGTH: int = 1 * 1024 * 1024
    MAX_PAGE_SIZE: int = 100
    SERVE_SWAGGER_UI: bool = True
    LOAD_DEMO_DATA: bool = False
    # Claim documents (app/documents): upload size, image pixels, PDF pages and the total a PDF's
    # streams may inflate to. The upload route needs a request limit of its own above
    # MAX_CONTENT_LENGTH to let DOCUMENT_MAX_BYTES through.
    DOCUMENT_MAX_BYTES: int = 10 * 1024 * 1024
    DOCUMENT_MAX_PIXELS: int = 50_000_000
    DOCUMENT_PDF_MAX_PAGES: int = 200
    DOCUMENT_PDF_MAX_DECODED_BYTES: int = 128 * 1024 * 1024
    # What a worker's memory holds for one photo (app/documents/images.py): a JPEG larger than
    # this many pixels is decoded at 1/2, 1/4 or 1/8 scale (stored that size), a PNG larger is
    # refused. 16 MP decode to 48 MB (RGB); a 48 MP phone photo is kept at 12 MP.
    DOCUMENT_DECODE_MAX_PIXELS: int = 16_000_000
    # Concurrent heavy document work (app/documents/throttle.py): decodes at once per worker
    # process (an upload waits up to DOCUMENT_WORK_WAIT_SECONDS for one, then 503), and uploads
    # at once per member across all workers (more: 429). Retry-After of both answers.
    DOCUMENT_WORK_SLOTS: int = 2
    DOCUMENT_WORK_WAIT_SECONDS: float = 10.0
    DOCUMENT_WORK_PER_MEMBER: int = 2
    DOCUMENT_WORK_RETRY_SECONDS: int = 5
    # Document storage (app/integrations/storage): AES-256-GCM key (base64 of 32 bytes in the
    # environment), backend "local" (STORAGE_LOCAL_DIR; a temporary directory in tests) or "s3"
    # (any S3-compatible endpoint; addressing style "auto", "path" or "virtual").
    DOCUMENT_ENCRYPTION_KEY: bytes = b""
    STORAGE_BACKEND: str = "local"
    STORAGE_LOCAL_DIR: str = ""
    STORAGE_S3_ENDPOINT_URL: str = ""
    STORAGE_S3_BUCKET: str = ""
    STORAGE_S3_REGION: str = ""
    STORAGE_S3_ACCESS_KEY_ID: str = ""
    STORAGE_S3_SECRET_ACCESS_KEY: str = ""
    STORAGE_S3_ADDRESSING_STYLE: str = "auto"
    STORAGE_S3_TIMEOUT_SECONDS: float = 10.0
    STORAGE_S3_MAX_ATTEMPTS: int = 3
    # Operations (app/ops): log format "text" or "json" (one JSON object per line), the bearer
    # token that /metrics answers to (unset: it answers nobody), and how long /readyz waits for
    # each dependency.
    LOG_FORMAT: str = "text"
    LOG_LEVEL: str = "INFO"
    METRICS_TOKEN: str = ""
    READINESS_TIMEOUT_SECONDS: float = 2.0
    # How long an Idempotency-Key stays claimed by a request that never finished, when its
    # holder cannot be seen to be dead (another host): the request timeout, gunicorn's
    # GUNICORN_TIMEOUT when this is not set. A holder on this host that died (a killed worker)
    # releases the key at once (app/common/idempotency.py).
    IDEMPOTENCY_LEASE_SECONDS: int = 30
    # Long work (app/jobs): Celery on this broker (Redis) when set, eagerly in-process otherwise.
    # Production falls back to REDIS_URL. The queue name lets tests use a queue of their own.
    CELERY_BROKER_URL: str | None = None
    CELERY_QUEUE: str = "huimin-jobs"
    # Batch enrollment: rows per transaction (1 = every row its own transaction; a failed batch
    # is redone row by row anyway), bureau 1101 calls per second across all workers (0 = no
    # limit: the embedded sandbox), and when a running job's heartbeat counts as dead.
    JOB_BATCH_SIZE: int = 500
    JOB_STALE_SECONDS: int = 120
    BUREAU_CALLS_PER_SECOND: float = 20.0
    # Sponsor rosters: the upload's size (a request-level limit of its own, above
    # MAX_CONTENT_LENGTH), data rows, and the uncompressed size of an XLSX's zip members.
    ROSTER_MAX_BYTES: int = 16 * 1024 * 1024
    ROSTER_MAX_ROWS: int = 100_000
    ROSTER_XLSX_MAX_UNCOMPRESSED_BYTES: int = 64 * 1024 * 1024
    # Product catalogues (app/catalogues): the uploaded file's size (a request-level limit of its
    # own), data rows, and the uncompressed size of an XLSX's zip members.
    CATALOGUE_MAX_BYTES: int = 8 * 1024 * 1024
    CATALOGUE_MAX_ROWS: int = 50_000
    CATALOGUE_XLSX_MAX_UNCOMPRESSED_BYTES: int = 64 * 1024 * 1024
    # Public statistics (app/disclosure): counts under this many people or claims are suppressed,
    # and public caches may keep an answer this long (it carries an ETag either way).
    DISCLOSURE_MIN_CELL: int = 10
    DISCLOSURE_CACHE_SECONDS: int = 300
    # Operator dashboard: page refetch, daily-chart days, warning thresholds (docs/dashboard.md).
    DASHBOARD_REFRESH_SECONDS: int = 15
    DASHBOARD_DAYS: int = 30
    DASHBOARD_PROJECTION_MIN_DAYS: int = 30  # days of cover before the loss ratio is projected
    DASHBOARD_BUDGET_WARN_BP: int = 9000  # a programme's budget 90% committed
    DASHBOARD_RECONCILIATION_AGE_SECONDS: int = 3600  # pending this long: in the backlog
    DASHBOARD_RECONCILIATION_CRITICAL_SECONDS: int = 24 * 3600
    DASHBOARD_PAYOUT_WINDOW_DAYS: int = 7
    DASHBOARD_PAYOUT_FAILURE_MIN: int = 3
    DASHBOARD_PAYOUT_FAILURE_WARN_BP: int = 1000  # 10% of the transfers that ended failed
    DASHBOARD_PAYOUT_FAILURE_CRITICAL_BP: int = 5000
    DASHBOARD_FRAUD_WINDOW_DAYS: int = 7
    DASHBOARD_FRAUD_BASELINE_DAYS: int = 28
    DASHBOARD_FRAUD_MIN_FLAGGED: int = 5
    DASHBOARD_FRAUD_RATE_FACTOR_PCT: int = 200  # flagged share at least twice the baseline's
    # Each counter cell is spread over this many slot rows (one chosen at random per event and
    # added up on read), so payments of the same month do not queue on one row's lock.
    DISCLOSURE_COUNTER_SLOTS: int = 16
    # Argon2id cost for staff passwords (app/auth/services.py): passes, memory in KiB, lanes.
    # The defaults are argon2-cffi's (RFC 9106 low-memory profile); only the testing profile
    # lowers them, because hashing at this cost takes ~0.1 s of CPU and tests hash thousands.
    PASSWORD_HASH_TIME_COST: int = 3
    PASSWORD_HASH_MEMORY_KIB: int = 64 * 1024
    PASSWORD_HASH_PARALLELISM: int = 4
    # Claims (app/claims): a claim whose payable is at most this many fen is approved without a
    # reviewer (0 = every payable claim goes to a person); documents per claim; and the
    # frequency flag: more than CLAIMS_FREQUENCY_LIMIT claims within the window -> review.
    CLAIMS_AUTO_APPROVE_MAX_FEN: int = 0
    CLAIM_DOCUMENTS_MAX: int = 30
    CLAIMS_FREQUENCY_WINDOW_DAYS: int = 30
    CLAIMS_FREQUENCY_LIMIT: int = 4
    # 复核 (app/claims/recheck.py): a reviewer's rejection may be taken once to a second
    # reviewer within this many days of the decision (the period the member is told).
    CLAIM_RECHECK_DAYS: int = 30
    # Special drugs (app/special_drugs): how many days an approval (事前审核) is valid from the
    # day it is given (never past the end of the policy's cover).
    SPECIAL_DRUG_APPROVAL_DAYS: int = 90
    # 一站式 direct settlement (app/direct_settlement): a signed request is accepted only within
    # this many seconds of its timestamp (either way); its nonce is kept at least as long.
    DIRECT_TIMESTAMP_WINDOW_SECONDS: int = 300
    # Days an unconfirmed trial (预结算) is kept, past reconciliation's disputes (docs/privacy.md).
    DIRECT_TRIAL_RETENTION_DAYS: int = 180
    # Member notifications (app/outbox): event kind -> WeChat subscription template and its keys
    # (JSON, app/integrations/notifier/templates.py); the sandbox records a kind without one.
    NOTIFY_TEMPLATES: dict[str, Any] = field(default_factory=dict)
    # Prefix of every Redis key the rate limiter and the bureau throttle write, so that two
    # deployments (or two test runs) can share one Redis without counting each other's calls.
    RATELIMIT_KEY_PREFIX: str = "huimin"
    # Staff console pages (app/web): a signed-in page session ends after this many seconds
    # without a request (idle timeout) and at most this long after sign-in; its cookie is sent
    # over HTTPS only unless WEB_COOKIE_SECURE is off (the development and testing profiles,
    # which serve plain http://127.0.0.1).
    WEB_SESSION_IDLE_SECONDS: int = 30 * 60
    WEB_SESSION_MAX_SECONDS: int = 12 * 3600
    WEB_COOKIE_SECURE: bool = True
    # Tests only: re-raise an unexpected exception instead of answering 500 (see app/api.py).
    RAISE_UNEXPECTED: bool = False

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
        for name in (
            "WECHAT_ADAPTER",
            "BUREAU_ADAPTER",
            "WECHATPAY_ADAPTER",
            "NOTIFIER_BACKEND",
            "PAYOUT_BACKEND",
        ):
            if getattr(self, name) not in ("sandbox", "real"):
                raise ConfigurationError(f"{name} must be 'sandbox' or 'real'")
        if self.NOTIFIER_MINIPROGRAM_STATE not in ("developer", "trial", "formal"):
            raise ConfigurationError(
                "NOTIFIER_MINIPROGRAM_STATE must be developer, trial or formal"
            )
        if len(self.DOCUMENT_ENCRYPTION_KEY) != 32:
            raise ConfigurationError("DOCUMENT_ENCRYPTION_KEY must be base64 of exactly 32 bytes")
        if self.STORAGE_BACKEND not in ("local", "s3"):
            raise ConfigurationError("STORAGE_BACKEND must be 'local' or 's3'")
        if self.STORAGE_BACKEND == "s3":
            if not (
                self.STORAGE_S3_BUCKET
                and self.STORAGE_S3_ACCESS_KEY_ID
                and self.STORAGE_S3_SECRET_ACCESS_KEY
            ):
                raise ConfigurationError(
                    "STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET, "
                    "STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY"
                )
            if self.STORAGE_S3_ADDRESSING_STYLE not in ("auto", "path", "virtual"):
                raise ConfigurationError(
                    "STORAGE_S3_ADDRESSING_STYLE must be auto, path or virtual"
                )
        if not (
            0 < self.STORAGE_S3_TIMEOUT_SECONDS <= 120 and 1 <= self.STORAGE_S3_MAX_ATTEMPTS <= 10
        ):
            raise ConfigurationError(
                "STORAGE_S3_TIMEOUT_SECONDS 0..120, STORAGE_S3_MAX_ATTEMPTS 1..10"
            )
        if not (0 <= self.PROXY_HOPS <= 5 and valid_allow_list(self.FORWARDED_ALLOW_IPS)):
            raise ConfigurationError("PROXY_HOPS 0..5, FORWARDED_ALLOW_IPS addresses/networks or *")
        if not (
            self.DOCUMENT_WORK_SLOTS >= 1
            and self.DOCUMENT_WORK_PER_MEMBER >= 1
            and self.DOCUMENT_WORK_WAIT_SECONDS >= 0
            and 0 < self.DOCUMENT_DECODE_MAX_PIXELS <= self.DOCUMENT_MAX_PIXELS
        ):
            raise ConfigurationError("DOCUMENT_WORK_* >= 1 (wait >= 0), decode max 1..MAX_PIXELS")
        if self.LOG_FORMAT not in ("text", "json"):
            raise ConfigurationError("LOG_FORMAT must be 'text' or 'json'")
        if self.LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if not 0 < self.READINESS_TIMEOUT_SECONDS <= 30:
            raise ConfigurationError("READINESS_TIMEOUT_SECONDS must be between 0 and 30")
        if not (
            1 <= self.JOB_BATCH_SIZE <= 5000
            and self.JOB_STALE_SECONDS >= 10
            and self.BUREAU_CALLS_PER_SECOND >= 0
        ):
            raise ConfigurationError(
                "JOB_BATCH_SIZE 1..5000, JOB_STALE_SECONDS >= 10, BUREAU_CALLS_PER_SECOND >= 0"
            )
        if self.DISCLOSURE_MIN_CELL < 1 or not 0 <= self.DISCLOSURE_CACHE_SECONDS <= 86400:
            raise ConfigurationError("DISCLOSURE_MIN_CELL >= 1, DISCLOSURE_CACHE_SECONDS 0..86400")
        if not 0 <= self.ACCOUNT_BALANCE_CACHE_SECONDS <= 3600:
            raise ConfigurationError("ACCOUNT_BALANCE_CACHE_SECONDS must be between 0 and 3600")
        at_least = lambda n: 1 if n.endswith(("_DAYS", "_MIN", "_FLAGGED")) else 0  # noqa: E731
        if self.DASHBOARD_REFRESH_SECONDS < 5 or any(
            getattr(self, n) < at_least(n) for n in DASHBOARD_NUMBERS
        ):
            raise ConfigurationError("DASHBOARD_REFRESH_SECONDS >= 5, DASHBOARD_* >= 0 (days 1)")
        if not 60 <= self.WEB_SESSION_IDLE_SECONDS <= self.WEB_SESSION_MAX_SECONDS <= 7 * 86400:
            raise ConfigurationError(
                "60 <= WEB_SESSION_IDLE_SECONDS <= WEB_SESSION_MAX_SECONDS <= 7 days"
            )
        if not 1 <= self.DISCLOSURE_COUNTER_SLOTS <= 256 or self.DIRECT_TRIAL_RETENTION_DAYS < 1:
            raise ConfigurationError(
                "DISCLOSURE_COUNTER_SLOTS 1..256, DIRECT_TRIAL_RETENTION_DAYS >= 1"
            )
        validate_consent_versions(self)


DASHBOARD_NUMBERS = tuple(n for n in Config.__dataclass_fields__ if n.startswith("DASHBOARD_"))


def _common_from_env(cfg: Config) -> Config:
    cfg.DATABASE_URL = _env("DATABASE_URL", cfg.DATABASE_URL) or ""
    cfg.REDIS_URL = _env("REDIS_URL", cfg.REDIS_URL)
    cfg.FORWARDED_ALLOW_IPS = _env("FORWARDED_ALLOW_IPS", cfg.FORWARDED_ALLOW_IPS) or ""
    if jwt_keys := _env("JWT_KEYS"):
        cfg.JWT_KEYS = _parse_jwt_keys(jwt_keys)
    if templates := _env("NOTIFY_TEMPLATES"):
        cfg.NOTIFY_TEMPLATES = _json_env("NOTIFY_TEMPLATES", templates)
    for name in ("FIELD_ENCRYPTION_KEY", "BLIND_INDEX_KEY", "DOCUMENT_ENCRYPTION_KEY"):
        if key := _env(name):
            setattr(cfg, name, _decode_key(key, name))
    if key := _env("DUPLICATE_CHECK_KEY"):
        cfg.DUPLICATE_CHECK_KEY = _decode_key(key, "DUPLICATE_CHECK_KEY")
    cfg.CERTIFICATE_SIGNING_KEY = _env("CERTIFICATE_SIGNING_KEY", cfg.CERTIFICATE_SIGNING_KEY) or ""
    for name in (
        "STORAGE_BACKEND",
        "STORAGE_LOCAL_DIR",
        "STORAGE_S3_ENDPOINT_URL",
        "STORAGE_S3_BUCKET",
        "STORAGE_S3_REGION",
        "STORAGE_S3_ACCESS_KEY_ID",
        "STORAGE_S3_SECRET_ACCESS_KEY",
        "STORAGE_S3_ADDRESSING_STYLE",
    ):
        setattr(cfg, name, _env(name, getattr(cfg, name)) or "")
    storage_numbers: tuple[tuple[str, type[int] | type[float]], ...] = (
        ("DOCUMENT_MAX_BYTES", int),
        ("DOCUMENT_DECODE_MAX_PIXELS", int),
        ("DOCUMENT_WORK_SLOTS", int),
        ("DOCUMENT_WORK_WAIT_SECONDS", float),
        ("DOCUMENT_WORK_PER_MEMBER", int),
        ("STORAGE_S3_TIMEOUT_SECONDS", float),
        ("STORAGE_S3_MAX_ATTEMPTS", int),
    )
    for name, kind in storage_numbers:
        if value := _env(name):
            try:
                setattr(cfg, name, kind(value))
            except ValueError:
                raise ConfigurationError(f"{name} must be a {kind.__name__}") from None
    cfg.CAMPAIGN_SIGNING_KEY = _env("CAMPAIGN_SIGNING_KEY", cfg.CAMPAIGN_SIGNING_KEY) or ""
    min_cell = _env("SPONSOR_REPORT_MIN_CELL")
    if min_cell is not None:
        if not min_cell.isdigit() or int(min_cell) < 1:
            raise ConfigurationError("SPONSOR_REPORT_MIN_CELL must be a whole number >= 1")
        cfg.SPONSOR_REPORT_MIN_CELL = int(min_cell)
    for name in (
        "WECHAT_ADAPTER",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_API_BASE",
        "BUREAU_ADAPTER",
        "BUREAU_BASE_URL",
        "BUREAU_APP_ID",
        "BUREAU_SECRET",
        "BUREAU_REGION",
        "WECHATPAY_ADAPTER",
        "WECHATPAY_MCHID",
        "WECHATPAY_MERCHANT_KEY",
        "WECHATPAY_MERCHANT_SERIAL",
        "WECHATPAY_APIV3_KEY",
        "WECHATPAY_PUBLIC_KEY",
        "WECHATPAY_PUBLIC_KEY_ID",
        "WECHATPAY_NOTIFY_URL",
        "WECHATPAY_API_BASE",
        "PUBLIC_BASE_URL",
        "SPONSOR_RECEIPT_ISSUER",
        "NOTIFIER_BACKEND",
        "NOTIFIER_MINIPROGRAM_STATE",
        "PAYOUT_BACKEND",
        "PAYOUT_BASE_URL",
        "PAYOUT_MERCHANT_ID",
        "PAYOUT_SECRET",
        *CONSENT_TEXT_SETTINGS.values(),
    ):
        setattr(cfg, name, _env(name, getattr(cfg, name)))
    cfg.CELERY_BROKER_URL = _env("CELERY_BROKER_URL", cfg.CELERY_BROKER_URL)
    job_settings: tuple[tuple[str, type[str] | type[int] | type[float]], ...] = (
        ("CELERY_QUEUE", str),
        ("PROXY_HOPS", int),
        ("JOB_BATCH_SIZE", int),
        ("JOB_STALE_SECONDS", int),
        ("BUREAU_CALLS_PER_SECOND", float),
    )
    for name, setting_kind in job_settings:
        if value := _env(name):
            try:
                setattr(cfg, name, setting_kind(value))
            except ValueError:
                raise ConfigurationError(f"{name} must be a {setting_kind.__name__}") from None
    cfg.LOG_FORMAT = (_env("LOG_FORMAT", cfg.LOG_FORMAT) or "").lower()
    cfg.LOG_LEVEL = (_env("LOG_LEVEL", cfg.LOG_LEVEL) or "").upper()
    cfg.METRICS_TOKEN = _env("METRICS_TOKEN", cfg.METRICS_TOKEN) or ""
    if readiness := _env("READINESS_TIMEOUT_SECONDS"):
        try:
            cfg.READINESS_TIMEOUT_SECONDS = float(readiness)
        except ValueError:
            raise ConfigurationError("READINESS_TIMEOUT_SECONDS must be a number") from None
    if lease := _env("IDEMPOTENCY_LEASE_SECONDS", _env("GUNICORN_TIMEOUT")):
        if not lease.isdigit() or int(lease) < 1:
            raise ConfigurationError("IDEMPOTENCY_LEASE_SECONDS must be a whole number >= 1")
        cfg.IDEMPOTENCY_LEASE_SECONDS = int(lease)
    for name in (
        "DISCLOSURE_MIN_CELL",
        "DISCLOSURE_CACHE_SECONDS",
        "DISCLOSURE_COUNTER_SLOTS",
        "DIRECT_TRIAL_RETENTION_DAYS",
        "ACCOUNT_BALANCE_CACHE_SECONDS",
        "WEB_SESSION_IDLE_SECONDS",
        "WEB_SESSION_MAX_SECONDS",
        *DASHBOARD_NUMBERS,
    ):
        raw = _env(name)
        if raw is not None:
            if not raw.isdigit():
                raise ConfigurationError(f"{name} must be a whole number")
            setattr(cfg, name, int(raw))
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
        CAMPAIGN_SIGNING_KEY=_DEV_CAMPAIGN_KEY,
        LOAD_DEMO_DATA=True,
        DOCUMENT_ENCRYPTION_KEY=_DEV_DOCUMENT_KEY,
        DUPLICATE_CHECK_KEY=_DEV_DUPLICATE_KEY,
        STORAGE_LOCAL_DIR=str(instance / "documents"),
        BUREAU_CALLS_PER_SECOND=0,  # the embedded sandbox bureau has no rate to keep
        WEB_COOKIE_SECURE=False,  # `flask run` serves plain http://127.0.0.1
    )
    return _common_from_env(cfg)


def testing_config() -> Config:
    cfg = Config(
        PROFILE="testing",
        TESTING=True,
        DATABASE_URL="sqlite://",
        JWT_KEYS={"test-1": _TEST_JWT_KEY},
        FIELD_ENCRYPTION_KEY=_TEST_FIELD_KEY,
        BLIND_INDEX_KEY=_TEST_INDEX_KEY,
        CERTIFICATE_SIGNING_KEY=_TEST_CERT_KEY,
        CAMPAIGN_SIGNING_KEY=_TEST_CAMPAIGN_KEY,
        REDIS_URL=None,
        DOCUMENT_ENCRYPTION_KEY=_TEST_DOCUMENT_KEY,
        DUPLICATE_CHECK_KEY=_TEST_DUPLICATE_KEY,
        BUREAU_CALLS_PER_SECOND=0,
        # Cheap Argon2 (same code path): tests check who may log in, not the hash's strength;
        # tests/security/test_password_cost.py checks the production profile keeps the defaults.
        PASSWORD_HASH_TIME_COST=1,
        PASSWORD_HASH_MEMORY_KIB=8,
        PASSWORD_HASH_PARALLELISM=1,
        WEB_COOKIE_SECURE=False,
    )
    cfg.DATABASE_URL = _env("TEST_DATABASE_URL", cfg.DATABASE_URL) or "sqlite://"
    return cfg


def production_config() -> Config:
    # No sandbox default for the mini-program, merchant or notify URL: each must be given.
    cfg = _common_from_env(
        Config(
            PROFILE="production",
            SERVE_SWAGGER_UI=False,
            LOG_FORMAT="json",
            WECHAT_APPID="",
            WECHATPAY_MCHID="",
            WECHATPAY_NOTIFY_URL="",
        )
    )
    # Jobs never run inside a request in production: Celery on the Redis it already has.
    cfg.CELERY_BROKER_URL = cfg.CELERY_BROKER_URL or cfg.REDIS_URL
    return cfg


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
