"""Builds the configured adapter for each port once per app; tests may replace them in
`app.extensions` (e.g. a real adapter pointed at a local fake server)."""
from __future__ import annotations

from flask import current_app

from app.integrations.bureau.port import BureauPort
from app.integrations.wechat.port import WeChatLogin


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
