"""WeChat Pay v3 payment notifications: verify, decrypt, parse (and, for the sandbox and tests,
build them byte-for-byte the way WeChat does).

What WeChat POSTs to notify_url:

    Wechatpay-Serial: PUB_KEY_ID_...          (the platform public key that signed it)
    Wechatpay-Signature: base64(SHA256withRSA("{timestamp}\\n{nonce}\\n{raw body}\\n"))
    Wechatpay-Timestamp: 1700000000
    Wechatpay-Nonce: ...
    Wechatpay-Signature-Type: WECHATPAY2-SHA256-RSA2048

    {"id": "...", "create_time": "...+08:00", "resource_type": "encrypt-resource",
     "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
     "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                  "ciphertext": "...", "associated_data": "transaction", "nonce": "..."}}

The signature is checked over the raw body bytes (never re-serialised JSON). WeChat sends probe
notifications with deliberately wrong signatures; those, forgeries, replays outside the timestamp
window and anything malformed all end in `NotificationRejected(reason)`.

Reasons (stable strings, safe to log and to count):
    missing_headers, unknown_serial, stale, bad_signature, malformed, decrypt_failed,
    unsupported_event, merchant_mismatch
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from app.common.clock import SHANGHAI
from app.integrations.wechatpay.port import NotificationRejected, PaidNotification
from app.integrations.wechatpay.signing import (
    AEAD_ALGORITHM,
    SIGNATURE_TYPE,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    apiv3_key_bytes,
    load_public_key,
    message_for,
    random_nonce,
    rsa_sign,
    rsa_verify,
)

MISSING_HEADERS = "missing_headers"
UNKNOWN_SERIAL = "unknown_serial"
STALE = "stale"
BAD_SIGNATURE = "bad_signature"
MALFORMED = "malformed"
DECRYPT_FAILED = "decrypt_failed"
UNSUPPORTED_EVENT = "unsupported_event"
MERCHANT_MISMATCH = "merchant_mismatch"

H_SERIAL = "Wechatpay-Serial"
H_SIGNATURE = "Wechatpay-Signature"
H_TIMESTAMP = "Wechatpay-Timestamp"
H_NONCE = "Wechatpay-Nonce"
H_SIGNATURE_TYPE = "Wechatpay-Signature-Type"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# Headers are ASCII; a nonce or serial outside this shape cannot be WeChat's.
_TOKEN = re.compile(r"[\x21-\x7e]{1,128}")


def _lower_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    """Case-insensitive view of a dict, werkzeug `Headers` or `EnvironHeaders`."""
    return {str(k).lower(): v for k, v in headers.items()}


def _now_seconds(clock: Callable[[], Any] | None) -> float:
    if clock is None:
        return time.time()
    now = clock()
    return now.timestamp() if isinstance(now, datetime) else float(now)


class NotificationVerifier:
    """Verifies and decrypts TRANSACTION.* notifications for one merchant (appid + mchid) and one
    platform public key. Stateless and thread-safe; build it once."""

    def __init__(
        self,
        platform_public_key_pem: bytes | str,
        public_key_id: str,
        apiv3_key: bytes | str,
        appid: str,
        mchid: str,
        max_skew_seconds: int = 300,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        if not public_key_id or not appid or not mchid:
            raise ValueError("NotificationVerifier needs public_key_id, appid and mchid")
        if max_skew_seconds <= 0:
            raise ValueError("max_skew_seconds must be positive")
        self._public_key: rsa.RSAPublicKey = load_public_key(platform_public_key_pem)
        self._public_key_id = public_key_id
        self._apiv3_key = apiv3_key_bytes(apiv3_key)
        self._appid = appid
        self._mchid = mchid
        self._max_skew = max_skew_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"NotificationVerifier(public_key_id={self._public_key_id!r}, "
            f"appid={self._appid!r}, mchid={self._mchid!r})"
        )

    def parse(self, headers: Mapping[str, str] | Any, body: bytes) -> PaidNotification:
        if isinstance(body, str):  # be forgiving about the type, never about the content
            body = body.encode("utf-8")
        self._check_signed(_lower_headers(headers), body)

        # From here on the body is WeChat's own words; failures are malformed or misrouted.
        envelope = _json_object(body)
        event_type, notification_id, resource = _envelope(envelope)
        ciphertext, gcm_nonce, associated_data = _encrypted_resource(resource)

        try:
            plaintext = aes_gcm_decrypt(self._apiv3_key, gcm_nonce, associated_data, ciphertext)
        except ValueError:
            raise NotificationRejected(DECRYPT_FAILED) from None

        # Refund notifications (REFUND.*) carry a different resource; this port only takes
        # transactions. The caller may acknowledge these to stop WeChat's retries.
        if not event_type.startswith("TRANSACTION."):
            raise NotificationRejected(UNSUPPORTED_EVENT)
        if resource.get("original_type", "transaction") != "transaction":
            raise NotificationRejected(UNSUPPORTED_EVENT)

        txn = _json_object(plaintext)
        parsed = _transaction(txn, notification_id, event_type)
        if parsed.appid != self._appid or parsed.mchid != self._mchid:
            raise NotificationRejected(MERCHANT_MISMATCH)
        return parsed

    def _check_signed(self, h: dict[str, str], body: bytes) -> None:
        """The Wechatpay-* headers: present, our platform key, fresh, and a valid signature."""
        serial = h.get(H_SERIAL.lower(), "")
        signature = h.get(H_SIGNATURE.lower(), "")
        timestamp = h.get(H_TIMESTAMP.lower(), "")
        nonce = h.get(H_NONCE.lower(), "")
        if not (serial and signature and timestamp and nonce):
            raise NotificationRejected(MISSING_HEADERS)

        if serial != self._public_key_id:
            raise NotificationRejected(UNKNOWN_SERIAL)

        if not _TIMESTAMP.fullmatch(timestamp):
            raise NotificationRejected(STALE)
        if abs(_now_seconds(self._clock) - int(timestamp)) > self._max_skew:
            raise NotificationRejected(STALE)

        signature_type = h.get(H_SIGNATURE_TYPE.lower())
        if signature_type is not None and signature_type != SIGNATURE_TYPE:
            raise NotificationRejected(BAD_SIGNATURE)
        if not _TOKEN.fullmatch(nonce):
            raise NotificationRejected(BAD_SIGNATURE)
        if not rsa_verify(self._public_key, message_for(timestamp, nonce, body), signature):
            raise NotificationRejected(BAD_SIGNATURE)


def _envelope(envelope: dict) -> tuple[str, str, dict]:
    """``(event_type, id, resource)`` of a verified notification body."""
    event_type = envelope.get("event_type")
    notification_id = envelope.get("id")
    resource = envelope.get("resource")
    if not (
        isinstance(event_type, str)
        and isinstance(notification_id, str)
        and isinstance(resource, dict)
    ):
        raise NotificationRejected(MALFORMED)
    if envelope.get("resource_type", "encrypt-resource") != "encrypt-resource":
        raise NotificationRejected(MALFORMED)
    return event_type, notification_id, resource


def _encrypted_resource(resource: dict) -> tuple[str, str, str]:
    """``(ciphertext, nonce, associated_data)`` of an AEAD_AES_256_GCM resource."""
    if resource.get("algorithm") != AEAD_ALGORITHM:
        raise NotificationRejected(MALFORMED)
    ciphertext = resource.get("ciphertext")
    gcm_nonce = resource.get("nonce")
    associated_data = resource.get("associated_data") or ""
    if not (
        isinstance(ciphertext, str)
        and isinstance(gcm_nonce, str)
        and isinstance(associated_data, str)
        and ciphertext
        and gcm_nonce
    ):
        raise NotificationRejected(MALFORMED)
    return ciphertext, gcm_nonce, associated_data


def _json_object(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NotificationRejected(MALFORMED) from None
    if not isinstance(value, dict):
        raise NotificationRejected(MALFORMED)
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _transaction(txn: dict, notification_id: str, event_type: str) -> PaidNotification:
    amount = txn.get("amount")
    payer = txn.get("payer")
    if not isinstance(amount, dict) or (payer is not None and not isinstance(payer, dict)):
        raise NotificationRejected(MALFORMED)
    appid = _str(txn.get("appid"))
    mchid = _str(txn.get("mchid"))
    out_trade_no = _str(txn.get("out_trade_no"))
    transaction_id = _str(txn.get("transaction_id"))
    trade_state = _str(txn.get("trade_state"))
    total = _int(amount.get("total"))
    if (
        appid is None
        or mchid is None
        or out_trade_no is None
        or transaction_id is None
        or trade_state is None
        or total is None
        or total < 0
    ):
        raise NotificationRejected(MALFORMED)
    payer_total = amount.get("payer_total")
    if payer_total is not None and _int(payer_total) is None:
        raise NotificationRejected(MALFORMED)
    return PaidNotification(
        notification_id=notification_id,
        event_type=event_type,
        appid=appid,
        mchid=mchid,
        out_trade_no=out_trade_no,
        transaction_id=transaction_id,
        trade_state=trade_state,
        amount_total_fen=total,
        payer_total_fen=payer_total,
        currency=_str(amount.get("currency")) or "CNY",
        payer_openid=_str((payer or {}).get("openid")),
        success_time=_str(txn.get("success_time")),
    )


# --- building notifications (sandbox, tests) --------------------------------------------------

_SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
}


def build_notification(
    private_key: rsa.RSAPrivateKey,
    public_key_id: str,
    apiv3_key: bytes | str,
    transaction: dict,
    event_type: str = "TRANSACTION.SUCCESS",
    timestamp: int | str | None = None,
    nonce: str | None = None,
    *,
    notification_id: str | None = None,
    create_time: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of a notification exactly as WeChat would POST it: the transaction
    encrypted with the APIv3 key (associated_data "transaction", a 12-character nonce), the body
    signed with the platform private key. `notification_id` and `create_time` are extras so a
    duplicate delivery can carry the same id, the way WeChat's retries do."""
    key = apiv3_key_bytes(apiv3_key)
    gcm_nonce = random_nonce(12)
    associated_data = "transaction"
    plaintext = json.dumps(transaction, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    envelope = {
        "id": notification_id or str(uuid.uuid4()),
        "create_time": create_time
        or transaction.get("success_time")
        or datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": _SUMMARIES.get(event_type, event_type),
        "resource": {
            "original_type": "transaction",
            "algorithm": AEAD_ALGORITHM,
            "ciphertext": aes_gcm_encrypt(key, gcm_nonce, associated_data, plaintext),
            "associated_data": associated_data,
            "nonce": gcm_nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ts = str(int(timestamp)) if timestamp is not None else str(int(time.time()))
    header_nonce = nonce or random_nonce(32)
    headers = {
        "Content-Type": "application/json",
        H_SERIAL: public_key_id,
        H_SIGNATURE: rsa_sign(private_key, message_for(ts, header_nonce, body)),
        H_TIMESTAMP: ts,
        H_NONCE: header_nonce,
        H_SIGNATURE_TYPE: SIGNATURE_TYPE,
    }
    return headers, body
