"""Roster endpoints for an organisation's admin on its own roster-only programmes: upload a
CSV/XLSX roster, read the roster and its entries (masked, paged), download an upload's per-row
report. Another organisation's programme is a plain 404."""

from __future__ import annotations

from flask import Response, current_app

from app.api import Blueprint
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import current_principal
from app.sponsors import roster_services as services
from app.sponsors.roster_schemas import (
    RosterEntryPageSchema,
    RosterEntryQuerySchema,
    RosterFileSchema,
    RosterSummarySchema,
    RosterUploadSchema,
)

blp = Blueprint("rosters", __name__, url_prefix="/staff", description="资助名单 Rosters")


@blp.route("/programmes/<int:programme_id>/roster/uploads", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.sized_body("ROSTER_MAX_BYTES", overhead=0)  # up to 100,000 rows: this route only
@blp.arguments(RosterFileSchema, location="files")
@blp.response(201, RosterUploadSchema)
@blp.errors(400, 404, 409, 413, 422)
def upload_roster(files, programme_id):
    """Upload a roster (multipart field `file`): every row is checked, the valid people are
    listed once (a re-upload adds nobody twice), and a per-row report is kept."""
    storage = files["file"]
    data = storage.read(current_app.config["ROSTER_MAX_BYTES"] + 1)
    return services.upload_roster(current_principal(), programme_id, data)


@blp.route("/programmes/<int:programme_id>/roster", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, RosterSummarySchema)
@blp.errors(404, 409)
def roster_summary(programme_id):
    """How many people are on the roster, how many are insured this plan year, the uploads."""
    return services.roster_summary(current_principal(), programme_id)


@blp.route("/programmes/<int:programme_id>/roster/entries", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(RosterEntryQuerySchema, location="query")
@blp.response(200, RosterEntryPageSchema)
@blp.errors(404, 409)
def roster_entries(query, programme_id):
    """The people on the roster (name and ID number masked), oldest first, paged."""
    return services.list_entries(
        current_principal(), programme_id, query["page"], query["page_size"]
    ).as_dict()


@blp.route(
    "/programmes/<int:programme_id>/roster/uploads/<int:upload_id>/report.csv", methods=["GET"]
)
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, content_type="text/csv", description="逐行校验结果（CSV，UTF-8 BOM）")
@blp.errors(404, 409)
def roster_report(programme_id, upload_id):
    """The upload's per-row report: line, masked name and ID number, outcome, code, message."""
    body = services.report_csv(current_principal(), programme_id, upload_id)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="roster-upload-{upload_id}.csv"'},
    )
