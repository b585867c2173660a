"""Sponsor endpoints: operators register organisations and may read every programme; an
organisation's admins run its programmes (budgets, status, report) and read its sponsor reports.
Another organisation's objects are a plain 404."""

from __future__ import annotations

from flask import Response

from app.api import Blueprint
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import current_principal
from app.sponsors import reports, services
from app.sponsors.schemas import (
    BeneficiaryPageSchema,
    BeneficiaryQuerySchema,
    DonationQuerySchema,
    DonationsSchema,
    OrganisationCreateSchema,
    OrganisationSchema,
    OutcomesSchema,
    ProgrammeCreateSchema,
    ProgrammeQuerySchema,
    ProgrammeReportSchema,
    ProgrammeSchema,
    ReportQuerySchema,
    SponsorSummarySchema,
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
    return services.create_programme(
        current_principal(), **{"quota": None, "product_id": None, **body}
    )


@blp.route("/programmes", methods=["GET"])
@blp.staff_required("operator", *ORGANISATION_ROLES)
@blp.arguments(ProgrammeQuerySchema, location="query")
@blp.response(200, ProgrammeSchema(many=True))
def list_programmes(query):
    """Programmes, newest first (at most 100), filtered by organisation, status and plan year:
    an organisation admin sees its own organisation's, an operator every organisation's
    (read-only)."""
    return services.list_programmes(current_principal(), **query)


@blp.route("/programmes/<int:programme_id>", methods=["GET"])
@blp.staff_required("operator", *ORGANISATION_ROLES)
@blp.response(200, ProgrammeSchema)
@blp.errors(404)
def read_programme(programme_id):
    """One programme: the caller's organisation's own, or any for an operator (read-only)."""
    return services.view_programme(current_principal(), programme_id)


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
@blp.staff_required("operator", *ORGANISATION_ROLES)
@blp.response(200, ProgrammeReportSchema)
@blp.errors(404)
def programme_report(programme_id):
    """Budget, reserved and spent, unspent, beneficiaries, and active policies funded (names
    masked): the caller's organisation's programme, or any for an operator."""
    return services.report(current_principal(), programme_id)


# --- sponsor reports: the caller's own organisation only (app/sponsors/reports.py) ------------


@blp.route("/reports/summary", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, SponsorSummarySchema)
@blp.errors(404)
def report_summary(query):
    """Spend against budget, unspent budget, active policies and beneficiaries, per programme
    and in total."""
    return reports.summary(current_principal(), **query)


@blp.route("/reports/beneficiaries", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(BeneficiaryQuerySchema, location="query")
@blp.response(200, BeneficiaryPageSchema)
@blp.errors(404)
def report_beneficiaries(query):
    """The people the organisation's programmes insured (name and ID number masked), with
    policy status and what each programme paid; paginated. Each read is audited."""
    return reports.beneficiaries(current_principal(), **query).as_dict()


@blp.route("/reports/donations", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(DonationQuerySchema, location="query")
@blp.response(200, DonationsSchema)
@blp.errors(404)
def report_donations(query):
    """Donation records for tax deduction: each top-up (and any money handed back) with date,
    amount, the organisation's name and 统一社会信用代码, and the programme."""
    return reports.donations(current_principal(), **query)


@blp.route("/reports/donations.csv", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(DonationQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="捐赠记录 CSV（UTF-8，带 BOM）")
@blp.errors(404)
def report_donations_csv(query):
    """The donation records as a CSV download (UTF-8 with BOM, so Excel shows the Chinese)."""
    body = reports.donations_csv(current_principal(), **query)
    name = f"donations-{query['year']}.csv" if query.get("year") else "donations.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@blp.route("/reports/outcomes", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, OutcomesSchema)
@blp.errors(404)
def report_outcomes():
    """Anonymised outcomes per plan year: number and sum of claims paid for the organisation's
    beneficiaries, small counts suppressed; no medical detail."""
    return reports.outcomes(current_principal())
