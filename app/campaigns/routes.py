"""Invite campaigns: organisation admins create and revoke them and fetch the QR code; anyone
previews one from its link; a logged-in, verified resident redeems it for themselves."""

from __future__ import annotations

from flask import Response

from app.api import Blueprint
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import current_principal
from app.campaigns import services
from app.campaigns.schemas import (
    TOKEN_MAX,
    CampaignCreateSchema,
    CampaignPreviewSchema,
    CampaignQuerySchema,
    CampaignSchema,
    PreviewQuerySchema,
    RedeemSchema,
    RedemptionSchema,
    eligibility_view,
)
from app.error_catalogue import E
from app.errors import DomainError

blp = Blueprint("campaigns", __name__, description="邀请活动 Invite campaigns")

FUNDING_TEXT = "由{org}全额资助保费，本人无需付费"


@blp.route("/staff/campaigns", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(CampaignCreateSchema)
@blp.response(201, CampaignSchema)
@blp.errors(404, 409, 422)
def create_campaign(body):
    """Create an invite campaign on one of the caller's organisation's full-premium programmes:
    a quota of people, an expiry date, optional eligibility rules."""
    return services.create_campaign(current_principal(), **body)


@blp.route("/staff/campaigns", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(CampaignQuerySchema, location="query")
@blp.response(200, CampaignSchema(many=True))
def list_campaigns(query):
    """The caller's organisation's campaigns, newest first (at most 100)."""
    return services.list_campaigns(current_principal(), **query)


@blp.route("/staff/campaigns/<int:campaign_id>", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, CampaignSchema)
@blp.errors(404)
def read_campaign(campaign_id):
    """One of the caller's organisation's campaigns, with its signed link and places left."""
    return services.get_campaign(current_principal(), campaign_id)


@blp.route("/staff/campaigns/<int:campaign_id>/qr.png", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, content_type="image/png", description="邀请二维码 PNG")
@blp.errors(404)
def campaign_qr(campaign_id):
    """The campaign's QR code (PNG) encoding its signed link, to print or share."""
    png = services.qr_png(current_principal(), campaign_id)
    return Response(
        png,
        mimetype="image/png",
        headers={"Content-Disposition": f'inline; filename="campaign-{campaign_id}.png"'},
    )


@blp.route("/staff/campaigns/<int:campaign_id>/revoke", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, CampaignSchema)
@blp.errors(404)
def revoke_campaign(campaign_id):
    """Revoke the campaign: its link and every printed QR code stop working at once (people
    already enrolled keep their policies). Revoking again changes nothing."""
    return services.revoke(current_principal(), campaign_id)


# The invitation link also answers browsers with a page (app/web/public.py), as the
# certificate's verification link does: both bodies of the 200 are documented; a refusal is
# problem+json for programs and a page saying why for browsers.
_HTML_DOC = {
    "responses": {
        "200": {
            "description": "JSON for programs; a Chinese HTML page for browsers",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CampaignPreview"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
    }
}


@blp.route(services.PREVIEW_PATH, methods=["GET"])
@blp.arguments(PreviewQuerySchema, location="query")
@blp.response(200, CampaignPreviewSchema)
@blp.errors(404, 409, 410)
@blp.doc(**_HTML_DOC)
def preview_campaign(query):
    """Public: what a campaign link offers (organisation, product, what it pays, expiry, places
    left, who may join). Nothing personal. This is the link the QR code encodes. Content
    negotiation: a browser (Accept preferring text/html: a phone's camera or browser that
    scanned the poster) gets a Chinese page saying what to do next; `Accept: application/json`
    (or no preference: the mini-program) gets JSON."""
    from app.web.public import campaign_page, campaign_refused_page, wants_html

    html = wants_html()
    token = query.get("token", "")
    if not 1 <= len(token) <= TOKEN_MAX:
        if html:
            return campaign_refused_page(E.campaign_link_invalid(services.LINK_INVALID))
        raise E.validation_failed(errors={"query": {"token": [f"应为 1 到 {TOKEN_MAX} 个字符"]}})
    try:
        found = services.preview(token)
    except DomainError as exc:
        if html:
            return campaign_refused_page(exc)
        raise
    campaign = found.campaign
    view = {
        "campaign_name": campaign.name,
        "organisation_name": campaign.organisation.name,
        "organisation_kind": campaign.organisation.kind,
        "product_name": found.product_name,
        "plan_year": campaign.programme.plan_year,
        "pays": FUNDING_TEXT.format(org=campaign.organisation.name),
        "premium_fen_max": found.premium_fen_max,
        "coverage_start": found.coverage_start,
        "coverage_end": found.coverage_end,
        "expires_on": campaign.expires_on,
        "places_left": services.places_left(campaign),
        "eligibility": eligibility_view(campaign),
    }
    if html:
        return campaign_page(view, services.eligibility_lines(campaign))
    return view, 200, {"Vary": "Accept"}


@blp.route("/me/campaign-redemptions", methods=["POST"])
@blp.member_required
@blp.idempotent
@blp.arguments(RedeemSchema)
@blp.response(201, RedemptionSchema)
@blp.alt_response(
    200,
    schema=RedemptionSchema,
    description="Already redeemed by this person: the same policy again",
)
@blp.errors(404, 409, 410, 422, 429, 503)
def redeem_campaign(body):
    """Redeem a campaign link for oneself, or with `relative_id` for one of one's verified
    relatives (verified identity required; re-verified with the bureau when stale): if the person
    fits the campaign and the product, enrolled at once at the sponsor's cost, the member as
    policy holder. Scanning again
    answers 200 with the same policy; once that policy was surrendered, 409
    `campaign_redemption_surrendered` (its place went back to the campaign, and the person may
    enroll the ordinary way). Requires an Idempotency-Key header."""
    result = services.redeem(
        current_principal().id,
        body["token"],
        terms_version=body["terms"]["version"],
        terms_accepted=body["terms"]["accepted"],
        relative_id=body["relative_id"],
    )
    answer = {
        "created": result.created,
        "campaign_name": result.campaign.name,
        "organisation_name": result.campaign.organisation.name,
        "order_id": result.order.id,
        "order_no": result.order.order_no,
        "policy": result.policy,
    }
    return answer, (201 if result.created else 200)
