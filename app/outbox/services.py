"""Write events in the caller's transaction; deliver them later through the notifier port.

Delivery is at-least-once: a row is marked sent only after the notifier accepted it. A retryable
failure backs off (1, 2, 4 ... minutes, at most MAX_ATTEMPTS tries); a permanent one (the member
has not subscribed to the message) is marked failed and never retried.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.database import read_scope, rowcount, transaction, utcnow
from app.integrations.notifier.templates import Template, fill, parse_templates, template_for
from app.members.models import Member
from app.outbox.models import OutboxEvent, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def enqueue(session, *, member_id: int, kind: str, payload: dict) -> OutboxEvent:
    event = OutboxEvent(member_id=member_id, kind=kind, payload=payload)
    session.add(event)
    return event


def _message(
    templates: dict[str, Template], kind: str, payload: dict
) -> tuple[str, dict[str, str]] | None:
    """The template id and its keys' values for this event; None when no template is mapped and
    the notifier is the real one (the sandbox records the kind and our payload as they are)."""
    found = template_for(templates, kind)
    if found is not None:
        return found.template_id, fill(found, payload)
    if current_app.config["NOTIFIER_BACKEND"] == "sandbox":
        return kind, _data(payload)
    return None


def deliver_pending(limit: int = 100) -> dict[str, int]:
    """Send due events. Each event is claimed with a conditional UPDATE (attempts = the value
    read), so two deliverers running at once never send the same event twice in one round."""
    from app.integrations.registry import notifier

    counts = {"sent": 0, "retry": 0, "failed": 0}
    with read_scope() as session:
        due = list(
            session.scalars(
                select(OutboxEvent.id)
                .where(
                    OutboxEvent.status == OutboxStatus.PENDING,
                    OutboxEvent.next_attempt_at <= utcnow(),
                )
                .order_by(OutboxEvent.id)
                .limit(limit)
            )
        )
    port = notifier()
    templates = parse_templates(current_app.config["NOTIFY_TEMPLATES"])  # once per round
    for event_id in due:
        with transaction() as s:
            event = s.get(OutboxEvent, event_id)
            if event is None or event.status != OutboxStatus.PENDING:
                continue
            attempts = event.attempts
            claimed = rowcount(
                s.execute(
                    update(OutboxEvent)
                    .where(
                        OutboxEvent.id == event_id,
                        OutboxEvent.attempts == attempts,
                        OutboxEvent.status == OutboxStatus.PENDING,
                    )
                    .values(attempts=attempts + 1)
                )
            )
            if claimed != 1:
                continue
            openid = s.execute(
                select(Member.openid).where(Member.id == event.member_id)
            ).scalar_one()
            kind, payload = event.kind, dict(event.payload)
        # the outside call runs with no transaction open
        message = _message(templates, kind, payload)
        code: str | None
        try:
            if message is None:  # nothing to send it as: kept, failed, for the operator to see
                log.warning("outbox event=%s kind=%s has no NOTIFY_TEMPLATES entry", event_id, kind)
                status, code = "failed", "no_template"
            else:
                result = port.send(openid, message[0], message[1], payload.get("page"))
                status, code = result.status, result.code
        except Exception as exc:
            log.warning("outbox delivery error event=%s: %s", event_id, type(exc).__name__)
            status, code = "retry", type(exc).__name__
        with transaction() as s:
            event = s.get_one(OutboxEvent, event_id)  # claimed above; events are never deleted
            if status == "sent":
                event.status, event.sent_at, event.last_error = OutboxStatus.SENT, utcnow(), None
            elif status == "failed" or event.attempts >= MAX_ATTEMPTS:
                event.status, event.last_error = OutboxStatus.FAILED, code
            else:
                event.last_error = code
                event.next_attempt_at = utcnow() + timedelta(minutes=2 ** (event.attempts - 1))
            counts[
                "sent"
                if event.status == OutboxStatus.SENT
                else "failed"
                if event.status == OutboxStatus.FAILED
                else "retry"
            ] += 1
    return counts


def _data(payload: dict) -> dict[str, str]:
    """The template fields: every payload entry but the page, as strings."""
    return {k: str(v) for k, v in payload.items() if k != "page"}
