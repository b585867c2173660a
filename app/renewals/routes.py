"""Renewal (续保): the member's consents and outcomes; the operator's renewal runs."""

from __future__ import annotations

from flask import current_app

from app.api import Blueprint
from app.auth.principal import current_principal
from app.renewals import runs, services
from app.renewals.models import OutcomeStatus
from app.renewals.schemas import (
    MemberRenewalsSchema,
    RenewalConsentCreateSchema,
    RenewalConsentSchema,
    RenewalRunCreateSchema,
    RenewalRunReportSchema,
    RenewalRunSchema,
)

blp = Blueprint("renewals", __name__, description="续保 Renewal")


def outcome_view(outcome, plan_year: int) -> dict:
    return {
        **{
            c: getattr(outcome, c)
            for c in (
                "id",
                "run_id",
                "person_id",
                "status",
                "reason_code",
                "message",
                "from_policy_id",
                "order_id",
                "policy_id",
                "processed_at",
            )
        },
        "plan_year": plan_year,
        "status_label": services.OUTCOME_LABELS[OutcomeStatus(outcome.status)],
    }


def _plan_year(outcome) -> int:
    from app.products.services import get_product_by_id

    return get_product_by_id(outcome.product_id).plan_year


def run_view(run, with_outcomes: bool = False) -> dict:
    view = {
        **{
            c: getattr(run, c)
            for c in (
                "id",
                "product_id",
                "from_product_id",
                "plan_year",
                "status",
                "total",
                "processed",
                "runs",
                "error_code",
                "created_at",
                "heartbeat_at",
                "finished_at",
            )
        },
        "counts": runs.run_counts(run.id),
    }
    if with_outcomes:
        view["outcomes"] = [outcome_view(o, run.plan_year) for o in runs.run_outcomes(run.id)]
    return view


@blp.route("/renewals", methods=["GET"])
@blp.member_required
@blp.response(200, MemberRenewalsSchema)
def my_renewals():
    """The member's renewal consents (active and revoked) and what each renewal run did."""
    consents, outcomes = services.member_renewals(current_principal().id)
    return {
        "consent_text_version": current_app.config["RENEWAL_CONSENT_VERSION"],
        "consents": consents,
        "outcomes": [outcome_view(o, _plan_year(o)) for o in outcomes],
    }


@blp.route("/renewals/consents", methods=["POST"])
@blp.member_required
@blp.arguments(RenewalConsentCreateSchema)
@blp.response(201, RenewalConsentSchema)
@blp.errors(404, 409, 422)
def consent(body):
    """Consent to renew the person insured by one of the member's policies (paid by the member)
    each plan year; `auto_debit` pays from the member's personal account. Replaces an earlier
    consent for the same person."""
    return services.consent_for_policy(
        current_principal().id,
        body["policy_id"],
        auto_debit=body["auto_debit"],
        version=body["consent"]["version"],
        accepted=body["consent"]["accepted"],
    )


@blp.route("/renewals/consents/<int:consent_id>/revoke", methods=["POST"])
@blp.member_required
@blp.response(200, RenewalConsentSchema)
@blp.errors(404)
def revoke(consent_id):
    """Opt out of renewal (退出续保). Revoking twice is harmless."""
    return services.revoke(current_principal().id, consent_id)


@blp.route("/staff/renewal-runs", methods=["POST"])
@blp.staff_required("operator")
@blp.idempotent
@blp.arguments(RenewalRunCreateSchema)
@blp.response(201, RenewalRunReportSchema)
@blp.errors(404, 409, 422)
def start_run(body):
    """Renew every consenting member of the previous plan year into this product (on sale now):
    re-verify, then debit the personal account or notify the member to pay. Runs at once;
    returns the report. Requires an Idempotency-Key header."""
    run = runs.start_run(body["product_code"], current_principal())
    return run_view(run, with_outcomes=True)


@blp.route("/staff/renewal-runs", methods=["GET"])
@blp.staff_required("operator")
@blp.response(200, RenewalRunSchema(many=True))
def list_runs():
    """Renewal runs, newest first (at most 50)."""
    return [run_view(r) for r in runs.list_runs()]


@blp.route("/staff/renewal-runs/<int:run_id>", methods=["GET"])
@blp.staff_required("operator")
@blp.response(200, RenewalRunReportSchema)
@blp.errors(404)
def read_run(run_id):
    """A run's report: progress, counts by outcome, and each outcome (names masked)."""
    return run_view(runs.report_run(run_id), with_outcomes=True)


@blp.route("/staff/renewal-runs/<int:run_id>/resume", methods=["POST"])
@blp.staff_required("operator")
@blp.response(200, RenewalRunReportSchema)
@blp.errors(404, 409)
def resume_run(run_id):
    """Take up a run that stopped (failed) or whose runner died, where it stopped."""
    return run_view(runs.resume(run_id, current_principal()), with_outcomes=True)
