"""Staff endpoints (insurer staff): audited reads of member identity, and the audit trail."""

from __future__ import annotations

from app.api import Blueprint
from app.auth.principal import current_principal
from app.staff import services
from app.staff.schemas import AuditPageSchema, AuditQuerySchema, StaffMemberViewSchema

blp = Blueprint("staff", __name__, url_prefix="/staff", description="工作人员 Staff")


@blp.route("/members/<int:member_id>", methods=["GET"])
@blp.staff_required("reviewer", "operator")
@blp.response(200, StaffMemberViewSchema)
@blp.errors(404)
def read_member(member_id):
    """A member's verified identity and relatives (masked). Every call writes an audit row."""
    member, relatives = services.read_member(current_principal(), member_id)
    return {"member": member, "relatives": relatives}


@blp.route("/audit-events", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit_events(query):
    """The audit trail, newest first (operators only)."""
    return services.list_audit_events(**query).as_dict()
