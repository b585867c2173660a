"""Special-drug endpoints: members apply, add proofs, submit and claim purchases (their own
applications only: another member's is a plain 404); reviewers work the queue and decide
(operators may read); proofs go only to reviewers, each read audited."""

from __future__ import annotations

from flask import Response, current_app

from app.api import Blueprint
from app.auth.principal import current_principal
from app.error_catalogue import E
from app.special_drugs import purchases, services
from app.special_drugs.schemas import (
    SpecialDrugApplicationCreateSchema,
    SpecialDrugApplicationSchema,
    SpecialDrugApproveSchema,
    SpecialDrugCatalogueQuerySchema,
    SpecialDrugCatalogueSchema,
    SpecialDrugDocumentFileSchema,
    SpecialDrugDocumentSchema,
    SpecialDrugDocumentUploadSchema,
    SpecialDrugPurchaseFormSchema,
    SpecialDrugPurchaseSchema,
    SpecialDrugQueueQuerySchema,
    SpecialDrugRejectSchema,
    SpecialDrugStaffApplicationSchema,
)

blp = Blueprint("special_drugs", __name__, description="特药服务 Special drugs")

A = "/special-drugs/applications"
S = "/staff/special-drugs/applications"


def _me() -> int:
    return current_principal().id


def _read_file(files) -> tuple[bytes, str | None]:
    upload = files["file"]
    if not hasattr(upload, "read"):
        raise E.document_missing()
    return upload.read(current_app.config["DOCUMENT_MAX_BYTES"] + 1), upload.mimetype


# --- members --------------------------------------------------------------------------------------


@blp.route("/special-drugs/catalogue", methods=["GET"])
@blp.member_required
@blp.arguments(SpecialDrugCatalogueQuerySchema, location="query")
@blp.response(200, SpecialDrugCatalogueSchema)
@blp.errors(404)
def catalogue(query):
    """The special drugs (特药目录 in force today) that may be applied for on this policy."""
    return services.catalogue(_me(), query["policy_id"])


@blp.route(A, methods=["POST"])
@blp.member_required
@blp.arguments(SpecialDrugApplicationCreateSchema)
@blp.response(201, SpecialDrugApplicationSchema)
@blp.errors(403, 404, 409, 422)
def apply(body):
    """Apply for a listed drug and one of its listed indications for an insured person on a
    policy the member may claim on (a draft: add the proofs, then submit)."""
    application = services.apply(_me(), **body)
    return services.view(application)


@blp.route(A, methods=["GET"])
@blp.member_required
@blp.response(200, SpecialDrugApplicationSchema(many=True))
def list_applications():
    """The member's applications, newest first (at most 100)."""
    return [services.view(a) for a in services.list_applications(_me())]


@blp.route(f"{A}/<int:application_id>", methods=["GET"])
@blp.member_required
@blp.response(200, SpecialDrugApplicationSchema)
@blp.errors(404)
def get_application(application_id):
    """One application: its status, approval period, designated pharmacies and purchases."""
    return services.view(services.get_application(_me(), application_id))


@blp.route(f"{A}/<int:application_id>/documents", methods=["POST"])
@blp.member_required
@blp.sized_body("DOCUMENT_MAX_BYTES")
@blp.arguments(SpecialDrugDocumentUploadSchema, location="form")
@blp.arguments(SpecialDrugDocumentFileSchema, location="files")
@blp.response(201, SpecialDrugDocumentSchema)
@blp.errors(400, 404, 409, 422, 429, 503)
def upload_document(form, files, application_id):
    """Upload a prescription or diagnostic proof (JPEG, PNG or PDF; checked like claim
    documents: the type is read from the bytes, images re-encoded without metadata)."""
    data, media_type = _read_file(files)
    return services.upload_document(_me(), application_id, form["doc_type"], data, media_type)


@blp.route(f"{A}/<int:application_id>/submit", methods=["POST"])
@blp.member_required
@blp.response(200, SpecialDrugApplicationSchema)
@blp.errors(404, 409, 422)
def submit(application_id):
    """Submit for review: a prescription and a diagnostic proof are needed."""
    return services.view(services.submit(_me(), application_id))


@blp.route(f"{A}/<int:application_id>/purchases", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.sized_body("DOCUMENT_MAX_BYTES")
@blp.arguments(SpecialDrugPurchaseFormSchema, location="form")
@blp.arguments(SpecialDrugDocumentFileSchema, location="files")
@blp.response(201, SpecialDrugPurchaseSchema)
@blp.errors(400, 403, 404, 409, 422, 429, 503)
def purchase(form, files, application_id):
    """Claim a purchase against an approval (the invoice is the file): a claim of care kind
    special_drug is filed and submitted. What counts as special-drug money (inside the approval's
    period, at a designated pharmacy, within the drug's annual cap) and why the rest does not
    are in the answer. Requires an Idempotency-Key header."""
    data, media_type = _read_file(files)
    found = purchases.purchase(
        _me(),
        application_id,
        purchases.PurchaseInput(
            pharmacy=form["pharmacy"],
            purchased_on=form["purchased_on"],
            quantity=form["quantity"],
            amount_fen=form["amount_fen"],
            invoice_no=form["invoice_no"],
            payee={
                "name": form["payee_name"],
                "bank_name": form["payee_bank_name"],
                "bank_account": form["payee_bank_account"],
            },
            invoice=data,
            invoice_media_type=media_type,
        ),
    )
    return services.purchase_view(found)


# --- reviewers ------------------------------------------------------------------------------------


@blp.route(S, methods=["GET"])
@blp.staff_required("reviewer", "operator")
@blp.arguments(SpecialDrugQueueQuerySchema, location="query")
@blp.response(200, SpecialDrugStaffApplicationSchema(many=True))
def queue(query):
    """Applications to review (default: pending_review), newest first; keyset by before_id."""
    found = services.queue(query.get("status"), query.get("before_id"))
    return [services.view(a, staff=True) for a in found]


@blp.route(f"{S}/<int:application_id>", methods=["GET"])
@blp.staff_required("reviewer", "operator")
@blp.response(200, SpecialDrugStaffApplicationSchema)
@blp.errors(404)
def staff_get(application_id):
    """One submitted application (the read is audited)."""
    return services.view(services.staff_get(current_principal(), application_id), staff=True)


@blp.route(f"{S}/<int:application_id>/approve", methods=["POST"])
@blp.staff_required("reviewer")
@blp.idempotent
@blp.arguments(SpecialDrugApproveSchema)
@blp.response(200, SpecialDrugStaffApplicationSchema)
@blp.errors(404, 409)
def approve(body, application_id):
    """Approve the indication: valid from today for SPECIAL_DRUG_APPROVAL_DAYS days (never past
    the end of cover) at the catalogue's designated pharmacies. Requires an Idempotency-Key."""
    found = services.approve(current_principal(), application_id, body.get("reason"))
    return services.view(found, staff=True)


@blp.route(f"{S}/<int:application_id>/reject", methods=["POST"])
@blp.staff_required("reviewer")
@blp.arguments(SpecialDrugRejectSchema)
@blp.response(200, SpecialDrugStaffApplicationSchema)
@blp.errors(404, 409, 422)
def reject(body, application_id):
    """Reject with a reason code and a reason the member will read."""
    found = services.reject(
        current_principal(), application_id, body["reason_code"], body["reason"]
    )
    return services.view(found, staff=True)


@blp.route(f"{S}/<int:application_id>/documents/<int:document_id>", methods=["GET"])
@blp.staff_required("reviewer")
@blp.response(200, content_type="application/octet-stream", description="材料原件（已清洗）")
@blp.errors(404, 503)
def staff_document(application_id, document_id):
    """A proof of a submitted application (the read is audited)."""
    doc, data = services.staff_document(current_principal(), application_id, document_id)
    ext = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        doc.media_type, "bin"
    )
    return Response(
        data,
        mimetype=doc.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="document-{doc.id}.{ext}"',
            "Content-Security-Policy": "sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
