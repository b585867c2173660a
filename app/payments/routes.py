"""WeChat Pay notifications (public, verified by signature)."""

from __future__ import annotations

import logging

from flask import request

from app.api import Blueprint
from app.error_catalogue import E
from app.integrations.wechatpay.port import NotificationRejected
from app.payments import services

log = logging.getLogger(__name__)
blp = Blueprint(
    "payments", __name__, url_prefix="/payments", description="支付回调 Payment notifications"
)


@blp.route("/wechat/notify", methods=["POST"])
@blp.response(204)
@blp.errors(401)
def wechat_notify():
    """WeChat Pay v3 notification. The signature is checked over the raw body within a
    timestamp window and the resource decrypted; duplicates are acknowledged with one effect;
    forged, stale and probe notifications get 401 and change nothing."""
    headers = {k: v for k, v in request.headers.items()}
    try:
        outcome = services.handle_wechat_notification(headers, request.get_data(cache=False))
    except NotificationRejected as exc:
        log.warning("wechat notification rejected: %s", exc.reason)
        raise E.notification_rejected() from None
    log.info("wechat notification applied: %s", outcome)
