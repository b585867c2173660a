from __future__ import annotations

import marshmallow as ma

from app.common.schemas import StrictSchema
from app.sponsors.models import ORGANISATION_KINDS, RULE_KINDS
from app.sponsors.rules import KNOWN_CATEGORIES

MAX_ID = 2**31 - 1


def _plain_text(value: str) -> None:
    """Names are shown to people and stored as text: no control characters (NUL, newlines)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or not value.strip():
        raise ma.ValidationError("名称不能为空，且不能包含控制字符")


NAME = [ma.validate.Length(min=1, max=100), _plain_text]


class OrganisationCreateSchema(StrictSchema):
    uscc = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40),
                            metadata={"description": "统一社会信用代码（18位）"})
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
    amount_fen = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=10**8),
                                   metadata={"description": "fixed only: up to this many fen"})
    basis_points = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=10000),
                                     metadata={"description": "percentage only: 1..10000"})


class EligibilitySchema(StrictSchema):
    categories = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(sorted(KNOWN_CATEGORIES))),
                                load_default=list, validate=ma.validate.Length(max=6))
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
        return {"kind": p.rule_kind, "amount_fen": p.rule_amount_fen,
                "basis_points": p.rule_basis_points}

    def _eligibility(self, p):
        return {"categories": list(p.eligibility_categories or []), "roster_only": p.roster_only}

    def _unspent(self, p):
        return p.budget_total_fen - p.budget_reserved_fen


class TopUpSchema(StrictSchema):
    amount_fen = ma.fields.Integer(required=True, strict=True,
                                   validate=ma.validate.Range(min=1, max=10**10),
                                   metadata={"description": "追加预算（分），1 至 10^10"})


class StatusChangeSchema(StrictSchema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(("pause", "resume", "close")))


class FundedSchema(StrictSchema):
    insured_name_masked = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    subsidy_fen = ma.fields.Integer(required=True)


class ProgrammeReportSchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    budget_total_fen = ma.fields.Integer(required=True)
    budget_reserved_fen = ma.fields.Integer(required=True,
                                            metadata={"description": "promised to open orders and spent"})
    spent_fen = ma.fields.Integer(required=True)
    reserved_unpaid_fen = ma.fields.Integer(required=True)
    unspent_fen = ma.fields.Integer(required=True)
    beneficiaries = ma.fields.Integer(required=True)
    quota = ma.fields.Integer(allow_none=True)
    active_policies_funded = ma.fields.Integer(required=True)
    funded = ma.fields.List(ma.fields.Nested(FundedSchema), required=True)
