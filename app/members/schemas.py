"""What the mini-program sends and sees. ID numbers only ever leave masked."""

from __future__ import annotations

import marshmallow as ma

from app.common.clock import today_shanghai
from app.common.schemas import ConsentSchema, StrictSchema
from app.identity.idnumber import mask
from app.members.models import RELATIONS
from app.members.privacy_rules import withdrawal_notice
from app.members.relation_rules import RELATION_LABELS as RELATION_LABELS
from app.members.services import GUARDIAN_CONSENT_AGE
from app.renewals.schemas import RenewalConsentSchema

INSURANCE_TYPE_LABELS = {"employee": "职工基本医疗保险", "resident": "城乡居民基本医疗保险"}
INSURANCE_STATUS_LABELS = {"active": "正常参保", "suspended": "暂停参保"}


def _age(person) -> int:
    today = today_shanghai()
    born = person.birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class VerifyIdentitySchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    id_number = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "18位居民身份证号码"},
    )
    consent = ma.fields.Nested(
        ConsentSchema,
        load_default=None,
        metadata={"description": "单独同意；缺少或未同意时返回 consent_required"},
    )


class AddRelativeSchema(VerifyIdentitySchema):
    relation = ma.fields.String(required=True, validate=ma.validate.OneOf(RELATIONS))
    guardian_consent = ma.fields.Nested(
        ConsentSchema, metadata={"description": "未满14周岁的家属必须提供监护人同意"}
    )


class PersonSchema(StrictSchema):
    name = ma.fields.String(required=True)
    id_number_masked = ma.fields.Method(
        "_masked", required=True, metadata={"example": "3607**********0018"}
    )
    gender = ma.fields.String(required=True, metadata={"description": "1 男 / 2 女"})
    birth_date = ma.fields.Date(required=True)
    age = ma.fields.Method("_age", required=True)
    insurance_type = ma.fields.String(
        allow_none=True, metadata={"description": "employee | resident"}
    )
    insurance_type_label = ma.fields.Method("_type_label", allow_none=True)
    insurance_status = ma.fields.String(
        allow_none=True, metadata={"description": "active | suspended"}
    )
    insurance_status_label = ma.fields.Method("_status_label", allow_none=True)
    suspended_since = ma.fields.Date(allow_none=True)
    region_code = ma.fields.String(allow_none=True)
    has_personal_account = ma.fields.Boolean(required=True)
    verified_at = ma.fields.DateTime(allow_none=True)

    def _masked(self, person) -> str:
        from app.identity.services import decrypt_id_number

        return mask(decrypt_id_number(person))

    def _age(self, person) -> int:
        return _age(person)

    def _type_label(self, person):
        return INSURANCE_TYPE_LABELS.get(person.insurance_type or "")

    def _status_label(self, person):
        return INSURANCE_STATUS_LABELS.get(person.insurance_status or "")


class MemberProfileSchema(StrictSchema):
    member_id = ma.fields.Integer(required=True, attribute="id")
    identity_verified = ma.fields.Method("_verified", required=True)
    verification_stale = ma.fields.Method("_stale", required=True)
    person = ma.fields.Nested(PersonSchema, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    closed_at = ma.fields.DateTime(allow_none=True, metadata={"description": "注销时间"})

    def _verified(self, member) -> bool:
        return member.person_id is not None

    def _stale(self, member) -> bool:
        from app.identity.services import is_stale

        return member.person is not None and is_stale(member.person)


class RelativeSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    relation = ma.fields.String(required=True)
    relation_label = ma.fields.Method("_relation_label", required=True)
    person = ma.fields.Nested(PersonSchema, required=True)
    under_14 = ma.fields.Method("_under_14", required=True)
    guardian_consent_recorded = ma.fields.Method("_guardian", required=True)
    created_at = ma.fields.DateTime(required=True)

    def _relation_label(self, relative) -> str:
        return RELATION_LABELS[relative.relation]

    def _under_14(self, relative) -> bool:
        return _age(relative.person) < GUARDIAN_CONSENT_AGE

    def _guardian(self, relative) -> bool:
        return relative.guardian_consent_id is not None


# --- consents, withdrawal, closure (app/members/privacy.py, closure.py) ---------------------------

CONSENT_PURPOSE_LABELS = {
    "identity_verification": "同意《个人信息处理规则》：处理身份证号码等敏感个人信息以核验医保身份",
    "identity_verification_withdrawn": "撤回对个人信息处理的同意",
    "guardian": "监护人同意处理未满14周岁家属的个人信息",
    "value_estimate": "同意查询去年医保结算记录（去年能赔多少）",
    "value_estimate_withdrawn": "撤回查询去年医保结算记录的同意",
}
CONSENT_STATE_LABELS = {
    "granted": "已同意",
    "withdrawn": "已撤回",
    "not_given": "尚未同意（未核验医保身份）",
    "closed": "账号已注销",
}


def _subject_label(subject: str | None) -> str | None:
    if subject is None:
        return None
    return "本人" if subject == "self" else RELATION_LABELS.get(subject, subject)


class PersonalInformationConsentSchema(StrictSchema):
    state = ma.fields.String(
        required=True, metadata={"description": "granted | withdrawn | not_given | closed"}
    )
    state_label = ma.fields.Function(lambda d: CONSENT_STATE_LABELS[d["state"]], required=True)
    text_version = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.DateTime(allow_none=True)


class WithdrawalNoticeSchema(StrictSchema):
    stops = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "撤回后停止"}
    )
    continues = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "撤回后继续"}
    )
    lawful_before = ma.fields.String(required=True)
    retained = ma.fields.String(required=True)
    how_to_resume = ma.fields.String(required=True)


class ConsentRecordSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    purpose = ma.fields.String(required=True)
    purpose_label = ma.fields.Function(
        lambda d: CONSENT_PURPOSE_LABELS.get(d["purpose"], d["purpose"]), required=True
    )
    text_version = ma.fields.String(required=True)
    recorded_at = ma.fields.DateTime(required=True)
    subject = ma.fields.String(
        allow_none=True, metadata={"description": "self | the relative's relation | null"}
    )
    subject_label = ma.fields.Function(lambda d: _subject_label(d["subject"]), allow_none=True)


class ProductTermsRecordSchema(StrictSchema):
    order_no = ma.fields.String(required=True)
    product_name = ma.fields.String(required=True)
    plan_year = ma.fields.Integer(required=True)
    terms_version = ma.fields.String(required=True)
    agreed_at = ma.fields.DateTime(required=True)


class CurrentTextVersionsSchema(StrictSchema):
    personal_information = ma.fields.String(
        required=True,
        metadata={"description": "《个人信息处理规则》（核验身份、添加家属、重新同意）"},
    )
    guardian = ma.fields.String(
        required=True, metadata={"description": "监护人同意书（添加未满14周岁的家属）"}
    )
    renewal = ma.fields.String(required=True, metadata={"description": "续保授权书"})
    value_estimate = ma.fields.String(
        required=True, metadata={"description": "查询去年医保结算记录的授权说明"}
    )


class ConsentOverviewSchema(StrictSchema):
    personal_information = ma.fields.Nested(PersonalInformationConsentSchema, required=True)
    withdrawal = ma.fields.Function(
        lambda d: WithdrawalNoticeSchema().dump(withdrawal_notice()),
        required=True,
        metadata={"description": "撤回同意意味着什么（停止、继续和保存的内容）"},
    )
    records = ma.fields.List(ma.fields.Nested(ConsentRecordSchema), required=True)
    product_terms = ma.fields.List(ma.fields.Nested(ProductTermsRecordSchema), required=True)
    renewal_consents = ma.fields.List(ma.fields.Nested(RenewalConsentSchema), required=True)
    current_text_versions = ma.fields.Nested(
        CurrentTextVersionsSchema,
        required=True,
        metadata={
            "description": "各同意书当前版本：同意时须提交该版本号，否则返回 consent_text_outdated"
        },
    )


class BlockerSchema(StrictSchema):
    code = ma.fields.String(required=True, metadata={"description": "stable, e.g. policy_in_force"})
    count = ma.fields.Integer(required=True)
    message = ma.fields.String(required=True)


class OpenRecheckSchema(StrictSchema):
    id = ma.fields.Integer(required=True)
    claim_no = ma.fields.String(required=True)
    recheck_deadline = ma.fields.DateTime(
        required=True, metadata={"description": "申请复核的截止时间"}
    )


class ClosureWarningSchema(StrictSchema):
    code = ma.fields.String(
        required=True, metadata={"description": "stable, e.g. claim_recheck_open"}
    )
    count = ma.fields.Integer(required=True)
    message = ma.fields.String(required=True)
    claims = ma.fields.List(
        ma.fields.Nested(OpenRecheckSchema),
        required=True,
        metadata={"description": "the claims concerned (claim_recheck_open: still open to 复核)"},
    )


class ClosureSchema(StrictSchema):
    closed = ma.fields.Boolean(required=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    can_close = ma.fields.Boolean(required=True)
    blockers = ma.fields.List(ma.fields.Nested(BlockerSchema), required=True)
    warnings = ma.fields.List(
        ma.fields.Nested(ClosureWarningSchema),
        required=True,
        metadata={
            "description": "注销将放弃、但不阻止注销的事项（如仍可申请复核的拒赔理赔）；"
            "请在确认注销前向用户展示"
        },
    )
    retain_until = ma.fields.Date(
        allow_none=True, metadata={"description": "依法保存的记录保存至（此后删除）"}
    )
    erases = ma.fields.List(ma.fields.String(), required=True)
    keeps = ma.fields.List(ma.fields.String(), required=True)


class CloseAccountSchema(StrictSchema):
    confirm = ma.fields.Boolean(
        required=True,
        validate=ma.validate.Equal(True, error="请确认注销账号"),
        metadata={"description": "确认注销：必须为 true"},
    )
