"""NotificationVerifier: WeChat Pay v3 payment notifications, verified over the raw body and
decrypted with the APIv3 key; every forged, stale, misrouted or malformed one is rejected with a
stable reason. Keys are real RSA-2048 pairs generated for the test module."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.datastructures import Headers

from app.integrations.wechatpay.notifications import NotificationVerifier, build_notification
from app.integrations.wechatpay.port import NotificationRejected, PaidNotification
from app.integrations.wechatpay.signing import (
    aes_gcm_encrypt,
    message_for,
    private_key_pkcs8_pem,
    public_key_pem,
    rsa_sign,
)

APPID = "wxd678efh567hg6787"
MCHID = "1230000109"
PUB_KEY_ID = "PUB_KEY_ID_0112345678202401010000000000000000"
APIV3_KEY = b"a12d3924fd499edac8a5efc0123456ab"
NOW = 1_767_225_600  # 2026-01-01T08:00:00+08:00


def _transaction(**overrides) -> dict:
    txn = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": "HM20260101000001",
        "transaction_id": "4200001234202601010123456789",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-01-01T07:59:30+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 9900, "payer_total": 9900, "currency": "CNY", "payer_currency": "CNY"},
    }
    txn.update(overrides)
    return txn


@pytest.fixture(scope="module")
def platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def verifier(platform_key) -> NotificationVerifier:
    return NotificationVerifier(
        public_key_pem(platform_key.public_key()).encode(),
        PUB_KEY_ID,
        APIV3_KEY,
        APPID,
        MCHID,
        max_skew_seconds=300,
        clock=lambda: NOW,
    )


def _notify(platform_key, transaction=None, **kwargs) -> tuple[dict, bytes]:
    kwargs.setdefault("timestamp", NOW)
    return build_notification(
        platform_key,
        PUB_KEY_ID,
        APIV3_KEY,
        transaction if transaction is not None else _transaction(),
        **kwargs,
    )


def _resign(key, headers: dict, body: bytes) -> tuple[dict, bytes]:
    """Sign `body` properly (with `key`), so only what the case changed inside it is wrong."""
    headers = dict(headers)
    headers["Wechatpay-Signature"] = rsa_sign(
        key, message_for(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], body)
    )
    return headers, body


# --- the valid case ----------------------------------------------------------------------------


def test_valid_notification_is_verified_decrypted_and_parsed(platform_key, verifier):
    headers, body = _notify(platform_key, notification_id="EV-2026010100001")

    parsed = verifier.parse(headers, body)

    assert parsed == PaidNotification(
        notification_id="EV-2026010100001",
        event_type="TRANSACTION.SUCCESS",
        appid=APPID,
        mchid=MCHID,
        out_trade_no="HM20260101000001",
        transaction_id="4200001234202601010123456789",
        trade_state="SUCCESS",
        amount_total_fen=9900,
        payer_total_fen=9900,
        currency="CNY",
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        success_time="2026-01-01T07:59:30+08:00",
    )


def test_built_notification_has_wechats_shape(platform_key):
    headers, body = _notify(platform_key)
    envelope = json.loads(body)

    assert set(headers) >= {
        "Wechatpay-Serial",
        "Wechatpay-Signature",
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature-Type",
    }
    assert headers["Wechatpay-Serial"] == PUB_KEY_ID
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert set(envelope) == {
        "id",
        "create_time",
        "resource_type",
        "event_type",
        "summary",
        "resource",
    }
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource"]["original_type"] == "transaction"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["resource"]["associated_data"] == "transaction"
    assert len(envelope["resource"]["nonce"]) == 12
    assert "9900" not in body.decode() and "HM20260101000001" not in body.decode()


def test_wechatpayv3_sdk_accepts_the_built_notification(platform_key, other_key):
    """Cross-check of the builder against an independent implementation of the wire format."""
    from wechatpayv3 import WeChatPay, WeChatPayType

    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.JSAPI,
        mchid=MCHID,
        private_key=private_key_pkcs8_pem(other_key),
        cert_serial_no="SERIAL",
        appid=APPID,
        apiv3_key=APIV3_KEY.decode(),
        public_key=public_key_pem(platform_key.public_key()),
        public_key_id=PUB_KEY_ID,
    )
    headers, body = _notify(platform_key)

    result = sdk.callback(headers, body)

    assert result["resource"]["out_trade_no"] == "HM20260101000001"
    assert result["resource"]["amount"]["total"] == 9900


def test_headers_are_matched_case_insensitively(platform_key, verifier):
    headers, body = _notify(platform_key)
    lowered = {k.lower(): v for k, v in headers.items()}

    assert verifier.parse(lowered, body).out_trade_no == "HM20260101000001"
    assert verifier.parse(Headers(headers), body).out_trade_no == "HM20260101000001"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_the_window_are_accepted(platform_key, verifier, offset):
    headers, body = _notify(platform_key, timestamp=NOW + offset)

    assert verifier.parse(headers, body).amount_total_fen == 9900


def test_a_clock_returning_datetimes_is_accepted(platform_key):
    from datetime import datetime

    v = NotificationVerifier(
        public_key_pem(platform_key.public_key()),
        PUB_KEY_ID,
        APIV3_KEY,
        APPID,
        MCHID,
        clock=lambda: datetime.fromtimestamp(NOW, UTC),
    )
    headers, body = _notify(platform_key)

    assert v.parse(headers, body).trade_state == "SUCCESS"


# --- the rejections: one table -----------------------------------------------------------------


def _tamper_body(ctx, headers, body):
    return headers, body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESs")


def _reserialised_body(ctx, headers, body):
    # Same JSON, different bytes: the signature is over the raw body, so this must fail.
    return headers, json.dumps(json.loads(body), indent=1).encode()


def _tamper_ciphertext(ctx, headers, body):
    envelope = json.loads(body)
    ct = envelope["resource"]["ciphertext"]
    envelope["resource"]["ciphertext"] = ("A" if ct[0] != "A" else "B") + ct[1:]
    return _resign(ctx["platform"], headers, json.dumps(envelope).encode())


def _wrong_apiv3_key(ctx, headers, body):
    envelope = json.loads(body)
    res = envelope["resource"]
    res["ciphertext"] = aes_gcm_encrypt(
        b"x" * 32, res["nonce"], res["associated_data"], json.dumps(_transaction()).encode()
    )
    return _resign(ctx["platform"], headers, json.dumps(envelope).encode())


def _wrong_associated_data(ctx, headers, body):
    envelope = json.loads(body)
    envelope["resource"]["associated_data"] = "refund"
    return _resign(ctx["platform"], headers, json.dumps(envelope).encode())


def _probe_signed_by_other_key(ctx, headers, body):
    return _resign(ctx["other"], headers, body)


def _signature_not_base64(ctx, headers, body):
    return {**headers, "Wechatpay-Signature": "not base64 at all!"}, body


def _signtest_probe(ctx, headers, body):
    # WeChat's deliberate probes carry signatures starting with this marker.
    signature = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    return {**headers, "Wechatpay-Signature": signature}, body


def _signature_type_other(ctx, headers, body):
    return {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body


def _timestamp(value):
    def change(ctx, headers, body):
        headers = {**headers, "Wechatpay-Timestamp": str(value)}
        return _resign(ctx["platform"], headers, body)

    return change


def _serial(value):
    return lambda ctx, headers, body: ({**headers, "Wechatpay-Serial": value}, body)


def _without(name):
    return lambda ctx, headers, body: ({k: v for k, v in headers.items() if k != name}, body)


def _empty(name):
    return lambda ctx, headers, body: ({**headers, name: ""}, body)


def _transaction_changed(**changes):
    def change(ctx, headers, body):
        return _notify(ctx["platform"], _transaction(**changes))

    return change


def _signed_body(raw: bytes):
    return lambda ctx, headers, body: _resign(ctx["platform"], headers, raw)


def _resource_changed(**changes):
    def change(ctx, headers, body):
        envelope = json.loads(body)
        envelope["resource"].update(changes)
        return _resign(ctx["platform"], headers, json.dumps(envelope).encode())

    return change


def _envelope_changed(**changes):
    def change(ctx, headers, body):
        envelope = json.loads(body)
        envelope.update(changes)
        return _resign(ctx["platform"], headers, json.dumps(envelope).encode())

    return change


def _refund_event(ctx, headers, body):
    return _notify(
        ctx["platform"], {"mchid": MCHID, "out_refund_no": "R1"}, event_type="REFUND.SUCCESS"
    )


def _encrypted_payload(payload: bytes):
    def change(ctx, headers, body):
        envelope = json.loads(body)
        res = envelope["resource"]
        res["ciphertext"] = aes_gcm_encrypt(
            APIV3_KEY, res["nonce"], res["associated_data"], payload
        )
        return _resign(ctx["platform"], headers, json.dumps(envelope).encode())

    return change


REJECTIONS = [
    ("tampered body", _tamper_body, "bad_signature"),
    ("re-serialised JSON body", _reserialised_body, "bad_signature"),
    ("probe signed with another key", _probe_signed_by_other_key, "bad_signature"),
    ("WECHATPAY/SIGNTEST/ probe", _signtest_probe, "bad_signature"),
    ("signature not base64", _signature_not_base64, "bad_signature"),
    ("other signature type", _signature_type_other, "bad_signature"),
    ("tampered ciphertext", _tamper_ciphertext, "decrypt_failed"),
    ("encrypted with another APIv3 key", _wrong_apiv3_key, "decrypt_failed"),
    ("associated_data changed", _wrong_associated_data, "decrypt_failed"),
    ("stale: 301 s old", _timestamp(NOW - 301), "stale"),
    ("stale: 301 s in the future", _timestamp(NOW + 301), "stale"),
    ("stale: a day old (replay)", _timestamp(NOW - 86400), "stale"),
    ("timestamp not a number", _timestamp("2026-01-01T08:00:00"), "stale"),
    ("unknown serial", _serial("PUB_KEY_ID_0199999999"), "unknown_serial"),
    (
        "platform certificate serial",
        _serial("5157F09EFDC096DE15EBE81A47057A7232F1B8E1"),
        "unknown_serial",
    ),
    ("missing Wechatpay-Serial", _without("Wechatpay-Serial"), "missing_headers"),
    ("missing Wechatpay-Signature", _without("Wechatpay-Signature"), "missing_headers"),
    ("missing Wechatpay-Timestamp", _without("Wechatpay-Timestamp"), "missing_headers"),
    ("missing Wechatpay-Nonce", _without("Wechatpay-Nonce"), "missing_headers"),
    ("empty Wechatpay-Signature", _empty("Wechatpay-Signature"), "missing_headers"),
    ("wrong appid", _transaction_changed(appid="wx0000000000000000"), "merchant_mismatch"),
    ("wrong mchid", _transaction_changed(mchid="1900000999"), "merchant_mismatch"),
    ("body not JSON", _signed_body(b"<xml><return_code>SUCCESS</return_code></xml>"), "malformed"),
    ("body a JSON array", _signed_body(b"[]"), "malformed"),
    ("body not UTF-8", _signed_body(b"\xff\xfe{}"), "malformed"),
    ("empty body", _signed_body(b""), "malformed"),
    ("no resource", _envelope_changed(resource=None), "malformed"),
    ("resource_type plain", _envelope_changed(resource_type="plain"), "malformed"),
    ("other algorithm", _resource_changed(algorithm="AEAD_SM4_GCM"), "malformed"),
    ("no ciphertext", _resource_changed(ciphertext=""), "malformed"),
    ("decrypted transaction not JSON", _encrypted_payload(b"not json"), "malformed"),
    (
        "decrypted transaction without amount",
        _encrypted_payload(
            json.dumps({k: v for k, v in _transaction().items() if k != "amount"}).encode()
        ),
        "malformed",
    ),
    ("amount.total a string", _transaction_changed(amount={"total": "9900"}), "malformed"),
    ("no out_trade_no", _transaction_changed(out_trade_no=""), "malformed"),
    ("refund notification", _refund_event, "unsupported_event"),
]


@pytest.mark.parametrize("change, reason", [pytest.param(c, r, id=i) for i, c, r in REJECTIONS])
def test_rejections(platform_key, other_key, verifier, change, reason):
    headers, body = _notify(platform_key)
    headers, body = change({"platform": platform_key, "other": other_key}, headers, body)

    with pytest.raises(NotificationRejected) as info:
        verifier.parse(headers, body)

    assert info.value.reason == reason


def test_constructor_rejects_bad_configuration(platform_key):
    pem = public_key_pem(platform_key.public_key())
    with pytest.raises(ValueError):
        NotificationVerifier(pem, PUB_KEY_ID, b"short", APPID, MCHID)
    with pytest.raises(ValueError):
        NotificationVerifier(
            b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----",
            PUB_KEY_ID,
            APIV3_KEY,
            APPID,
            MCHID,
        )
    with pytest.raises(ValueError):
        NotificationVerifier(pem, "", APIV3_KEY, APPID, MCHID)
