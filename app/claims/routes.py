"""Claim endpoints: members file and follow claims (their own only: another member's claim is a
plain 404); reviewers work the queue; documents go only to their owner and the assigned reviewer."""

from __future__ import annotations

from flask import Response, current_app

from app.api import Blueprint
from app.auth.principal import current_principal
from app.claims import line_intake, services
from app.claims.line_schemas import LinesBodySchema, LinesFileSchema, StaffLinesBodySchema
from app.claims.schemas import (
    AnswerSchema,
    AssignSchema,
    ClaimApproveSchema,
    ClaimCreateSchema,
    ClaimSchema,
    ClaimSummarySchema,
    ClaimUpdateSchema,
    DocumentFileSchema,
    DocumentSchema,
    DocumentUploadSchema,
    EstimateResultSchema,
    EstimateSchema,
    HumanReviewSchema,
    InfoRequestCreateSchema,
    PayeeCorrectionSchema,
    QueueQuerySchema,
    RecheckRequestSchema,
    RedetermineSchema,
    RejectSchema,
    SettlementClaimSchema,
    SettlementRecordSchema,
    StaffClaimSchema,
    StaffClaimSummarySchema,
)
from app.error_catalogue import E

blp = Blueprint("claims", __name__, description="理赔 Claims")


def _me() -> int:
    return current_principal().id


# --- member: settlement records and one-tap claims ------------------------------------------------


@blp.route("/policies/<int:policy_id>/settlement-records", methods=["GET"])
@blp.member_required
@blp.response(200, SettlementRecordSchema(many=True))
@blp.errors(403, 404, 422, 503)
def list_settlement_records(policy_id):
    """The insured person's medical-insurance settlement records within the policy's cover
    (from the bureau, 5203 shape); `claimable` says whether a claim can still be made from one.
    422 consent_required once the member withdrew the personal-information consent."""
    views = services.settlement_records(_me(), policy_id)
    return [
        {
            "setl_id": v.record.setl_id,
            "hospital_name": v.record.fixmedins_name,
            "care_kind": v.record.care_kind,
            "admitted_on": v.record.begndate,
            "discharged_on": v.record.enddate,
            "diagnosis": v.record.dise_name,
            "medfee_sumamt_fen": v.record.medfee_sumamt_fen,
            "hifp_pay_fen": v.record.hifp_pay_fen,
            "hifmi_pay_fen": v.record.hifmi_pay_fen,
            "hifob_pay_fen": v.record.hifob_pay_fen,
            "maf_pay_fen": v.record.maf_pay_fen,
            "member_paid_fen": v.record.psn_part_amt_fen,
            "claimable": v.claimable,
            "claim_id": v.claim_id,
            "not_claimable_reason": v.reason,
        }
        for v in views
    ]


@blp.route("/claims/from-settlement", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.arguments(SettlementClaimSchema)
@blp.response(201, ClaimSchema)
@blp.errors(403, 404, 409, 422, 503)
def claim_from_settlement(body):
    """一站式 one-tap claim from a bureau settlement record: submitted, adjudicated and, when
    every rule passes below the product's threshold, approved and paid at once.
    Requires an Idempotency-Key header."""
    return services.claim_from_settlement(_me(), **body)


@blp.route("/claims/estimate", methods=["POST"])
@blp.member_required
@blp.arguments(EstimateSchema)
@blp.response(200, EstimateResultSchema)
@blp.errors(403, 404, 422, 503)
def estimate(body):
    """理赔试算: what a claim would pay now against the person's accumulators (no side effects)."""
    policy_id = body.pop("policy_id")
    setl_id = body.pop("setl_id", None)
    pre_existing = body.pop("pre_existing", False)
    care_kind, care_date = body.pop("care_kind", None), body.pop("care_date", None)
    result = services.estimate(
        _me(),
        policy_id=policy_id,
        amounts=body,
        care_kind=care_kind,
        care_date=care_date,
        setl_id=setl_id,
        pre_existing=pre_existing,
        diagnosis_code=body.pop("diagnosis_code", None),
    )
    return services.adjudication_json(result)


# --- member: claims with documents ----------------------------------------------------------------


@blp.route("/claims", methods=["POST"])
@blp.member_required
@blp.arguments(ClaimCreateSchema)
@blp.response(201, ClaimSchema)
@blp.errors(403, 404, 422)
def create_claim(body):
    """Start a claim with documents (a draft that can be saved and resumed)."""
    policy_id = body.pop("policy_id")
    return services.create_claim(_me(), policy_id=policy_id, fields=body)


@blp.route("/claims", methods=["GET"])
@blp.member_required
@blp.response(200, ClaimSummarySchema(many=True))
def list_claims():
    """The member's claims, newest first (at most 100)."""
    return services.list_claims(_me())


@blp.route("/claims/<int:claim_id>", methods=["GET"])
@blp.member_required
@blp.response(200, ClaimSchema)
@blp.errors(404)
def get_claim(claim_id):
    """One claim: its status history, the documents still missing, and the explanation of every
    yuan once adjudicated."""
    return services.get_claim(_me(), claim_id)


@blp.route("/claims/<int:claim_id>", methods=["PATCH"])
@blp.member_required
@blp.arguments(ClaimUpdateSchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def update_claim(body, claim_id):
    """Save a draft (or correct a claim a reviewer asked more of)."""
    return services.update_claim(_me(), claim_id, body)


@blp.route("/claims/<int:claim_id>", methods=["DELETE"])
@blp.member_required
@blp.response(204)
@blp.errors(404, 409)
def delete_claim(claim_id):
    """Delete a draft and its documents."""
    services.delete_draft(_me(), claim_id)


@blp.route("/claims/<int:claim_id>/submit", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def submit_claim(claim_id):
    """Submit: the claim must be complete with every document its kind of care requires (the
    answer names what is missing). Requires an Idempotency-Key header."""
    return services.submit(_me(), claim_id)


@blp.route("/claims/<int:claim_id>/documents", methods=["POST"])
@blp.member_required
@blp.sized_body("DOCUMENT_MAX_BYTES")
@blp.arguments(DocumentUploadSchema, location="form")
@blp.arguments(DocumentFileSchema, location="files")
@blp.response(201, DocumentSchema)
@blp.errors(400, 404, 409, 422, 429, 503)
def upload_document(form, files, claim_id):
    """Upload one document (JPEG, PNG or PDF up to DOCUMENT_MAX_BYTES; the type is read from
    the bytes, images are re-encoded without metadata)."""
    upload = files["file"]
    if not hasattr(upload, "read"):
        raise E.document_missing()
    data = upload.read(current_app.config["DOCUMENT_MAX_BYTES"] + 1)
    return services.upload_document(_me(), claim_id, form["doc_type"], data, upload.mimetype)


@blp.route("/claims/<int:claim_id>/documents/<int:document_id>", methods=["GET"])
@blp.member_required
@blp.response(200, content_type="application/octet-stream", description="材料原件（已清洗）")
@blp.errors(404, 503)
def download_document(claim_id, document_id):
    """Download one of the member's own documents."""
    doc, data = services.member_document(_me(), claim_id, document_id)
    return _file(doc, data)


@blp.route("/claims/<int:claim_id>/documents/<int:document_id>", methods=["DELETE"])
@blp.member_required
@blp.response(204)
@blp.errors(404, 409)
def delete_document(claim_id, document_id):
    """Remove a document while the claim can still be changed."""
    services.delete_document(_me(), claim_id, document_id)


@blp.route("/claims/<int:claim_id>/lines", methods=["POST"])
@blp.member_required
@blp.sized_body("DOCUMENT_MAX_BYTES")
@blp.arguments(LinesFileSchema, location="files")
@blp.response(200, ClaimSchema)
@blp.errors(400, 404, 409, 422)
def upload_lines(files, claim_id):
    """Upload the hospital's itemised list (费用明细清单, CSV or XLSX, amounts in yuan) of a
    photographed claim that can still be changed: it replaces the claim's lines, all or nothing
    (a bad row is a 422 with the per-row report in errors.report). The lines must add up to the
    claim: 全自费 + 超限价 to the out-of-policy self-pay plus special drugs, 金额 to the total
    cost. A claim awaiting more information is re-adjudicated with them at once."""
    upload = files["file"]
    if not hasattr(upload, "read"):
        raise E.document_missing()
    data = upload.read(current_app.config["DOCUMENT_MAX_BYTES"] + 1)
    return line_intake.member_lines(_me(), claim_id, lambda: line_intake.sheet_lines(data))


@blp.route("/claims/<int:claim_id>/lines", methods=["PUT"])
@blp.member_required
@blp.arguments(LinesBodySchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def put_lines(body, claim_id):
    """The same as uploading the list, as JSON (amounts in fen, shaped like 5204 rows)."""
    items = body["lines"]
    return line_intake.member_lines(_me(), claim_id, lambda: line_intake.json_lines(items))


@blp.route("/claims/<int:claim_id>/answer", methods=["POST"])
@blp.member_required
@blp.arguments(AnswerSchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def answer(body, claim_id):
    """Answer a reviewer's request for more information (upload the documents first)."""
    return services.answer(_me(), claim_id, body["message"])


@blp.route("/claims/<int:claim_id>/human-review", methods=["POST"])
@blp.member_required
@blp.arguments(HumanReviewSchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def human_review(body, claim_id):
    """Ask a person to review an automatic denial (个人信息保护法第二十四条)."""
    return services.request_human_review(_me(), claim_id, body["reason"])


@blp.route("/claims/<int:claim_id>/recheck", methods=["POST"])
@blp.member_required
@blp.arguments(RecheckRequestSchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def recheck(body, claim_id):
    """Ask for 复核 of a reviewer's rejection: once, within CLAIM_RECHECK_DAYS of the decision;
    a reviewer other than the one who rejected decides it (approve pays, uphold is final)."""
    return services.request_recheck(_me(), claim_id, body["reason"])


@blp.route("/claims/<int:claim_id>/payee", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.arguments(PayeeCorrectionSchema)
@blp.response(200, ClaimSchema)
@blp.errors(404, 409, 422)
def correct_payee(body, claim_id):
    """Correct the payee after the bank refused a transfer (same payee rules as a new claim; an
    account refused on this claim is not accepted again). An approved claim is paid at once to
    the new account; one sent back to review is paid when the reviewer approves it.
    Requires an Idempotency-Key header."""
    return services.member_correct_payee(_me(), claim_id, body["payee"])


def _file(doc, data: bytes) -> Response:
    ext = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        doc.media_type, "bin"
    )
    # A PDF opened in the browser runs in a sandbox: no scripts, no forms, no same origin.
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


# --- reviewers ------------------------------------------------------------------------------------


@blp.route("/staff/claims", methods=["GET"])
@blp.staff_required("reviewer", "operator")
@blp.arguments(QueueQuerySchema, location="query")
@blp.response(200, StaffClaimSummarySchema(many=True))
def claim_queue(query):
    """The review queue (default: pending review), filterable by assignment, flag and kind of
    care; keyset pagination with before_id."""
    return services.queue(current_principal(), **query)


@blp.route("/staff/claims/<int:claim_id>", methods=["GET"])
@blp.staff_required("reviewer", "operator")
@blp.response(200, StaffClaimSchema)
@blp.errors(404)
def staff_claim(claim_id):
    """A claim with its flags, documents and engine result (the read is audited)."""
    return services.staff_get(current_principal(), claim_id)


@blp.route("/staff/claims/<int:claim_id>/assign", methods=["POST"])
@blp.staff_required("reviewer", "operator")
@blp.arguments(AssignSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 422)
def assign(body, claim_id):
    """Take a claim (reviewer) or give it to a reviewer (operator); a claim in 复核 never to the
    reviewer who rejected it."""
    return services.assign(current_principal(), claim_id, body.get("staff_id"))


@blp.route("/staff/claims/<int:claim_id>/approve", methods=["POST"])
@blp.staff_required("reviewer")
@blp.idempotent
@blp.arguments(ClaimApproveSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 409, 422)
def approve(body, claim_id):
    """Approve at the engine's figure (re-run against the accumulators as they are now) and pay;
    a claim in 复核 only by a reviewer other than the one who rejected it. With
    `expected_payable_fen` (the figure the reviewer saw), a re-run that pays another amount
    (another claim of the person-year settled since) is refused: 409 claim_payable_changed,
    the new figure in `errors.payable.current_fen`, nothing changed.
    Requires an Idempotency-Key header."""
    return services.approve(
        current_principal(), claim_id, body["reason"], body["expected_payable_fen"]
    )


@blp.route("/staff/claims/<int:claim_id>/payee", methods=["POST"])
@blp.staff_required("reviewer")
@blp.idempotent
@blp.arguments(PayeeCorrectionSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 409, 422)
def staff_correct_payee(body, claim_id):
    """Correct the payee of a claim assigned to the caller after a refused transfer (audited;
    the member's account details as they gave them). Requires an Idempotency-Key header."""
    return services.staff_correct_payee(current_principal(), claim_id, body["payee"])


@blp.route("/staff/claims/<int:claim_id>/reject", methods=["POST"])
@blp.staff_required("reviewer")
@blp.arguments(RejectSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 409, 422)
def reject(body, claim_id):
    """Reject with a reason code and a reason the member will read; on a claim in 复核 this
    upholds the rejection (final), only by a reviewer other than the one who rejected it."""
    return services.reject(current_principal(), claim_id, body["reason_code"], body["reason"])


@blp.route("/staff/claims/<int:claim_id>/request-info", methods=["POST"])
@blp.staff_required("reviewer")
@blp.arguments(InfoRequestCreateSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 409, 422)
def request_info(body, claim_id):
    """Ask the member for more (a message and the document types wanted)."""
    return services.request_info(current_principal(), claim_id, body["message"], body["documents"])


@blp.route("/staff/claims/<int:claim_id>/health-determination", methods=["POST"])
@blp.staff_required("reviewer")
@blp.arguments(RedetermineSchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(403, 404, 409, 422)
def redetermine(body, claim_id):
    """Override the pre-existing determination; the engine re-runs."""
    return services.redetermine(current_principal(), claim_id, body["health"], body["reason"])


@blp.route("/staff/claims/<int:claim_id>/documents/<int:document_id>", methods=["GET"])
@blp.staff_required("reviewer")
@blp.response(200, content_type="application/octet-stream", description="材料原件（已清洗）")
@blp.errors(404, 503)
def staff_document(claim_id, document_id):
    """A document of a claim assigned to the caller (audited)."""
    doc, data = services.staff_document(current_principal(), claim_id, document_id)
    return _file(doc, data)


@blp.route("/staff/claims/<int:claim_id>/lines", methods=["PUT"])
@blp.staff_required("reviewer")
@blp.arguments(StaffLinesBodySchema)
@blp.response(200, StaffClaimSchema)
@blp.errors(404, 409, 422)
def staff_put_lines(body, claim_id):
    """Enter or correct the itemised lines of a claim assigned to the caller (e.g. one held with
    fee_details_inconsistent); they must add up to the claim's amounts. The claim is
    re-adjudicated at once; audited with the reason."""
    items = body["lines"]
    return line_intake.staff_lines(
        current_principal(), claim_id, lambda: line_intake.json_lines(items), body["reason"]
    )
