"""Staff endpoints (insurer staff): audited reads of member identity, the audit trail, and a
staff account's sign-in lock (the operator sees and lifts it)."""

from __future__ import annotations

from app.api import Blueprint
from app.auth import accounts
from app.auth.principal import current_principal
from app.staff import services
from app.staff.schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    StaffLoginLockSchema,
    StaffMemberViewSchema,
)

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


@blp.route("/accounts/<int:account_id>/login-lock", methods=["GET"])
@blp.staff_required("operator")
@blp.response(200, StaffLoginLockSchema)
@blp.errors(404, 503)
def read_login_lock(account_id):
    """Whether a staff account's sign-ins are locked after failed attempts, and until when
    (operators only). 503 only when the limit storage is down and the fallback is off."""
    return accounts.login_lock(current_principal(), account_id)


@blp.route("/accounts/<int:account_id>/login-lock/release", methods=["POST"])
@blp.staff_required("operator")
@blp.response(200, StaffLoginLockSchema)
@blp.errors(404, 503)
def release_login_lock(account_id):
    """Lift the sign-in lock (operators only): the account's failure window starts from zero.
    Not locked: the same answer, nothing changed. Audited (`staff.login_unlocked`) when failures
    were cleared. `storage` "fallback": Redis was unreachable and only this worker's count was
    cleared."""
    return accounts.release_login_lock(current_principal(), account_id, "api")
