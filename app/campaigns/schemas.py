from __future__ import annotations

import marshmallow as ma

from app.campaigns import rules
from app.campaigns.statuses import CampaignStatus
from app.common.schemas import StrictSchema
from app.enrollment.schemas import TermsAcceptanceSchema
from app.policies.schemas import PolicySchema
from app.sponsors.schemas import MAX_ID, NAME

MAX_QUOTA = 10**6
TOKEN_MAX = 200
TOKEN = ma.validate.Length(min=1, max=TOKEN_MAX)


class CampaignEligibilitySchema(StrictSchema):
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(sorted(rules.KNOWN_CATEGORIES))),
        load_default=list,
        validate=ma.validate.Length(max=len(rules.KNOWN_CATEGORIES)),
        metadata={"description": "任一身份类别即可；为空表示不限"},
    )
    min_age = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=0, max=rules.MAX_AGE),
        metadata={"description": "含；按产品保障起始日计算的年龄"},
    )
    max_age = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=0, max=rules.MAX_AGE),
        metadata={"description": "含"},
    )
    region_prefix = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Regexp(r"^[0-9]{2,6}$"),
        metadata={"description": "参保地行政区划代码前缀，如 360702"},
    )


class CampaignCreateSchema(StrictSchema):
    programme_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    name = ma.fields.String(required=True, validate=NAME)
    quota = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=MAX_QUOTA)
    )
    expires_on = ma.fields.Date(required=True, metadata={"description": "含当日（北京时间）"})
    eligibility = ma.fields.Nested(CampaignEligibilitySchema, load_default=dict)


class CampaignQuerySchema(StrictSchema):
    programme_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in CampaignStatus]))


class CampaignEligibilityViewSchema(StrictSchema):
    categories = ma.fields.List(ma.fields.String(), required=True)
    category_labels = ma.fields.List(ma.fields.String(), required=True)
    min_age = ma.fields.Integer(allow_none=True)
    max_age = ma.fields.Integer(allow_none=True)
    region_prefix = ma.fields.String(allow_none=True)


def eligibility_view(campaign) -> dict:
    categories = sorted(campaign.eligibility_categories or [])
    return {
        "categories": categories,
        "category_labels": [rules.CATEGORY_LABELS[c] for c in categories],
        "min_age": campaign.min_age,
        "max_age": campaign.max_age,
        "region_prefix": campaign.region_prefix,
    }


class CampaignSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    programme_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    quota = ma.fields.Integer(required=True)
    claimed = ma.fields.Integer(required=True)
    places_left = ma.fields.Method("_places_left", required=True)
    expires_on = ma.fields.Date(required=True)
    status = ma.fields.String(required=True, metadata={"description": "active | revoked"})
    effective_status = ma.fields.Method(
        "_effective_status",
        required=True,
        metadata={
            "description": "active | revoked | expired | ended | exhausted | paused | "
            "budget_exhausted"
        },
    )
    eligibility = ma.fields.Function(eligibility_view, required=True)
    link = ma.fields.Method("_link", required=True, metadata={"description": "二维码中的签名链接"})
    qr_png_url = ma.fields.Method("_qr_png_url", required=True)
    created_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)

    def _places_left(self, campaign) -> int:
        from app.campaigns.services import places_left

        return places_left(campaign)

    def _effective_status(self, campaign) -> str:
        from app.campaigns.services import effective_status

        return effective_status(campaign)

    def _link(self, campaign) -> str:
        from app.campaigns.services import link_for

        return link_for(campaign)

    def _qr_png_url(self, campaign) -> str:
        return f"/staff/campaigns/{campaign.id}/qr.png"


class PreviewQuerySchema(StrictSchema):
    # Its shape (1-200 characters) is checked by the view, so that a phone whose scan lost the
    # token gets the "invitation not recognised" page, not a JSON error (as the certificate's).
    token = ma.fields.String(
        metadata={
            "description": "the token of the QR code's link; a browser sent none or a malformed "
            "one gets the invalid-invitation page, a program a 422",
            "minLength": 1,
            "maxLength": TOKEN_MAX,
        },
    )


class CampaignPreviewSchema(StrictSchema):
    campaign_name = ma.fields.String(required=True)
    organisation_name = ma.fields.String(required=True)
    organisation_kind = ma.fields.String(required=True)
    product_name = ma.fields.String(allow_none=True)
    plan_year = ma.fields.Integer(required=True)
    pays = ma.fields.String(required=True, metadata={"description": "资助方式说明"})
    premium_fen_max = ma.fields.Integer(
        allow_none=True, metadata={"description": "每人保费最高金额（分），全额由资助方承担"}
    )
    coverage_start = ma.fields.Date(allow_none=True)
    coverage_end = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date(required=True)
    places_left = ma.fields.Integer(required=True)
    eligibility = ma.fields.Nested(CampaignEligibilityViewSchema, required=True)


class RedeemSchema(StrictSchema):
    token = ma.fields.String(
        required=True, validate=TOKEN, metadata={"description": "二维码链接中的 token"}
    )
    terms = ma.fields.Nested(TermsAcceptanceSchema, required=True)
    relative_id = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "为已核验身份的家属领取（GET /me/relatives 的 id）；不填为本人"},
    )


class RedemptionSchema(StrictSchema):
    created = ma.fields.Boolean(
        required=True, metadata={"description": "false: 此前已领取，返回原保单"}
    )
    campaign_name = ma.fields.String(required=True)
    organisation_name = ma.fields.String(required=True)
    order_id = ma.fields.Integer(required=True)
    order_no = ma.fields.String(required=True)
    policy = ma.fields.Nested(PolicySchema, required=True)
