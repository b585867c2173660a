"""Sponsor endpoints: operators register organisations; an organisation's admins run its
programmes (budgets, status, report). Another organisation's objects are a plain 404."""
from __future__ import annotations

from app.api import Blueprint
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import current_principal
from app.sponsors import services
from app.sponsors.schemas import (
    OrganisationCreateSchema,
    OrganisationSchema,
    ProgrammeCreateSchema,
    ProgrammeReportSchema,
    ProgrammeSchema,
    StatusChangeSchema,
    TopUpSchema,
)

blp = Blueprint("sponsors", __name__, url_prefix="/staff", description="资助方 Sponsors")


@blp.route("/organisations", methods=["POST"])
@blp.staff_required("operator")
@blp.arguments(OrganisationCreateSchema)
@blp.response(201, OrganisationSchema)
@blp.errors(409, 422)
def create_organisation(body):
    """Register a sponsor organisation by its 统一社会信用代码 (operators only)."""
    return services.create_organisation(current_principal(), **body)


@blp.route("/organisations/<int:organisation_id>", methods=["GET"])
@blp.staff_required("operator", *ORGANISATION_ROLES)
@blp.response(200, OrganisationSchema)
@blp.errors(404)
def read_organisation(organisation_id):
    """An organisation: operators see any, an organisation admin only its own."""
    return services.get_organisation(current_principal(), organisation_id)


@blp.route("/programmes", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(ProgrammeCreateSchema)
@blp.response(201, ProgrammeSchema)
@blp.errors(404, 422)
def create_programme(body):
    """Create a subsidy programme for the caller's own organisation (budget starts at 0)."""
    return services.create_programme(current_principal(), **{
        "quota": None, "product_id": None, **body})


@blp.route("/programmes", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, ProgrammeSchema(many=True))
def list_programmes():
    """The caller's organisation's programmes, newest first (at most 100)."""
    return services.list_programmes(current_principal())


@blp.route("/programmes/<int:programme_id>", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, ProgrammeSchema)
@blp.errors(404)
def read_programme(programme_id):
    """One of the caller's organisation's programmes."""
    return services.get_programme(current_principal(), programme_id)


@blp.route("/programmes/<int:programme_id>/top-ups", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.idempotent
@blp.arguments(TopUpSchema)
@blp.response(200, ProgrammeSchema)
@blp.errors(404, 409, 422)
def top_up(body, programme_id):
    """Add to the programme's budget (ledger entry top_up). Requires an Idempotency-Key header."""
    return services.top_up(current_principal(), programme_id, body["amount_fen"])


@blp.route("/programmes/<int:programme_id>/status", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(StatusChangeSchema)
@blp.response(200, ProgrammeSchema)
@blp.errors(404, 409)
def change_status(body, programme_id):
    """Pause, resume or close the programme (closed is final)."""
    return services.change_status(current_principal(), programme_id, body["action"])


@blp.route("/programmes/<int:programme_id>/report", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, ProgrammeReportSchema)
@blp.errors(404)
def programme_report(programme_id):
    """Budget, reserved and spent, unspent, beneficiaries, and active policies funded (names
    masked)."""
    return services.report(current_principal(), programme_id)
