"""Policies of the member and relatives, certificates, surrender; public certificate check."""

from __future__ import annotations

from flask import Response

from app.api import Blueprint
from app.auth.principal import current_principal
from app.error_catalogue import E
from app.errors import NotFound
from app.identity.idnumber import mask
from app.identity.services import decrypt_id_number
from app.members.schemas import RELATION_LABELS
from app.payments.surrender import surrender
from app.policies import schemas, services
from app.policies.schemas import (
    CertificateSchema,
    PolicyQuerySchema,
    PolicySchema,
    PublicCertificateSchema,
    SurrenderResultSchema,
    VerifyQuerySchema,
)

blp = Blueprint("policies", __name__, description="保单与电子凭证 Policies and certificates")


@blp.route("/policies", methods=["GET"])
@blp.member_required
@blp.arguments(PolicyQuerySchema, location="query")
@blp.response(200, PolicySchema(many=True))
def list_policies(query):
    """Policies where the member is the insured person, and those the member paid for."""
    return services.list_policies(current_principal().id, query.get("plan_year"))


@blp.route("/policies/<int:policy_id>", methods=["GET"])
@blp.member_required
@blp.response(200, PolicySchema)
@blp.errors(404)
def get_policy(policy_id):
    """One policy."""
    return services.get_policy(current_principal().id, policy_id)


@blp.route("/policies/<int:policy_id>/certificate", methods=["GET"])
@blp.member_required
@blp.response(200, CertificateSchema)
@blp.errors(404)
def get_certificate(policy_id):
    """The electronic certificate as data, with the signed verification link in its QR code."""
    data = services.certificate_data(current_principal().id, policy_id)
    relation = (
        "本人" if data.relation == "self" else RELATION_LABELS.get(data.relation, data.relation)
    )
    return {
        "policy": data.policy,
        "product_name": data.product_name,
        "insured_id_number_masked": mask(decrypt_id_number(data.person)),
        "relation": relation,
        "verify_url": data.verify_url,
        "png_url": f"/policies/{policy_id}/certificate.png",
    }


@blp.route("/policies/<int:policy_id>/certificate.png", methods=["GET"])
@blp.member_required
@blp.response(200, content_type="image/png", description="电子保险凭证 PNG")
@blp.errors(404)
def get_certificate_png(policy_id):
    """The electronic certificate as a PNG image with a verifiable QR code."""
    png = services.certificate_png(current_principal().id, policy_id)
    return Response(
        png,
        mimetype="image/png",
        headers={"Content-Disposition": f'inline; filename="policy-{policy_id}.png"'},
    )


@blp.route("/policies/<int:policy_id>/surrender", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.response(200, SurrenderResultSchema)
@blp.errors(404, 409, 422)
def surrender_policy(policy_id):
    """退保 within the product's refund rule: each funding source is refunded and the policy
    becomes void. Requires an Idempotency-Key header."""
    policy = surrender(current_principal().id, policy_id)
    return {"policy": policy, "refunds": services.refunds_of(policy)}


@blp.route("/policies/<int:policy_id>/policy.pdf", methods=["GET"])
@blp.member_required
@blp.response(200, content_type="application/pdf", description="电子保单 PDF（中文，字体内嵌）")
@blp.errors(404)
def get_policy_pdf(policy_id):
    """The electronic policy (电子保单) as a PDF in Chinese: the insured person and policyholder
    masked, the benefits from the product definition, the issuer and the verification QR code.
    The font ships with the project and is embedded, so it reads on any host."""
    pdf = services.policy_pdf(current_principal().id, policy_id)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="policy-{policy_id}.pdf"'},
    )


# The verification URL also answers browsers with a page (app/web/public.py): both bodies of
# the 200 are documented; a 404 is problem+json for programs and a "cannot verify" page for
# browsers (the error's ref documents the problem+json one).
_HTML_DOC = {
    "responses": {
        "200": {
            "description": "JSON for programs; a Chinese HTML page for browsers",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PublicCertificate"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
    }
}


@blp.route("/public/certificates/verify", methods=["GET"])
@blp.arguments(VerifyQuerySchema, location="query")
@blp.response(200, PublicCertificateSchema)
@blp.errors(404)
@blp.doc(**_HTML_DOC)
def verify_certificate(query):
    """Public check of a certificate QR code: masked name, product, period, live status and a
    verdict (有效 / 未生效 / 已过期 / 已终止) on today's date. `valid` is true only while the
    policy gives cover today. Content negotiation: a browser (Accept preferring text/html)
    gets a Chinese page; `Accept: application/json` (or no preference) gets JSON."""
    from app.web.public import certificate_page, wants_html

    html = wants_html()
    token = query.get("token", "")
    if not 1 <= len(token) <= schemas.TOKEN_MAX:
        if html:
            return certificate_page(None)
        raise E.validation_failed(
            errors={"query": {"token": [f"应为 1 到 {schemas.TOKEN_MAX} 个字符"]}}
        )
    try:
        found = services.verify_certificate(token)
    except NotFound:
        if html:
            return certificate_page(None)
        raise
    if html:
        return certificate_page(found)
    policy = found.policy
    return {
        "valid": found.valid,
        "verdict": found.verdict,
        "verdict_label": found.verdict_label,
        "checked_on": found.checked_on,
        "policy_no": policy.policy_no,
        "insured_name_masked": found.insured_name_masked,
        "product_name": found.product_name,
        "plan_year": policy.plan_year,
        "coverage_start": policy.coverage_start,
        "coverage_end": policy.coverage_end,
        "status": policy.status,
        "status_label": services.STATUS_LABELS[policy.status],
    }
