"""Quotes and orders for the member and their relatives, and paying for an order."""

from __future__ import annotations

from flask import current_app, jsonify, url_for

from app.api import Blueprint
from app.auth.principal import current_principal
from app.common import idempotency
from app.enrollment import services
from app.enrollment.schemas import (
    CreateOrderSchema,
    OrderSchema,
    QuoteSchema,
    SelectionSchema,
    quote_view,
)
from app.enrollment.statuses import PaymentStatus
from app.errors import DomainError, NotFound
from app.payments import progress
from app.payments import services as payments
from app.payments.schemas import (
    PaymentAcceptedSchema,
    PaymentStartResultSchema,
    SandboxPaymentResultSchema,
    StartPaymentSchema,
)
from app.renewals import services as renewals

# What a payment's retry finds when its first attempt got as far as starting the payment.
RESUMABLE = ("payment_in_progress", "order_already_paid")

blp = Blueprint("enrollment", __name__, description="投保与支付 Quotes, orders and payment")


def _selection(body) -> services.Selection:
    return services.Selection(body["include_self"], tuple(body["relative_ids"]))


@blp.route("/quotes", methods=["POST"])
@blp.member_required
@blp.arguments(SelectionSchema)
@blp.response(200, QuoteSchema)
@blp.errors(404, 422)
def create_quote(body):
    """Eligibility, premium, subsidies and amount to pay per insured person. No side effects."""
    _product, quote, names = services.get_quote(
        current_principal().id, body.get("product_code"), _selection(body)
    )
    return quote_view(quote, names)


@blp.route("/orders", methods=["POST"])
@blp.member_required
@blp.idempotent(mode=idempotency.UNIT)
@blp.arguments(CreateOrderSchema)
@blp.response(201, OrderSchema)
@blp.errors(404, 409, 422, 429, 503)
def create_order(body):
    """Create an order for self and relatives, recording the terms version agreed to (可回溯),
    and with `renewal`, the renewal consent for each of them. Requires an Idempotency-Key."""
    return renewals.create_order_with_consent(
        current_principal().id,
        body.get("renewal"),
        product_code=body.get("product_code"),
        selection=_selection(body),
        payment_method=body.get("payment_method"),
        terms_version=body["terms"]["version"],
        terms_accepted=body["terms"]["accepted"],
    )


@blp.route("/orders", methods=["GET"])
@blp.member_required
@blp.response(200, OrderSchema(many=True))
def list_orders():
    """The member's orders, newest first (at most 100)."""
    return services.list_orders(current_principal().id)


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.member_required
@blp.response(200, OrderSchema)
@blp.errors(404)
def get_order(order_id):
    """One of the member's orders."""
    return services.get_order(current_principal().id, order_id)


@blp.route("/orders/<int:order_id>/payments", methods=["POST"])
@blp.member_required
@blp.idempotent(mode=idempotency.FIRST_COMMIT)
@blp.arguments(StartPaymentSchema)
@blp.response(200, PaymentStartResultSchema)
@blp.alt_response(
    202,
    schema=PaymentAcceptedSchema,
    success=True,
    description="The outside system was called but the outcome is not recorded yet: poll",
    headers={"Location": {"description": "poll_url", "schema": {"type": "string"}}},
)
@blp.errors(404, 409, 422, 503)
def start_payment(body, order_id):
    """Pay an order from the personal account (家庭共济; settles at once, or `processing` if the
    bureau's answer is pending; 422 family_pool_relation_implausible for a relative whose
    relation breaks the relation rules, see POST /me/relatives) or start a WeChat Pay JSAPI
    payment (returns the parameters for wx.requestPayment). Requires an Idempotency-Key header.
    202 when the database failed after the bureau or WeChat Pay was called, or when a retry
    (same key) finds the payment its first attempt started before its worker died: the payment
    stays pending (reconciliation settles it) and `Location` is where to poll for its
    progress."""
    member_id = current_principal().id
    try:
        started = payments.start_payment(member_id, order_id, body["method"], _answer_paid)
    except DomainError as exc:
        # A retry whose first attempt died half-way (a killed worker) finds the payment that
        # attempt started: it answers with where that payment stands, not with a refusal.
        if not (idempotency.resumed() and exc.code in RESUMABLE):
            raise
        started = progress.resume_payment(member_id, order_id)
    if isinstance(started, payments.PaymentUnconfirmed):
        return _accepted(started)
    return _payment_view(started)


def _answer_paid(session, started: payments.PaymentStart) -> None:
    """The answer of a payment settled at once, recorded by the commit that settles it."""
    idempotency.record_answer(session, 200, PaymentStartResultSchema().dump(_payment_view(started)))


def _payment_view(started: payments.PaymentStart) -> dict:
    return {
        "state": started.state,
        "order": started.order,
        "payment": started.payment,
        "wechat_js_params": started.wechat_js_params,
    }


def _accepted(unconfirmed: payments.PaymentUnconfirmed):
    poll = url_for(
        "enrollment.payment_progress",
        order_id=unconfirmed.order_id,
        payment_id=unconfirmed.payment_id,
    )
    body = PaymentAcceptedSchema().dump(
        {
            "state": unconfirmed.state,
            "order_id": unconfirmed.order_id,
            "payment": {
                "id": unconfirmed.payment_id,
                "method": unconfirmed.method,
                "amount_fen": unconfirmed.amount_fen,
                "status": PaymentStatus.PENDING,
                "failure_code": None,
            },
            "wechat_js_params": unconfirmed.wechat_js_params,
            "poll_url": poll,
        }
    )
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = poll
    return response


@blp.route("/orders/<int:order_id>/payments/<int:payment_id>", methods=["GET"])
@blp.member_required
@blp.response(200, PaymentStartResultSchema)
@blp.errors(404)
def payment_progress(order_id, payment_id):
    """Where one of the order's payments stands (state paid, processing, awaiting_wechat or
    failed): what to poll after a 202 or a `processing` answer."""
    return _payment_view(progress.payment_progress(current_principal().id, order_id, payment_id))


@blp.route("/orders/<int:order_id>/sandbox-wechat-payment", methods=["POST"])
@blp.member_required
@blp.response(200, SandboxPaymentResultSchema)
@blp.errors(404, 409)
def sandbox_wechat_payment(order_id):
    """Sandbox only (refused with 404 otherwise): act as the member paying in WeChat and WeChat
    sending its signed, encrypted notification to our notify endpoint's verification code."""
    if current_app.config["WECHATPAY_ADAPTER"] != "sandbox":
        raise NotFound()
    outcome = payments.sandbox_simulate_wechat_payment(current_principal().id, order_id)
    return {"outcome": outcome, "order": services.get_order(current_principal().id, order_id)}
