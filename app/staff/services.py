from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.services import record as audit
from app.auth.principal import Principal
from app.common.pagination import Page, paginate
from app.database import transaction
from app.error_catalogue import E
from app.members.models import Member, Relative


def read_member(staff: Principal, member_id: int) -> tuple[Member, list[Relative]]:
    """A reviewer or operator opens a member's identity record: audited."""
    with transaction() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        relatives = list(
            session.scalars(
                select(Relative).where(Relative.member_id == member_id).order_by(Relative.id)
            )
        )
        audit(
            session,
            actor_type="staff",
            actor_id=staff.id,
            action="member.read_sensitive",
            object_type="member",
            object_id=member.id,
            detail={"role": staff.role, "relatives": len(relatives)},
        )
    return member, relatives


def list_audit_events(
    *,
    page: int,
    page_size: int,
    object_type: str | None = None,
    object_id: int | None = None,
    action: str | None = None,
) -> Page[AuditEvent]:
    with transaction() as session:
        query = select(AuditEvent)
        if object_type:
            query = query.where(AuditEvent.object_type == object_type)
        if object_id is not None:
            query = query.where(AuditEvent.object_id == object_id)
        if action:
            query = query.where(AuditEvent.action == action)
        return paginate(
            session, query.order_by(AuditEvent.id.desc()), page, page_size, scalars=True
        )
