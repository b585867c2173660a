"""The member's own account: /me, identity verification, relatives."""

from __future__ import annotations

from app.api import Blueprint
from app.auth.principal import current_principal
from app.members import services
from app.members.schemas import (
    AddRelativeSchema,
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
    """Add a relative, verified with the bureau. Under 14 needs a guardian consent."""
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
