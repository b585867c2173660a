"""Disclosure endpoints: public statistics (no login, cacheable, ETag), the operator's settlement
(JSON and CSV) and live dashboard, and the member's own records as a FHIR Bundle."""

from __future__ import annotations

from flask import Response, current_app, request

from app.api import Blueprint
from app.auth.principal import current_principal
from app.disclosure import dashboard, services
from app.disclosure.schemas import (
    DashboardQuerySchema,
    DashboardSchema,
    FhirBundleSchema,
    SettlementQuerySchema,
    SettlementSchema,
    StatisticsQuerySchema,
    StatisticsSchema,
)

blp = Blueprint("disclosure", __name__, description="信息披露 Disclosure")

CACHE_HEADERS_DOC = {
    "ETag": {
        "description": "Strong validator: SHA-256 of everything the body is built from (the "
        "products and every counter), known before the body is built",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "public, max-age=DISCLOSURE_CACHE_SECONDS",
        "schema": {"type": "string"},
    },
}


def _cacheable(answer: services.StatisticsAnswer) -> Response:
    """The body with its version as a strong ETag and public caching; 304 when If-None-Match
    names it (weak comparison, as RFC 9110 asks for If-None-Match), with no body built."""
    headers = {"Cache-Control": f"public, max-age={current_app.config['DISCLOSURE_CACHE_SECONDS']}"}
    if answer.body is None:
        response = Response(status=304, headers=headers)
    else:
        response = Response(answer.body, mimetype="application/json", headers=headers)
    response.set_etag(answer.version)
    return response


@blp.route("/public/statistics", methods=["GET"])
@blp.arguments(StatisticsQuerySchema, location="query")
@blp.response(200, StatisticsSchema, headers=CACHE_HEADERS_DOC)
@blp.alt_response(304, description="Not Modified (If-None-Match matched the ETag)")
@blp.errors(404)
def public_statistics(query):
    """公开统计：按保障年度和月份披露参保、保费、理赔和赔付率（来自维护的汇总表；
    小于 DISCLOSURE_MIN_CELL 的单元格及可据以推算的单元格不公布）。No login."""
    # The body is the service's plain data as StatisticsSchema describes it (a test checks that
    # dumping it through the schema changes nothing), serialised once per version.
    answer = services.public_statistics_answer(
        plan_year=query.get("plan_year"),
        product_code=query.get("product"),
        known=request.if_none_match.contains_weak,
    )
    return _cacheable(answer)


@blp.route("/staff/disclosure/settlement", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(SettlementQuerySchema, location="query")
@blp.response(200, SettlementSchema)
def settlement(query):
    """保险公司年度结算（operators only）: loss ratio against the product's floor, the
    Huizhou corridor, the surplus carried forward, and the renegotiation flag."""
    return services.settlement_report(query["plan_year"])


@blp.route("/staff/disclosure/settlement.csv", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(SettlementQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="结算表 CSV（UTF-8，带 BOM）")
def settlement_csv(query):
    """The settlement as CSV (UTF-8 with BOM, for spreadsheets; operators only)."""
    text = services.settlement_csv(services.settlement_report(query["plan_year"]))
    filename = f"settlement-{query['plan_year']}.csv"
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.route("/staff/dashboard", methods=["GET"])
@blp.staff_required("operator")
@blp.arguments(DashboardQuerySchema, location="query")
@blp.response(200, DashboardSchema)
@blp.errors(404)
def operator_dashboard(query):
    """运营看板（operators only）：今日及每日参保、按区县/险种/资金来源的参保人数、参保率对目标、
    保费、理赔进度与赔款支付、赔付率对下限与结算走廊，以及资金运行风险预警（预测赔付率越出走廊、
    资助预算将用尽、对账积压、理赔转账失败、风险标记异常）。The same figures as /console/dashboard."""
    return dashboard.dashboard(query.get("product"))


@blp.route("/me/fhir", methods=["GET"])
@blp.member_required
@blp.response(200, FhirBundleSchema, content_type="application/fhir+json")
def member_fhir():
    """The member's own records as a FHIR R4 Bundle (collection): Coverage per policy, Claim and
    ClaimResponse per claim. No ID numbers; people are keyed pseudonyms with masked names."""
    bundle = services.member_fhir_bundle(current_principal().id)
    return Response(bundle.model_dump_json(), mimetype="application/fhir+json")
