"""The value estimate, offered with the quote screen: the consent, its withdrawal, and the
estimate itself (/me/value-estimate)."""

from __future__ import annotations

from app.api import Blueprint
from app.auth.principal import current_principal
from app.estimates import services
from app.estimates.schemas import (
    EstimateConsentSchema,
    EstimateConsentStatusSchema,
    ValueEstimateSchema,
)

blp = Blueprint(
    "estimates",
    __name__,
    url_prefix="/me/value-estimate",
    description="去年能赔多少 Value estimate (what last year would have paid)",
)


@blp.route("/consent", methods=["GET"])
@blp.member_required
@blp.response(200, EstimateConsentStatusSchema)
def consent_status():
    """Whether the member's separate consent to the estimate is in force, and the text version
    the consent screen shows."""
    return services.consent_status(current_principal().id)


@blp.route("/consent", methods=["POST"])
@blp.member_required
@blp.arguments(EstimateConsentSchema)
@blp.response(200, EstimateConsentStatusSchema)
@blp.errors(403, 404, 422)
def grant_consent(body):
    """Record the separate consent to fetch last year's settlement records of the member and
    their verified relatives (audited)."""
    consent = body["consent"]
    return services.grant_consent(
        current_principal().id, consent["accepted"], consent["text_version"]
    )


@blp.route("/consent", methods=["DELETE"])
@blp.member_required
@blp.response(200, EstimateConsentStatusSchema)
@blp.errors(404, 409)
def withdraw_consent():
    """Withdraw the consent: no further estimate is computed until it is given again."""
    return services.withdraw_consent(current_principal().id)


@blp.route("", methods=["POST"])
@blp.member_required
@blp.response(200, ValueEstimateSchema)
@blp.errors(403, 404, 429, 503)
def value_estimate():
    """What last plan year's settlement records would have paid under the product on sale, for
    the member and each verified relative, had they been covered: a recomputation of the past
    under today's terms, not a promise. Nothing fetched is stored."""
    return services.value_estimate(current_principal().id)
