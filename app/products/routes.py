"""Public product pages: what is on sale, its benefits, and its terms (no login needed)."""

from __future__ import annotations

from dataclasses import asdict

from werkzeug.routing import BaseConverter

from app.api import Blueprint
from app.common.clock import today_shanghai
from app.error_catalogue import E
from app.products import services
from app.products.models import ProductStatus
from app.products.plan_years import cover_period
from app.products.schemas import ProductSchema, ProductTermsSchema

blp = Blueprint("products", __name__, url_prefix="/products", description="产品 Products")

PRODUCT_CODE_REGEX = "[a-z0-9-]{1,40}"


class ProductCodeConverter(BaseConverter):
    """`<product_code:code>`: a product code, so anything else is a 404 before any query."""

    regex = PRODUCT_CODE_REGEX


def register_converters(app, api) -> None:
    """Call before registering the blueprint (the spec documents the pattern)."""
    app.url_map.converters["product_code"] = ProductCodeConverter
    api.register_converter(
        ProductCodeConverter,
        lambda _c: {
            "type": "string",
            "pattern": f"^{PRODUCT_CODE_REGEX}$",
            "example": "ganzhou-demo-2026",
        },
    )


def _view(product) -> dict:
    defn = services.definition_of(product)
    bounds = asdict(defn.bounds)
    return {
        "code": product.code,
        "name": product.name,
        "status": product.status,
        "plan_year": product.plan_year,
        "region_prefix": product.region_prefix,
        "window": {
            "opens": defn.window_opens,
            "closes": defn.window_closes,
            "open_now": product.status == ProductStatus.PUBLISHED
            and defn.window_open_on(today_shanghai()),
        },
        "coverage": {
            "starts": defn.coverage_starts,
            "ends": defn.coverage_ends,
            "late_enrollment_waiting_days": defn.late_enrollment_waiting_days,
            "cover_start_rule": defn.cover_start_rule,
            "starts_if_paid_today": cover_period(defn, today_shanghai())[0],
            "renews": defn.renews,
        },
        "premium": {"default_fen": defn.premium_default_fen, "rules": defn.premium_rules},
        "insured_relations": defn.insured_relations,
        "payment_methods": defn.payment_methods,
        "family_pool_relations": defn.family_pool_relations,
        "refund": defn.refund,
        "terms_version": defn.terms.version,
        "terms_title": defn.terms.title,
        "buckets": defn.buckets,
        "required_documents": {k: list(v) for k, v in defn.required_documents.items()},
        "class_one_chronic_conditions": defn.class_one_chronic_conditions,
        "bounds": bounds if any(v is not None for v in bounds.values()) else None,
    }


@blp.route("", methods=["GET"])
@blp.response(200, ProductSchema(many=True))
def list_products():
    """Published products, newest plan year first."""
    return [_view(p) for p in services.list_products()]


@blp.route("/current", methods=["GET"])
@blp.response(200, ProductSchema)
@blp.errors(404)
def current_product():
    """The product a member is offered today (Asia/Shanghai): of the plan years on sale, the
    latest (GET /products lists every one, with `window.open_now`); 404 when none is."""
    product = services.current_product(today_shanghai())
    if product is None:
        raise E.product_not_found()
    return _view(product)


@blp.route("/<product_code:code>", methods=["GET"])
@blp.response(200, ProductSchema)
@blp.errors(404)
def get_product(code):
    """One product by code: window, premium, benefit buckets, required claim documents."""
    return _view(services.get_product(code))


@blp.route("/<product_code:code>/terms", methods=["GET"])
@blp.response(200, ProductTermsSchema)
@blp.errors(404)
def get_terms(code):
    """The product's current terms (Markdown), with the version and digest a member agrees to."""
    product = services.get_product(code)
    terms = services.current_terms(product)
    return {
        "product_code": product.code,
        "version": terms.version,
        "title": terms.title,
        "text": terms.text,
        "sha256": terms.sha256,
        "published_at": terms.published_at,
    }
