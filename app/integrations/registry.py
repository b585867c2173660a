"""Builds the configured adapter for each port once per app; tests may replace them in
`app.extensions` (e.g. a real adapter pointed at a local fake server)."""
from __future__ import annotations

from flask import current_app

from app.integrations.bureau.port import BureauPort
from app.integrations.wechat.port import WeChatLogin
from app.integrations.wechatpay.port import WeChatPayPort


def wechat_login() -> WeChatLogin:
    ext = current_app.extensions
    if "wechat_login" not in ext:
        cfg = current_app.config
        if cfg["WECHAT_ADAPTER"] == "real":
            from app.integrations.wechat.http_login import HttpWeChatLogin

            ext["wechat_login"] = HttpWeChatLogin(
                appid=cfg["WECHAT_APPID"], secret=cfg["WECHAT_SECRET"],
                base_url=cfg["WECHAT_API_BASE"], timeout=cfg["HTTP_TIMEOUT_SECONDS"],
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
                base_url=cfg["BUREAU_BASE_URL"], app_id=cfg["BUREAU_APP_ID"],
                secret=cfg["BUREAU_SECRET"], region=cfg["BUREAU_REGION"],
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
                appid=cfg["WECHAT_APPID"], mchid=cfg["WECHATPAY_MCHID"],
                merchant_private_key_pem=read_pem(cfg["WECHATPAY_MERCHANT_KEY"]).decode("ascii"),
                merchant_serial=cfg["WECHATPAY_MERCHANT_SERIAL"],
                apiv3_key=cfg["WECHATPAY_APIV3_KEY"],
                platform_public_key_pem=read_pem(cfg["WECHATPAY_PUBLIC_KEY"]).decode("ascii"),
                platform_public_key_id=cfg["WECHATPAY_PUBLIC_KEY_ID"],
                notify_url=cfg["WECHATPAY_NOTIFY_URL"],
                timeout=cfg["HTTP_TIMEOUT_SECONDS"],
                notify_max_skew_seconds=cfg["WECHATPAY_NOTIFY_MAX_SKEW_SECONDS"],
            )
        else:
            from app.integrations.wechatpay.sandbox import SandboxWeChatPay

            ext["wechat_pay"] = SandboxWeChatPay(
                appid=cfg["WECHAT_APPID"], mchid=cfg["WECHATPAY_MCHID"],
                apiv3_key=cfg["WECHATPAY_APIV3_KEY"] or None,
                max_skew_seconds=cfg["WECHATPAY_NOTIFY_MAX_SKEW_SECONDS"],
            )
    return ext["wechat_pay"]
