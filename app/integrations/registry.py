"""Builds the configured adapter for each port once per app; tests may replace them in
`app.extensions` (e.g. a real adapter pointed at a local fake server)."""

from __future__ import annotations

from flask import current_app

from app.integrations.bureau.port import BureauPort
from app.integrations.notifier.port import Notifier
from app.integrations.payout.port import PayoutPort
from app.integrations.signer.port import Signer
from app.integrations.storage.port import StoragePort
from app.integrations.wechat.port import WeChatLogin
from app.integrations.wechatpay.port import WeChatPayPort


def wechat_login() -> WeChatLogin:
    ext = current_app.extensions
    if "wechat_login" not in ext:
        cfg = current_app.config
        if cfg["WECHAT_ADAPTER"] == "real":
            from app.integrations.wechat.http_login import HttpWeChatLogin

            ext["wechat_login"] = HttpWeChatLogin(
                appid=cfg["WECHAT_APPID"],
                secret=cfg["WECHAT_SECRET"],
                base_url=cfg["WECHAT_API_BASE"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
            )
        else:
            from app.integrations.wechat.sandbox import SandboxWeChatLogin

            ext["wechat_login"] = SandboxWeChatLogin(appid=cfg["WECHAT_APPID"])
    return ext["wechat_login"]


def bureau() -> BureauPort:
    ext = current_app.extensions
    if "bureau" not in ext:
        cfg = current_app.config
        if cfg["BUREAU_ADAPTER"] == "real":
            from app.integrations.bureau.http_adapter import HttpBureau

            ext["bureau"] = HttpBureau(
                base_url=cfg["BUREAU_BASE_URL"],
                app_id=cfg["BUREAU_APP_ID"],
                secret=cfg["BUREAU_SECRET"],
                region=cfg["BUREAU_REGION"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
            )
        else:
            from app.integrations.bureau.sandbox import SandboxBureau

            ext["bureau"] = SandboxBureau()
    return ext["bureau"]


def wechat_pay() -> WeChatPayPort:
    """WeChat Pay v3. Real: keys from config (PEM text or a path to a PEM file). Sandbox: the
    per-process sandbox key pair and the configured APIv3 key, or a fixed sandbox one."""
    ext = current_app.extensions
    if "wechat_pay" not in ext:
        cfg = current_app.config
        if cfg["WECHATPAY_ADAPTER"] == "real":
            from app.integrations.wechatpay.real import RealWeChatPay
            from app.integrations.wechatpay.signing import read_pem

            ext["wechat_pay"] = RealWeChatPay(
                appid=cfg["WECHAT_APPID"],
                mchid=cfg["WECHATPAY_MCHID"],
                merchant_private_key_pem=read_pem(cfg["WECHATPAY_MERCHANT_KEY"]).decode("ascii"),
                merchant_serial=cfg["WECHATPAY_MERCHANT_SERIAL"],
                apiv3_key=cfg["WECHATPAY_APIV3_KEY"],
                platform_public_key_pem=read_pem(cfg["WECHATPAY_PUBLIC_KEY"]).decode("ascii"),
                platform_public_key_id=cfg["WECHATPAY_PUBLIC_KEY_ID"],
                notify_url=cfg["WECHATPAY_NOTIFY_URL"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
                notify_max_skew_seconds=cfg["WECHATPAY_NOTIFY_MAX_SKEW_SECONDS"],
                gateway=cfg["WECHATPAY_API_BASE"],
            )
        else:
            from app.integrations.wechatpay.sandbox import SandboxWeChatPay

            ext["wechat_pay"] = SandboxWeChatPay(
                appid=cfg["WECHAT_APPID"],
                mchid=cfg["WECHATPAY_MCHID"],
                apiv3_key=cfg["WECHATPAY_APIV3_KEY"] or None,
                max_skew_seconds=cfg["WECHATPAY_NOTIFY_MAX_SKEW_SECONDS"],
            )
    return ext["wechat_pay"]


def notifier() -> Notifier:
    """Member notifications: WeChat subscription messages (real) or the recording sandbox."""
    ext = current_app.extensions
    if "notifier" not in ext:
        cfg = current_app.config
        if cfg["NOTIFIER_BACKEND"] == "real":
            from app.integrations.notifier.wechat import WeChatSubscribeNotifier

            ext["notifier"] = WeChatSubscribeNotifier(
                appid=cfg["WECHAT_APPID"],
                secret=cfg["WECHAT_SECRET"],
                base_url=cfg["WECHAT_API_BASE"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
                miniprogram_state=cfg["NOTIFIER_MINIPROGRAM_STATE"],
            )
        else:
            from app.integrations.notifier.sandbox import SandboxNotifier

            ext["notifier"] = SandboxNotifier()
    return ext["notifier"]


def payout() -> PayoutPort:
    """Claim payouts: the payment platform's transfer API (real) or the sandbox bank."""
    ext = current_app.extensions
    if "payout" not in ext:
        cfg = current_app.config
        if cfg["PAYOUT_BACKEND"] == "real":
            from app.integrations.payout.http_adapter import HttpPayout

            ext["payout"] = HttpPayout(
                base_url=cfg["PAYOUT_BASE_URL"],
                merchant_id=cfg["PAYOUT_MERCHANT_ID"],
                secret=cfg["PAYOUT_SECRET"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
            )
        else:
            from app.integrations.payout.sandbox import SandboxPayoutBank

            ext["payout"] = SandboxPayoutBank()
    return ext["payout"]


def storage() -> StoragePort:
    """Claim documents' bytes: local disk or an S3-compatible store (STORAGE_BACKEND), always
    AES-GCM encrypted (app/integrations/storage/encrypted.py)."""
    ext = current_app.extensions
    if "storage" not in ext:
        from app.integrations.storage import build_storage

        ext["storage"] = build_storage(current_app.config)
    return ext["storage"]


def signer() -> Signer:
    """Signatures on the hospitals' direct-settlement requests: SM2 with SM3 (the only scheme;
    which institution holds which public key is data, app/direct_settlement)."""
    ext = current_app.extensions
    if "signer" not in ext:
        from app.integrations.signer.sm2 import Sm2Signer

        ext["signer"] = Sm2Signer()
    return ext["signer"]
