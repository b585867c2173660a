"""The notifier port: send one WeChat subscription message (订阅消息) to a member.

`send` never raises for an outcome of the message itself; it answers with a `NotifyResult`:

* ``sent``   WeChat accepted the message;
* ``retry``  not sent, and trying again later may work (WeChat busy, quota, timeout, a token
             problem, WeChat unreachable) — the outbox schedules another attempt;
* ``failed`` not sent, and sending it again will not help (the member refused or has no
             subscription for this template, a bad openid, template or field) — give up.

`code` says why for retry/failed (WeChat's errcode as a string, e.g. "43101", or a transport
reason such as "timeout"); None when sent. A ValueError means the caller passed something that
cannot be a message (empty openid or template id, non-string field values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

NOTIFY_SENT = "sent"
NOTIFY_RETRY = "retry"
NOTIFY_FAILED = "failed"
NOTIFY_STATUSES = (NOTIFY_SENT, NOTIFY_RETRY, NOTIFY_FAILED)


@dataclass(frozen=True)
class NotifyResult:
    status: str  # one of NOTIFY_STATUSES
    code: str | None = None

    def __post_init__(self) -> None:
        if self.status not in NOTIFY_STATUSES:
            raise ValueError(f"status must be one of {NOTIFY_STATUSES}")


class Notifier(Protocol):
    def send(
        self, openid: str, template_id: str, data: dict[str, str], page: str | None
    ) -> NotifyResult:
        """One subscription message: `data` maps the template's keys (e.g. "thing1",
        "amount2") to their text; `page` is the mini-program page a tap opens."""
        ...


def check_message(openid: str, template_id: str, data: dict[str, str], page: str | None) -> None:
    """What every adapter refuses before sending: a ValueError, not a NotifyResult, because it is
    the caller's bug, not the member's or WeChat's."""
    for name, value in (("openid", openid), ("template_id", template_id)):
        if not isinstance(value, str) or not value.strip() or len(value) > 128:
            raise ValueError(f"{name} must be a non-empty string of at most 128 characters")
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError("data must map non-empty string keys to string values")
    if page is not None and (not isinstance(page, str) or len(page) > 512):
        raise ValueError("page must be a string of at most 512 characters, or None")
