"""Schemas of the disclosure endpoints: public statistics, the insurer's settlement, and the FHIR
Bundle envelope (its resources are FHIR JSON, validated by fhir.resources, not re-described)."""

from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema

PRODUCT_CODE = ma.validate.Regexp(r"^[a-z0-9-]{1,40}$", error="产品代码格式不正确")
PLAN_YEAR = ma.validate.Range(min=2000, max=2100)


class StatisticsQuerySchema(StrictSchema):
    plan_year = ma.fields.Integer(validate=PLAN_YEAR)
    product = ma.fields.String(validate=PRODUCT_CODE, metadata={"description": "产品代码"})


class SettlementQuerySchema(StrictSchema):
    plan_year = ma.fields.Integer(required=True, validate=PLAN_YEAR)


class CellSchema(StrictSchema):
    value = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "null when suppressed (or undefined)"},
    )
    suppressed = ma.fields.Boolean(required=True)


class RateSchema(StrictSchema):
    basis_points = ma.fields.Integer(required=True, allow_none=True)
    display = ma.fields.String(required=True, allow_none=True, metadata={"example": "88.00%"})
    suppressed = ma.fields.Boolean(required=True)


class InsuranceTypeCellsSchema(StrictSchema):
    employee = ma.fields.Nested(CellSchema, required=True)
    resident = ma.fields.Nested(CellSchema, required=True)
    # The wire name "unknown" is also marshmallow's Schema option of that name; the field is
    # collected as a field all the same (the option lives on the instance).
    unknown = ma.fields.Nested(CellSchema, required=True)  # type: ignore[assignment]


class FundingSourceCellsSchema(StrictSchema):
    personal_account = ma.fields.Nested(CellSchema, required=True)
    wechat = ma.fields.Nested(CellSchema, required=True)
    employer = ma.fields.Nested(CellSchema, required=True)
    charity = ma.fields.Nested(CellSchema, required=True)
    relief_fund = ma.fields.Nested(CellSchema, required=True)
    paired_assistance = ma.fields.Nested(CellSchema, required=True)


class PeriodFiguresSchema(StrictSchema):
    period = ma.fields.String(required=True, metadata={"description": "'2026' or '2026-01'"})
    enrolled_people = ma.fields.Nested(CellSchema, required=True)
    enrolled_by_insurance_type = ma.fields.Nested(InsuranceTypeCellsSchema, required=True)
    enrolled_by_funding_source = ma.fields.Nested(FundingSourceCellsSchema, required=True)
    participation_rate = ma.fields.Nested(RateSchema, required=True)
    premiums_collected_fen = ma.fields.Nested(CellSchema, required=True)
    premiums_refunded_fen = ma.fields.Nested(CellSchema, required=True)
    claims_received = ma.fields.Nested(CellSchema, required=True)
    claims_settled = ma.fields.Nested(CellSchema, required=True)
    claims_paid = ma.fields.Nested(CellSchema, required=True)
    amount_settled_fen = ma.fields.Nested(CellSchema, required=True)
    amount_paid_fen = ma.fields.Nested(CellSchema, required=True)
    loss_ratio = ma.fields.Nested(RateSchema, required=True)
    average_claim_paid_fen = ma.fields.Nested(CellSchema, required=True)
    largest_claim_paid_fen = ma.fields.Nested(CellSchema, required=True)


class ProductStatisticsSchema(StrictSchema):
    product_code = ma.fields.String(required=True)
    product_name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    region_basic_insured_population = ma.fields.Integer(required=True, allow_none=True)
    year = ma.fields.Nested(PeriodFiguresSchema, required=True)
    months = ma.fields.List(ma.fields.Nested(PeriodFiguresSchema), required=True)


class StatisticsSchema(StrictSchema):
    min_cell = ma.fields.Integer(
        required=True,
        metadata={
            "description": "counts below this (and figures that would reveal them) are suppressed"
        },
    )
    products = ma.fields.List(ma.fields.Nested(ProductStatisticsSchema), required=True)


class SourceAmountsSchema(StrictSchema):
    personal_account = ma.fields.Integer(required=True)
    wechat = ma.fields.Integer(required=True)
    employer = ma.fields.Integer(required=True)
    charity = ma.fields.Integer(required=True)
    relief_fund = ma.fields.Integer(required=True)
    paired_assistance = ma.fields.Integer(required=True)


class CorridorSchema(StrictSchema):
    band = ma.fields.String(
        required=True,
        metadata={"description": "at_or_above_full_premium | below_full_premium | no_premium"},
    )
    insurer_keeps_fen = ma.fields.Integer(required=True)
    cost_allowance_fen = ma.fields.Integer(required=True)
    returned_fen = ma.fields.Integer(required=True)
    renegotiate = ma.fields.Boolean(required=True)


class InsurerShareSchema(StrictSchema):
    """One insurer's share of the product's settlement (共保体), split to the fen."""

    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    lead = ma.fields.Boolean(required=True, metadata={"description": "主承保公司"})
    share_bp = ma.fields.Integer(required=True, metadata={"description": "agreed share, bp"})
    premiums_collected_fen = ma.fields.Integer(required=True)
    premiums_refunded_fen = ma.fields.Integer(required=True)
    net_premium_fen = ma.fields.Integer(required=True)
    claims_paid_fen = ma.fields.Integer(required=True)
    floor_shortfall_fen = ma.fields.Integer(required=True)
    insurer_keeps_fen = ma.fields.Integer(required=True, allow_none=True)
    cost_allowance_fen = ma.fields.Integer(required=True, allow_none=True)
    returned_fen = ma.fields.Integer(required=True, allow_none=True)
    surplus_carried_forward_fen = ma.fields.Integer(required=True)
    insurer_margin_fen = ma.fields.Integer(required=True, allow_none=True)


class SettlementRowSchema(StrictSchema):
    product_code = ma.fields.String(required=True)
    product_name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    premiums_collected_fen = ma.fields.Integer(required=True)
    premiums_collected_by_source_fen = ma.fields.Nested(SourceAmountsSchema, required=True)
    premiums_refunded_fen = ma.fields.Integer(required=True)
    net_premium_fen = ma.fields.Integer(required=True)
    claims_paid = ma.fields.Integer(required=True)
    claims_paid_fen = ma.fields.Integer(required=True)
    loss_ratio_bp = ma.fields.Integer(required=True, allow_none=True)
    loss_ratio_display = ma.fields.String(required=True, allow_none=True)
    loss_ratio_floor_bp = ma.fields.Integer(required=True, allow_none=True)
    meets_floor = ma.fields.Boolean(required=True, allow_none=True)
    floor_shortfall_fen = ma.fields.Integer(required=True)
    corridor = ma.fields.Nested(CorridorSchema, required=True, allow_none=True)
    surplus_carried_forward_fen = ma.fields.Integer(required=True)
    insurer_margin_fen = ma.fields.Integer(required=True, allow_none=True)
    renegotiate = ma.fields.Boolean(required=True)
    insurers = ma.fields.List(
        ma.fields.Nested(InsurerShareSchema),
        required=True,
        metadata={
            "description": "the co-insurance group's shares, lead first; each column sums to "
            "the product's figure (largest-remainder rounding, ties to the lead)"
        },
    )


class SettlementSchema(StrictSchema):
    plan_year = ma.fields.Integer(required=True)
    products = ma.fields.List(ma.fields.Nested(SettlementRowSchema), required=True)


class FhirBundleEntrySchema(StrictSchema):
    fullUrl = ma.fields.String(required=True)
    resource = ma.fields.Dict(
        required=True,
        metadata={"description": "A FHIR R4 resource: Coverage, Claim or ClaimResponse"},
    )


class FhirBundleSchema(StrictSchema):
    resourceType = ma.fields.String(required=True, metadata={"example": "Bundle"})
    type = ma.fields.String(required=True, metadata={"example": "collection"})
    entry = ma.fields.List(ma.fields.Nested(FhirBundleEntrySchema))


# --- the operator dashboard (app/disclosure/dashboard.py) ---------------------------------------


class DashboardQuerySchema(StrictSchema):
    product = ma.fields.String(
        validate=PRODUCT_CODE,
        metadata={"description": "产品代码；缺省为当前在售产品（无则为最新产品）"},
    )


def _integers(*names: str, allow_none: bool = False) -> dict[str, ma.fields.Field]:
    return {n: ma.fields.Integer(required=True, allow_none=allow_none) for n in names}


DashboardProductSchema = StrictSchema.from_dict(
    {
        "code": ma.fields.String(required=True),
        "name": ma.fields.String(required=True),
        "plan_year": ma.fields.Integer(required=True),
        "coverage_starts": ma.fields.String(required=True, metadata={"format": "date"}),
        "coverage_ends": ma.fields.String(required=True, metadata={"format": "date"}),
    },
    name="DashboardProduct",
)
DayCountSchema = StrictSchema.from_dict(
    {
        "date": ma.fields.String(required=True, metadata={"format": "date"}),
        "people": ma.fields.Integer(required=True),
    },
    name="DashboardDayCount",
)
AreaCountSchema = StrictSchema.from_dict(
    {
        "area_code": ma.fields.String(
            required=True, metadata={"description": "医保参保地区划代码；unknown = 无"}
        ),
        "name": ma.fields.String(required=True),
        "people": ma.fields.Integer(required=True),
    },
    name="DashboardAreaCount",
)
InsuranceTypeCountsSchema = StrictSchema.from_dict(
    _integers("employee", "resident", "unknown"), name="DashboardInsuranceTypeCounts"
)


class DashboardEnrollmentSchema(StrictSchema):
    total = ma.fields.Integer(required=True, metadata={"description": "参保且仍有效的人数"})
    today = ma.fields.Integer(required=True, metadata={"description": "今日（北京时间）参保人数"})
    by_day = ma.fields.List(ma.fields.Nested(DayCountSchema), required=True)
    by_insurance_type = ma.fields.Nested(InsuranceTypeCountsSchema, required=True)
    by_funding_source = ma.fields.Nested(SourceAmountsSchema, required=True)
    by_area = ma.fields.List(ma.fields.Nested(AreaCountSchema), required=True)


DashboardParticipationSchema = StrictSchema.from_dict(
    {
        "enrolled": ma.fields.Integer(required=True),
        **_integers("population", "rate_bp", "target_bp", "target_people", allow_none=True),
        "rate_display": ma.fields.String(required=True, allow_none=True),
        "progress_bp": ma.fields.Integer(
            required=True, allow_none=True, metadata={"description": "参保人数 / 目标人数"}
        ),
        "reached": ma.fields.Boolean(required=True, allow_none=True),
    },
    name="DashboardParticipation",
)


class DashboardPremiumsSchema(StrictSchema):
    collected_fen = ma.fields.Integer(required=True)
    refunded_fen = ma.fields.Integer(required=True)
    net_fen = ma.fields.Integer(required=True)
    collected_by_source_fen = ma.fields.Nested(SourceAmountsSchema, required=True)


DashboardClaimsSchema = StrictSchema.from_dict(
    _integers(
        "received",
        "in_review",
        "approved",
        "paid",
        "rejected",
        "closed",
        "reversed",
        "approved_unpaid_fen",
    ),
    name="DashboardClaims",
)
DashboardPayoutsSchema = StrictSchema.from_dict(
    _integers("paid", "paid_fen", "failed", "failed_fen", "pending", "pending_fen"),
    name="DashboardPayouts",
)
DashboardLossRatioSchema = StrictSchema.from_dict(
    {
        **_integers("claims_paid_fen", "net_premium_fen", "coverage_days", "elapsed_days"),
        **_integers(
            "loss_ratio_bp",
            "floor_bp",
            "corridor_low_bp",
            "corridor_high_bp",
            "projected_bp",
            allow_none=True,
        ),
        "loss_ratio_display": ma.fields.String(required=True, allow_none=True),
        "projected_display": ma.fields.String(required=True, allow_none=True),
        "meets_floor": ma.fields.Boolean(required=True, allow_none=True),
        "corridor_band": ma.fields.String(required=True, allow_none=True),
        "projection_method": ma.fields.String(required=True),
    },
    name="DashboardLossRatio",
)


DashboardEstimatesSchema = StrictSchema.from_dict(
    {
        **_integers("shown", "converted"),
        **_integers("conversion_bp", allow_none=True),
    },
    name="DashboardEstimates",
)


class DashboardWarningSchema(StrictSchema):
    code = ma.fields.String(required=True, metadata={"example": "sponsor_budget_nearly_spent"})
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(("warning", "critical")))
    message = ma.fields.String(required=True)
    figures = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "预警所依据的数字（金额为分，比例为基点）"},
    )


class DashboardSchema(StrictSchema):
    generated_at = ma.fields.String(required=True)
    today = ma.fields.String(required=True, metadata={"format": "date"})
    refresh_seconds = ma.fields.Integer(required=True)
    product = ma.fields.Nested(DashboardProductSchema, required=True)
    enrollment = ma.fields.Nested(DashboardEnrollmentSchema, required=True)
    participation = ma.fields.Nested(DashboardParticipationSchema, required=True)
    premiums = ma.fields.Nested(DashboardPremiumsSchema, required=True)
    claims = ma.fields.Nested(DashboardClaimsSchema, required=True)
    payouts = ma.fields.Nested(DashboardPayoutsSchema, required=True)
    loss_ratio = ma.fields.Nested(DashboardLossRatioSchema, required=True)
    value_estimates = ma.fields.Nested(
        DashboardEstimatesSchema,
        required=True,
        metadata={
            "description": "“去年能赔多少” estimates shown this plan year and the members shown "
            "one who then enrolled (conversion); counts only, no personal data"
        },
    )
    warnings = ma.fields.List(ma.fields.Nested(DashboardWarningSchema), required=True)
