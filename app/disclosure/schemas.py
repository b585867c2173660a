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
