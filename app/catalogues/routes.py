"""Catalogue endpoints for operators: import a version of a product's 商保目录 or 特药目录 from a
CSV/XLSX file (multipart), list versions, read one, page through its entries, download its
per-row report. Other roles are refused by role (403); members never reach them (401)."""

from __future__ import annotations

from flask import Response, current_app

from app.api import Blueprint
from app.auth.principal import current_principal
from app.catalogues import services
from app.catalogues.schemas import (
    CatalogueEntryPageSchema,
    CatalogueEntryQuerySchema,
    CatalogueFileSchema,
    CatalogueFormSchema,
    CatalogueImportSchema,
    CatalogueQuerySchema,
    CatalogueVersionPageSchema,
    CatalogueVersionSchema,
)
from app.error_catalogue import E

blp = Blueprint("catalogues", __name__, url_prefix="/staff", description="目录 Catalogues")


@blp.route("/catalogues", methods=["POST"])
@blp.staff_required("operator")
@blp.sized_body("CATALOGUE_MAX_BYTES")
@blp.arguments(CatalogueFormSchema, location="form")
@blp.arguments(CatalogueFileSchema, location="files")
@blp.response(201, CatalogueImportSchema)
@blp.errors(400, 409, 413, 422)
def import_catalogue(form, files):
    """Import a catalogue version (multipart: kind, product_code, label, effective_from,
    effective_to?, file). Every row is checked; only when all are good is the version written,
    with its per-row report. Any bad row: 422 `catalogue_rows_invalid` with the per-row report in
    `errors.report`, and nothing written. Days already covered by an active version of the same
    kind, or a label used before: 409 `catalogue_version_conflict`."""
    storage = files["file"]
    data = storage.read(current_app.config["CATALOGUE_MAX_BYTES"] + 1)
    if len(data) > current_app.config["CATALOGUE_MAX_BYTES"]:
        raise E.payload_too_large()
    result = services.import_catalogue(
        kind=form["kind"],
        product_code=form["product_code"],
        data=data,
        filename=storage.filename or "",
        label=form["label"],
        effective_from=form["effective_from"],
        effective_to=form["effective_to"],
        actor=current_principal(),
        limits=services.Limits.from_config(current_app.config),
    )
    return {
        "version": services.version_view(result.version, form["product_code"]),
        "report": services.report_as_dict(result.report),
    }


@blp.route("/catalogues", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(CatalogueQuerySchema, location="query")
@blp.response(200, CatalogueVersionPageSchema)
def list_catalogues(query):
    """Catalogue versions, newest product year first; filter by product, kind, status."""
    return services.list_versions(
        product_code=query.get("product"),
        kind=query.get("kind"),
        status=query.get("status"),
        page=query["page"],
        page_size=query["page_size"],
    )


@blp.route("/catalogues/<int:version_id>", methods=["GET"])
@blp.staff_required("operator")
@blp.response(200, CatalogueVersionSchema)
@blp.errors(404)
def get_catalogue(version_id):
    """One catalogue version."""
    return services.get_version(version_id)


@blp.route("/catalogues/<int:version_id>/entries", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(CatalogueEntryQuerySchema, location="query")
@blp.response(200, CatalogueEntryPageSchema)
@blp.errors(404)
def catalogue_entries(query, version_id):
    """A version's entries in file order, paged."""
    return services.version_entries(version_id, query["page"], query["page_size"])


@blp.route("/catalogues/<int:version_id>/report.csv", methods=["GET"])
@blp.staff_required("operator")
@blp.response(200, content_type="text/csv", description="逐行导入结果（CSV，UTF-8 BOM）")
@blp.errors(404)
def catalogue_report(version_id):
    """The import's per-row report: row number, result, code, message."""
    return Response(
        services.report_csv(version_id),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="catalogue-{version_id}-report.csv"'
        },
    )
