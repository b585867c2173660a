"""What the mini-program sends and sees. ID numbers only ever leave masked."""

from __future__ import annotations

import marshmallow as ma

from app.common.clock import today_shanghai
from app.common.schemas import ConsentSchema, StrictSchema
from app.identity.idnumber import mask
from app.members.models import RELATIONS
from app.members.services import GUARDIAN_CONSENT_AGE

INSURANCE_TYPE_LABELS = {"employee": "职工基本医疗保险", "resident": "城乡居民基本医疗保险"}
INSURANCE_STATUS_LABELS = {"active": "正常参保", "suspended": "暂停参保"}
RELATION_LABELS = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandparent": "祖父母/外祖父母",
    "grandchild": "孙子女/外孙子女",
    "sibling": "兄弟姐妹",
}


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
