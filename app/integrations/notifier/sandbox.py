"""Sandbox notifier: records every message in `sandbox_notifications` and answers like WeChat
would, deterministically. Refused by the production profile.

Outcomes: ``sent``, except for an openid in `refused_openids` (``failed`` with WeChat's 43101,
"the user refused / has no subscription") and while the ``busy`` fault is set (``retry`` with
WeChat's -1, "system busy"). Every attempt is recorded with the outcome it got.

Where the record is written: the outbox delivers while holding its own transaction (it claims
the event with a conditional UPDATE and sends in the same unit of work). On a file SQLite
database a second connection could not write until that transaction ends, so the sandbox writes
in the caller's session: inside the caller's open transaction when there is one (the record
commits with it), or in a short transaction of its own when there is none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.database import get_session
from app.integrations.notifier.port import (
    NOTIFY_FAILED,
    NOTIFY_RETRY,
    NOTIFY_SENT,
    NotifyResult,
    check_message,
)
from app.integrations.notifier.sandbox_models import SandboxNotification

FAULTS = frozenset({"busy"})
ERRCODE_REFUSED = "43101"
ERRCODE_BUSY = "-1"


@dataclass(frozen=True)
class RecordedMessage:
    openid: str
    template_id: str
    data: dict[str, str]
    page: str | None
    status: str
    code: str | None
    created_at: datetime


class SandboxNotifier:
    def __init__(self, refused_openids: Iterable[str] = (), faults: Iterable[str] = ()) -> None:
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown sandbox faults: {sorted(unknown)}")
        # Live sets: a test may change them on the instance between calls.
        self.refused_openids: set[str] = set(refused_openids)
        self.faults: set[str] = set(faults)

    def send(
        self, openid: str, template_id: str, data: dict[str, str], page: str | None
    ) -> NotifyResult:
        check_message(openid, template_id, data, page)
        if "busy" in self.faults:
            result = NotifyResult(NOTIFY_RETRY, ERRCODE_BUSY)
        elif openid in self.refused_openids:
            result = NotifyResult(NOTIFY_FAILED, ERRCODE_REFUSED)
        else:
            result = NotifyResult(NOTIFY_SENT)
        row = SandboxNotification(
            openid=openid,
            template_id=template_id,
            data=dict(data),
            page=page,
            status=result.status,
            code=result.code,
        )
        session = get_session()
        if session.in_transaction():
            session.add(row)
            session.flush()
        else:
            with session.begin():
                session.add(row)
        return result


def recorded_messages(openid: str | None = None) -> list[RecordedMessage]:
    """What the sandbox was asked to send (to one openid, or to anyone), oldest first."""
    query = select(SandboxNotification).order_by(SandboxNotification.id)
    if openid is not None:
        query = query.where(SandboxNotification.openid == openid)
    return [
        RecordedMessage(
            openid=row.openid,
            template_id=row.template_id,
            data=dict(row.data),
            page=row.page,
            status=row.status,
            code=row.code,
            created_at=row.created_at,
        )
        for row in get_session().scalars(query)
    ]
