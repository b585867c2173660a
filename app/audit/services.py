"""Write audit rows inside the caller's transaction, so an audited read and its audit row commit
or roll back together."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor_type: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    detail: dict | None = None,
) -> AuditEvent:
    event = AuditEvent(
        **values(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail,
        )
    )
    session.add(event)
    return event


def values(
    *,
    actor_type: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    detail: dict | None = None,
) -> dict:
    """An audit row's columns (with the request's id), for `record` or a bulk insert."""
    return {
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail or {},
        "request_id": getattr(g, "request_id", None) if has_request_context() else None,
    }
