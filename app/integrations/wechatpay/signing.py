"""The cryptography WeChat Pay API v3 uses, in one place (no network, no Flask).

- SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), base64: request `Authorization`, response and
  notification `Wechatpay-Signature`, and the JSAPI `paySign`.
- AEAD_AES_256_GCM with the 32-byte APIv3 key: the notification `resource`. The nonce and
  associated_data travel as UTF-8 strings; the ciphertext is base64 of ciphertext || 16-byte tag.
"""

from __future__ import annotations

import base64
import secrets
import string
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AEAD_ALGORITHM = "AEAD_AES_256_GCM"
_ALNUM = string.ascii_letters + string.digits


def random_nonce(length: int = 32) -> str:
    """An alphanumeric nonce (WeChat's nonceStr is at most 32 characters; GCM nonces are 12)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode(
        "ascii"
    )


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def message_for(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The signed string of a response or notification: `timestamp\\nnonce\\nbody\\n`, over the
    raw body bytes exactly as they travelled."""
    return timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body + b"\n"


def aes_gcm_encrypt(apiv3_key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    return base64.b64encode(
        AESGCM(apiv3_key).encrypt(nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8"))
    ).decode("ascii")


def aes_gcm_decrypt(
    apiv3_key: bytes, nonce: str, associated_data: str, ciphertext_b64: str
) -> bytes:
    """Raises ValueError for anything that does not authenticate (bad base64, tag, key or nonce)."""
    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
        return AESGCM(apiv3_key).decrypt(
            nonce.encode("utf-8"), data, associated_data.encode("utf-8")
        )
    except (InvalidTag, ValueError, TypeError) as exc:
        raise ValueError("AEAD_AES_256_GCM decryption failed") from exc


def jsapi_sign_message(appid: str, timestamp: str, nonce: str, package: str) -> bytes:
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n".encode()


def build_js_params(
    private_key: rsa.RSAPrivateKey,
    appid: str,
    prepay_id: str,
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """What `wx.requestPayment()` needs, paySign = SHA256withRSA with the merchant key over
    `appId\\ntimeStamp\\nnonceStr\\npackage\\n`."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or random_nonce(32)
    package = f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": rsa_sign(private_key, jsapi_sign_message(appid, timestamp, nonce, package)),
    }


def verify_js_params(public_key: rsa.RSAPublicKey, params: dict[str, str]) -> bool:
    """Check a paySign with the merchant public key (what WeChat does when the client pays)."""
    return rsa_verify(
        public_key,
        jsapi_sign_message(
            params["appId"], params["timeStamp"], params["nonceStr"], params["package"]
        ),
        params["paySign"],
    )


# --- key material ------------------------------------------------------------------------------


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def read_pem(value: str | bytes) -> bytes:
    """PEM text, or a path to a PEM file. Environment variables often carry PEM with literal
    `\\n` for line breaks; those are turned back into newlines."""
    raw = _as_bytes(value).strip()
    if not raw:
        raise ValueError("empty key material")
    if not raw.startswith(b"-----BEGIN"):
        path = Path(raw.decode("utf-8"))
        if not path.is_file():
            # The value may be a mangled PEM: never echo it into the message.
            raise ValueError("key material is neither PEM text nor a readable file path")
        raw = path.read_bytes().strip()
    if b"\n" not in raw and b"\\n" in raw:
        raw = raw.replace(b"\\n", b"\n")
    return raw + b"\n"


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(read_pem(pem), password=None)
    except (ValueError, TypeError):
        raise ValueError("cannot load the RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the private key is not an RSA key")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    data = read_pem(pem)
    key: PublicKeyTypes
    try:
        if b"CERTIFICATE" in data.split(b"\n", 1)[0]:
            from cryptography import x509

            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ValueError("cannot load the RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the public key is not an RSA key")
    return key


def private_key_pkcs8_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM with LF line ends: the one form wechatpayv3's key loader accepts as given
    (it re-wraps anything not starting with `-----BEGIN PRIVATE KEY-----\\n`)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def apiv3_key_bytes(value: str | bytes) -> bytes:
    key = _as_bytes(value)
    if len(key) != 32:
        raise ValueError("the APIv3 key must be exactly 32 bytes")
    return key
