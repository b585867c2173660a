"""Huimin: the member backend of a city 惠民保 (city-customised supplementary medical insurance)."""

from __future__ import annotations

import logging

from flask import Flask
from flask_smorest.spec.plugins import integerconverter2paramschema
from sqlalchemy.orm import configure_mappers

from app import database, ratelimit
from app.api import Api, DatabaseIdConverter
from app.config import Config, load_config
from app.logging_setup import configure_logging
from app.proxy import TrustedProxyFix


def create_app(config: Config | str | None = None) -> Flask:
    """Build the application. `config` is a Config, a profile name, or None (HUIMIN_PROFILE).
    No database connection is opened here, so `flask openapi write` runs anywhere."""
    cfg = config if isinstance(config, Config) else load_config(config)
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(cfg.flask_settings())
    configure_logging(app)

    # The client's address from X-Forwarded-For, when the peer is a trusted proxy (app/proxy.py).
    app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, cfg.PROXY_HOPS, cfg.FORWARDED_ALLOW_IPS
    )
    database.init_app(app)
    ratelimit.init_app(app)
    # Every `<int:...>` in a path is a database id: 1 .. 2**31-1 (INTEGER on PostgreSQL), so an
    # out-of-range id is a plain 404 instead of an overflow in the database driver.
    app.url_map.converters["int"] = DatabaseIdConverter

    api_instance = Api()
    api_instance.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": "惠民保会员后端：微信登录、医保身份实时校验、家属管理等。"
                " Errors are RFC 9457 problem details with a stable `code` and a Chinese `detail`.",
            },
        },
    )
    api_instance.spec.components.security_scheme(
        "memberAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Member access token (WeChat login)",
        },
    )
    api_instance.spec.components.security_scheme(
        "staffAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Staff access token (staff login)",
        },
    )
    api_instance.spec.components.security_scheme(
        "institutionSignature",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "A designated hospital's SM2/SM3 request signature, with X-Inst-Key-Id, "
            "X-Timestamp and X-Nonce (docs/direct_settlement.md)",
        },
    )
    api_instance.spec.components.security_scheme(
        "metricsAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "The operator's METRICS_TOKEN (GET /metrics only)",
        },
    )
    app.extensions["huimin_api"] = api_instance
    api_instance.register_converter(DatabaseIdConverter, integerconverter2paramschema)

    from app.auth.routes import blp as auth_blp
    from app.campaigns.routes import blp as campaigns_blp
    from app.catalogues.routes import blp as catalogues_blp
    from app.claims.routes import blp as claims_blp
    from app.direct_settlement.routes import blp as direct_settlement_blp
    from app.disclosure.routes import blp as disclosure_blp
    from app.enrollment.routes import blp as enrollment_blp
    from app.estimates.routes import blp as estimates_blp
    from app.jobs.routes import blp as jobs_blp
    from app.members.routes import blp as members_blp
    from app.ops.routes import blp as ops_blp
    from app.payments.routes import blp as payments_blp
    from app.policies.routes import blp as policies_blp
    from app.products.routes import blp as products_blp
    from app.products.routes import register_converters as register_product_converters
    from app.renewals.routes import blp as renewals_blp
    from app.special_drugs.routes import blp as special_drugs_blp
    from app.sponsors.roster_routes import blp as rosters_blp
    from app.sponsors.routes import blp as sponsors_blp
    from app.staff.routes import blp as staff_blp

    register_product_converters(app, api_instance)
    for blp in (
        auth_blp,
        members_blp,
        products_blp,
        enrollment_blp,
        estimates_blp,
        payments_blp,
        policies_blp,
        staff_blp,
        sponsors_blp,
        ops_blp,
        claims_blp,
        campaigns_blp,
        rosters_blp,
        jobs_blp,
        disclosure_blp,
        catalogues_blp,
        special_drugs_blp,
        renewals_blp,
        direct_settlement_blp,
    ):
        api_instance.register_blueprint(blp)

    _register_hooks(app)

    # Pages (staff console, public pages): plain blueprints, not in the OpenAPI spec.
    from app.web import register_pages

    register_pages(app)

    # Request id, request log line and request metrics (app/ops/logs.py).
    from app import ops

    ops.init_app(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    if cfg.SERVE_SWAGGER_UI:
        from app.docs_assets import register_swagger_assets

        register_swagger_assets(app)

    from app.cli import register_cli

    register_cli(app)
    from app.jobs.cli import jobs_cli

    app.cli.add_command(jobs_cli)
    from app.renewals.cli import renewals_cli

    app.cli.add_command(renewals_cli)
    # The ORM's mappers configured now, once per process (a no-op after the first app): else
    # the first query does it, in every gunicorn worker forked from the preloaded master (about
    # 0.2 CPU-s each, seen as the first requests' latency after each start or recycle).
    configure_mappers()
    logging.getLogger(__name__).debug("app created", extra={"profile": cfg.PROFILE})
    return app


def _register_hooks(app: Flask) -> None:
    """Each capability's answers to the hook points another capability asks (app/common/hooks.py
    declares them); then check that none is left without one."""
    from app.campaigns.surrender import release_place
    from app.claims.recheck import open_rechecks
    from app.claims.services import claims_filed_on, claims_paid_on, fhir_claims
    from app.common import hooks
    from app.special_drugs.purchases import claim_lines_for, retake_for_claim
    from app.special_drugs.usage import hold_for_claim, terms_for
    from app.sponsors.services import programme_offers

    hooks.register(hooks.SUBSIDY_OFFERS, programme_offers, app=app)
    hooks.register(hooks.CLAIMS_FILED, claims_filed_on, app=app)
    hooks.register(hooks.CLAIMS_PAID, claims_paid_on, app=app)
    hooks.register(hooks.MEMBER_CLAIMS, fhir_claims, app=app)
    hooks.register(hooks.CLAIM_LINES, claim_lines_for, app=app)
    hooks.register(hooks.SPECIAL_DRUG_TERMS, terms_for, app=app)
    hooks.register(hooks.SPECIAL_DRUG_HOLD, hold_for_claim, app=app)
    hooks.register(hooks.SPECIAL_DRUG_RETAKE, retake_for_claim, app=app)
    hooks.register(hooks.OPEN_RECHECKS, open_rechecks, app=app)
    hooks.register(hooks.POLICY_SURRENDERED, release_place, app=app)
    hooks.check_registered(app)
