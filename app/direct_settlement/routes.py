"""The hospitals' API (一站式结算): each request signed by a registered institution (not member
or staff auth: see services.authenticate); and the operator's reconciliation reports."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from app.api import Blueprint
from app.direct_settlement import reports, services
from app.direct_settlement.schemas import (
    ConfirmRequestSchema,
    DirectSettlementSchema,
    ReconcileRequestSchema,
    ReconciliationQuerySchema,
    ReconciliationSchema,
    SettlementNumberSchema,
    TrialRequestSchema,
    TrialSchema,
)

blp = Blueprint(
    "direct_settlement", __name__, description="一站式结算 Direct settlement (hospitals)"
)

P = "/direct-settlement/v1"


def signed(func):
    """The caller must be a registered institution signing this very request (401/409)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        g.institution = services.authenticate(
            request.method, request.path, request.headers, request.get_data(cache=True)
        )
        return func(*args, **kwargs)

    wrapper = blp.doc(security=[{"institutionSignature": []}])(wrapper)
    return blp.errors(401, 409)(wrapper)


@blp.route(P + "/trial", methods=["POST"])
@signed
@blp.arguments(TrialRequestSchema)
@blp.response(200, TrialSchema)
@blp.errors(403, 404, 422, 503)
def trial(body):
    """预结算: what 惠民保 pays on the settled stay; nothing moves."""
    return services.trial(g.institution, body)


@blp.route(P + "/confirm", methods=["POST"])
@signed
@blp.arguments(ConfirmRequestSchema)
@blp.response(200, DirectSettlementSchema)
@blp.errors(404, 422)
def confirm(body):
    """结算: confirm a trial under the hospital's settlement number (idempotent by it)."""
    return services.confirm(g.institution, body["trial_no"], body["setl_sn"])


@blp.route(P + "/cancel", methods=["POST"])
@signed
@blp.arguments(SettlementNumberSchema)
@blp.response(200, DirectSettlementSchema)
@blp.errors(404, 422)
def cancel(body):
    """撤销: reverse a confirmed settlement (a cancelled one answers again)."""
    return services.cancel(g.institution, body["setl_sn"])


@blp.route(P + "/query", methods=["POST"])
@signed
@blp.arguments(SettlementNumberSchema)
@blp.response(200, DirectSettlementSchema)
@blp.errors(404, 422)
def query(body):
    """查询: one of this hospital's settlements by its settlement number."""
    return services.query(g.institution, body["setl_sn"])


@blp.route(P + "/reconciliation", methods=["POST"])
@signed
@blp.arguments(ReconcileRequestSchema)
@blp.response(200, ReconciliationSchema)
@blp.errors(422)
def reconcile(body):
    """对账: the hospital's count and sum for a day (optionally each settlement) against ours."""
    return reports.reconcile(
        g.institution.id, body["day"], body["count"], body["sum_fen"], body["items"]
    )


@blp.route("/staff/direct-settlement/reconciliations", methods=["GET"])
@blp.staff_required("operator", "admin")
@blp.arguments(ReconciliationQuerySchema, location="query")
@blp.response(200, ReconciliationSchema(many=True))
@blp.errors(422)
def reconciliations(query):
    """The latest reconciliation reports, newest first; one day's, mismatched only, on request."""
    return reports.reconciliations(
        day=query.get("day"), mismatched_only=query["mismatched_only"], limit=query["limit"]
    )
