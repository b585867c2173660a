"""Public pages: the disclosure page, the certificate verification page and the invitation
page a campaign's QR code opens (phone-friendly).

A way in, like a route: parse, call the same service the API calls, render. ``/disclosure``
shows what ``GET /public/statistics`` returns (the same service and the same schema, so the
same suppression), and its script refreshes the figures from that endpoint without a reload.
The certificate page is rendered by the API route ``GET /public/certificates/verify`` when the
client prefers HTML (``wants_html``): the URL the QR code encodes stays the same for browsers and
for programs. So is the invitation page, by ``GET /public/campaigns/preview`` (the campaign
poster's QR code): the same figures as its JSON, and what to do next in the mini-program.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, Response, current_app, render_template, request

from app.common.money import yuan
from app.disclosure import services as disclosure
from app.disclosure.metrics import FUNDING_SOURCES, INSURANCE_TYPES
from app.disclosure.schemas import StatisticsQuerySchema, StatisticsSchema
from app.disclosure.services import SOURCE_LABELS
from app.errors import DomainError, NotFound
from app.web.session import CONTENT_SECURITY_POLICY

blp = Blueprint("public_pages", __name__)

INSURANCE_TYPE_LABELS = {"employee": "职工医保", "resident": "城乡居民医保", "unknown": "未核实"}
VERDICT_CLASSES = {
    "in_force": "ok",
    "not_yet_effective": "wait",
    "expired": "off",
    "terminated": "off",
}


def wants_html() -> bool:
    """True when the client prefers an HTML page to JSON (a browser: text/html ranks above the
    */* that JSON would match). No Accept header, */* or application/json: JSON."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _page(html: str, status: int) -> Response:
    """An HTML answer with the pages' security headers (the certificate page is answered by an
    API route, so the page blueprint's after_request does not run for it)."""
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Vary"] = "Accept"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def certificate_page(found) -> Response:
    """The verification page for a certificate the service found (a VerifiedCertificate), or
    the 'cannot verify' page (404) for a token that is not ours."""
    if found is None:
        return _page(render_template("web/public/certificate.html", found=None), 404)
    return _page(
        render_template(
            "web/public/certificate.html",
            found=found,
            policy=found.policy,
            verdict_class=VERDICT_CLASSES[found.verdict],
        ),
        200,
    )


def _chinese_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def campaign_page(view: dict, eligibility: list[str]) -> Response:
    """The invitation page for a usable campaign link: `view` is the preview's JSON body (the
    same figures), `eligibility` who may join, in words (as the poster says it)."""
    start, end = view["coverage_start"], view["coverage_end"]
    premium = view["premium_fen_max"]
    html = render_template(
        "web/public/campaign.html",
        view=view,
        eligibility=eligibility,
        period=(_chinese_date(start), _chinese_date(end)) if start and end else None,
        premium=yuan(premium) if premium else None,
        expires=_chinese_date(view["expires_on"]),
    )
    return _page(html, 200)


# The refusal's status -> the verdict's colour: gone for good (forged, revoked, expired, the
# programme closed) or, for a conflict (places taken, paused, budget spent), perhaps later.
REFUSAL_CLASSES = {404: "off", 410: "off", 409: "wait"}


def campaign_refused_page(error: DomainError) -> Response:
    """Why this invitation cannot be taken, with the refusal's own status and message."""
    html = render_template(
        "web/public/campaign.html",
        view=None,
        refusal=error,
        verdict_class=REFUSAL_CLASSES.get(error.status, "off"),
    )
    return _page(html, error.status)


@blp.get("/disclosure")
def disclosure_page():
    """信息披露: the public statistics with charts; ?product=<code> and ?plan_year= narrow it
    as they narrow the API."""
    try:
        query = StatisticsQuerySchema().load(request.args.to_dict())
    except ma.ValidationError:
        return _page(render_template("web/public/disclosure.html", stats=None, query={}), 400)
    try:
        found = disclosure.public_statistics(
            plan_year=query.get("plan_year"), product_code=query.get("product")
        )
    except NotFound:
        return _page(render_template("web/public/disclosure.html", stats=None, query={}), 404)
    data = StatisticsSchema().dump(found)
    return _page(
        render_template(
            "web/public/disclosure.html",
            stats=data,
            query=query,
            # [key, label] pairs: the charts keep this order (a JSON object's would be sorted).
            labels={
                "insurance_type": [[k, INSURANCE_TYPE_LABELS[k]] for k in INSURANCE_TYPES],
                "funding_source": [[k, SOURCE_LABELS[k]] for k in FUNDING_SOURCES],
            },
            refresh_seconds=current_app.config["DISCLOSURE_CACHE_SECONDS"],
        ),
        200,
    )
