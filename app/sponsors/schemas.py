from __future__ import annotations

import marshmallow as ma

from app.common.pagination import page_schema
from app.common.schemas import PageQuerySchema, StrictSchema, plain_text
from app.policies.models import POLICY_STATUSES
from app.sponsors.models import PROGRAMME_STATUSES, RULE_KINDS
from app.sponsors.rules import KNOWN_CATEGORIES, ORGANISATION_KINDS

MAX_ID = 2**31 - 1


NAME = [ma.validate.Length(min=1, max=100), plain_text()]


class OrganisationCreateSchema(StrictSchema):
    uscc = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "统一社会信用代码（18位）"},
    )
    name = ma.fields.String(required=True, validate=NAME)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(ORGANISATION_KINDS))


class OrganisationSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    uscc = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)


class RuleSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(RULE_KINDS))
    amount_fen = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1, max=10**8),
        metadata={"description": "fixed only: up to this many fen"},
    )
    basis_points = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1, max=10000),
        metadata={"description": "percentage only: 1..10000"},
    )


class EligibilitySchema(StrictSchema):
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(sorted(KNOWN_CATEGORIES))),
        load_default=list,
        validate=ma.validate.Length(max=6),
    )
    roster_only = ma.fields.Boolean(load_default=False)


class ProgrammeCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=NAME)
    plan_year = ma.fields.Integer(required=True, validate=ma.validate.Range(min=2020, max=2100))
    product_id = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    rule = ma.fields.Nested(RuleSchema, required=True)
    eligibility = ma.fields.Nested(EligibilitySchema, required=True)
    quota = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=10**7))


class ProgrammeSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    organisation_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(required=True)
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    rule = ma.fields.Method("_rule", required=True)
    eligibility = ma.fields.Method("_eligibility", required=True)
    quota = ma.fields.Integer(allow_none=True)
    beneficiaries_reserved = ma.fields.Integer(required=True)
    budget_total_fen = ma.fields.Integer(required=True)
    budget_reserved_fen = ma.fields.Integer(required=True)
    budget_unspent_fen = ma.fields.Method("_unspent", required=True)

    def _rule(self, p):
        return {
            "kind": p.rule_kind,
            "amount_fen": p.rule_amount_fen,
            "basis_points": p.rule_basis_points,
        }

    def _eligibility(self, p):
        return {"categories": list(p.eligibility_categories or []), "roster_only": p.roster_only}

    def _unspent(self, p):
        return p.budget_total_fen - p.budget_reserved_fen


class ProgrammeQuerySchema(StrictSchema):
    organisation_id = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "operators: one organisation"},
    )
    status = ma.fields.String(validate=ma.validate.OneOf(PROGRAMME_STATUSES))
    plan_year = ma.fields.Integer(validate=ma.validate.Range(min=2020, max=2100))


class TopUpSchema(StrictSchema):
    amount_fen = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=10**10),
        metadata={"description": "追加预算（分），1 至 10^10"},
    )


class StatusChangeSchema(StrictSchema):
    action = ma.fields.String(
        required=True, validate=ma.validate.OneOf(("pause", "resume", "close"))
    )


class FundedSchema(StrictSchema):
    insured_name_masked = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    subsidy_fen = ma.fields.Integer(required=True)


class ProgrammeReportSchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    budget_total_fen = ma.fields.Integer(required=True)
    budget_reserved_fen = ma.fields.Integer(
        required=True, metadata={"description": "promised to open orders and spent"}
    )
    spent_fen = ma.fields.Integer(required=True)
    reserved_unpaid_fen = ma.fields.Integer(required=True)
    unspent_fen = ma.fields.Integer(required=True)
    beneficiaries = ma.fields.Integer(required=True)
    quota = ma.fields.Integer(allow_none=True)
    active_policies_funded = ma.fields.Integer(required=True)
    funded = ma.fields.List(ma.fields.Nested(FundedSchema), required=True)


# --- sponsor reports (app/sponsors/reports.py) -------------------------------------------------


class ReportQuerySchema(StrictSchema):
    plan_year = ma.fields.Integer(validate=ma.validate.Range(min=2020, max=2100))


class OrganisationBriefSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    uscc = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)


class ProgrammeFiguresSchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    budget_total_fen = ma.fields.Integer(required=True)
    spent_fen = ma.fields.Integer(
        required=True, metadata={"description": "已支付保费资助（扣除退回）"}
    )
    spent_bp = ma.fields.Integer(
        required=True, metadata={"description": "支出占预算（万分比，四舍五入）"}
    )
    reserved_unpaid_fen = ma.fields.Integer(required=True)
    unspent_fen = ma.fields.Integer(required=True)
    active_policies = ma.fields.Integer(required=True)
    beneficiaries = ma.fields.Integer(required=True)
    quota = ma.fields.Integer(allow_none=True)


class TotalsSchema(StrictSchema):
    budget_total_fen = ma.fields.Integer(required=True)
    spent_fen = ma.fields.Integer(required=True)
    spent_bp = ma.fields.Integer(required=True)
    reserved_unpaid_fen = ma.fields.Integer(required=True)
    unspent_fen = ma.fields.Integer(required=True)
    active_policies = ma.fields.Integer(required=True)


class SponsorSummarySchema(StrictSchema):
    organisation = ma.fields.Nested(OrganisationBriefSchema, required=True)
    programmes = ma.fields.List(ma.fields.Nested(ProgrammeFiguresSchema), required=True)
    totals = ma.fields.Nested(TotalsSchema, required=True)


class BeneficiaryQuerySchema(PageQuerySchema):
    programme_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))
    plan_year = ma.fields.Integer(validate=ma.validate.Range(min=2020, max=2100))
    status = ma.fields.String(validate=ma.validate.OneOf(POLICY_STATUSES))


class FundingShareSchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    programme_name = ma.fields.String(required=True)
    subsidy_fen = ma.fields.Integer(required=True)


class BeneficiarySchema(StrictSchema):
    insured_name_masked = ma.fields.String(required=True)
    id_number_masked = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    policy_status = ma.fields.String(required=True)
    policy_status_label = ma.fields.String(required=True)
    coverage_start = ma.fields.Date(required=True)
    coverage_end = ma.fields.Date(required=True)
    programmes = ma.fields.List(ma.fields.Nested(FundingShareSchema), required=True)
    subsidy_fen = ma.fields.Integer(required=True)


BeneficiaryPageSchema = page_schema("BeneficiaryPageSchema", BeneficiarySchema)


class DonationQuerySchema(StrictSchema):
    year = ma.fields.Integer(
        validate=ma.validate.Range(min=2020, max=2100),
        metadata={"description": "自然年（北京时间），不填为全部"},
    )


class DonationSchema(StrictSchema):
    entry_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "top_up | refund"})
    kind_label = ma.fields.String(required=True)
    date = ma.fields.Date(required=True)
    amount_fen = ma.fields.Integer(required=True)
    amount_yuan = ma.fields.String(required=True)
    organisation_name = ma.fields.String(required=True)
    organisation_uscc = ma.fields.String(required=True)
    programme_id = ma.fields.Integer(required=True)
    programme_name = ma.fields.String(required=True)


class DonationsSchema(StrictSchema):
    organisation_name = ma.fields.String(required=True)
    organisation_uscc = ma.fields.String(required=True)
    year = ma.fields.Integer(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(DonationSchema), required=True)
    total_fen = ma.fields.Integer(required=True)


class OutcomeYearSchema(StrictSchema):
    plan_year = ma.fields.Integer(required=True)
    beneficiaries = ma.fields.Integer(required=True)
    suppressed = ma.fields.Boolean(
        required=True, metadata={"description": "理赔件数低于最小单元，不予显示"}
    )
    claims_paid_count = ma.fields.Integer(allow_none=True)
    claims_paid_fen = ma.fields.Integer(allow_none=True)


class OutcomesSchema(StrictSchema):
    min_cell = ma.fields.Integer(required=True)
    years = ma.fields.List(ma.fields.Nested(OutcomeYearSchema), required=True)
