"""The member's own account: /me, identity verification, relatives; consents, withdrawal,
unbinding and closure (docs/privacy.md)."""

from __future__ import annotations

from app.api import Blueprint
from app.auth.principal import current_principal
from app.common.schemas import ConsentSchema
from app.members import closure, privacy, services
from app.members.schemas import (
    AddRelativeSchema,
    CloseAccountSchema,
    ClosureSchema,
    ConsentOverviewSchema,
    MemberProfileSchema,
    RelativeSchema,
    VerifyIdentitySchema,
)

blp = Blueprint(
    "members", __name__, url_prefix="/me", description="本人与家属 Member and relatives"
)


def _consent(body: dict, key: str = "consent") -> services.ConsentInput | None:
    raw = body.get(key)
    return services.ConsentInput(raw["accepted"], raw["text_version"]) if raw else None


@blp.route("", methods=["GET"])
@blp.member_required
@blp.response(200, MemberProfileSchema)
@blp.errors(404)
def get_profile():
    """The member's account and verified identity (ID number masked)."""
    return services.get_member(current_principal().id)


@blp.route("/identity", methods=["POST"])
@blp.member_required
@blp.arguments(VerifyIdentitySchema)
@blp.response(200, MemberProfileSchema)
@blp.errors(404, 409, 422, 429, 503)
def verify_identity(body):
    """Verify the member's own basic medical-insurance identity with the bureau (1101).
    Requires a separate consent (PIPL). A wrong name and an unknown ID get the same answer."""
    return services.verify_self(
        current_principal().id, body["name"], body["id_number"], _consent(body)
    )


@blp.route("/identity/refresh", methods=["POST"])
@blp.member_required
@blp.response(200, MemberProfileSchema)
@blp.errors(422, 429, 503)
def refresh_identity():
    """Re-verify with the bureau when the stored verification is stale."""
    return services.refresh_self(current_principal().id)


@blp.route("/identity", methods=["DELETE"])
@blp.member_required
@blp.response(200, MemberProfileSchema)
@blp.errors(404, 409, 422)
def unbind_identity():
    """Unbind the member's own identity (bound by mistake). Refused with 409
    identity_unbind_blocked, `errors.blockers` saying what rests on it (orders, policies,
    claims, sponsorships); a person nobody else holds is erased."""
    return closure.unbind_identity(current_principal().id)


@blp.route("/consents", methods=["GET"])
@blp.member_required
@blp.response(200, ConsentOverviewSchema)
@blp.errors(404)
def list_consents():
    """Every consent the member gave (which text version, when), the product terms agreed with
    each order, renewal consents, and what withdrawing means."""
    return privacy.overview(current_principal().id)


@blp.route("/consents", methods=["POST"])
@blp.member_required
@blp.arguments(ConsentSchema)
@blp.response(200, ConsentOverviewSchema)
@blp.errors(404, 409, 422)
def grant_consent(body):
    """Consent again to the processing of personal information after a withdrawal."""
    return privacy.grant_again(current_principal().id, body["accepted"], body["text_version"])


@blp.route("/consents/withdrawal", methods=["POST"])
@blp.member_required
@blp.response(200, ConsentOverviewSchema)
@blp.errors(404, 409)
def withdraw_consent():
    """Withdraw the consent to the processing of personal information (PIPL art. 15): nothing new
    is processed until the member consents again; what exists stays (see `withdrawal`)."""
    return privacy.withdraw(current_principal().id)


@blp.route("/closure", methods=["GET"])
@blp.member_required
@blp.response(200, ClosureSchema)
@blp.errors(404)
def closure_preview():
    """Whether the account can be closed (注销) now, what blocks it, what closing erases and
    what is kept by law, and until when."""
    return closure.closure_preview(current_principal().id)


@blp.route("/closure", methods=["POST"])
@blp.member_required
@blp.arguments(CloseAccountSchema)
@blp.response(200, ClosureSchema)
@blp.errors(404, 409, 422)
def close_account(body):
    """Close the account (注销). Refused with 409 account_closure_blocked, `errors.blockers`
    listing what is outstanding. The tokens are revoked with the account, so a repeated request
    with them is 401 refresh_token_revoked."""
    return closure.close_account(current_principal().id)


@blp.route("/relatives", methods=["GET"])
@blp.member_required
@blp.response(200, RelativeSchema(many=True))
def list_relatives():
    """The member's relatives (only their own)."""
    return services.list_relatives(current_principal().id)


@blp.route("/relatives", methods=["POST"])
@blp.member_required
@blp.arguments(AddRelativeSchema)
@blp.response(201, RelativeSchema)
@blp.errors(404, 409, 422, 429, 503)
def add_relative(body):
    """Add a relative, verified with the bureau. Under 14 needs a guardian consent. The relation
    must fit the two birth dates (422 relation_age_implausible: a parent at least 12 years older
    than the member, a child at least 12 younger, a grandparent or grandchild 24; 422
    relation_invalid: a spouse below the legal age of marriage), one spouse at a time (409
    spouse_already_added), one relation per person (409 relative_exists); refused before the
    bureau is asked, nothing written."""
    return services.add_relative(
        current_principal().id,
        name=body["name"],
        id_number_raw=body["id_number"],
        relation=body["relation"],
        consent=_consent(body),
        guardian_consent=_consent(body, "guardian_consent"),
    )


@blp.route("/relatives/<int:relative_id>", methods=["GET"])
@blp.member_required
@blp.response(200, RelativeSchema)
@blp.errors(404)
def get_relative(relative_id):
    """One of the member's relatives."""
    return services.get_relative(current_principal().id, relative_id)


@blp.route("/relatives/<int:relative_id>", methods=["DELETE"])
@blp.member_required
@blp.response(204)
@blp.errors(404)
def remove_relative(relative_id):
    """Remove a relative from the member's list (the shared person record stays)."""
    services.remove_relative(current_principal().id, relative_id)
