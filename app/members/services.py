"""Member use cases: verify one's own identity, manage relatives. Each owns its transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit.services import record as audit
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, transaction
from app.error_catalogue import E, ErrorSpec
from app.identity import services as identity
from app.members.models import RELATIONS, Consent, Member, Person, Relative
from app.members.privacy import check_processing_allowed, refuse_outdated_text
from app.members.privacy_rules import GUARDIAN, PERSONAL_INFORMATION
from app.members.relation_rules import relation_refusal

GUARDIAN_CONSENT_AGE = 14  # PIPL art. 31: under 14 needs a guardian's consent


@dataclass(frozen=True)
class ConsentInput:
    accepted: bool
    text_version: str


def _require_consent(
    consent: ConsentInput | None,
    refusal: ErrorSpec,
    message: str,
    field: str = "consent",
    text: str = PERSONAL_INFORMATION,
) -> ConsentInput:
    """The consent, given, to the version of `text` in force (else 422 consent_text_outdated);
    `message` says whose information is meant (the member's own or a relative's)."""
    if consent is None or not consent.accepted:
        raise refusal(message, errors={"json": {field: [message]}})
    refuse_outdated_text(text, consent.text_version, (field,))
    return consent


def get_member(member_id: int) -> Member:
    member = get_session().get(Member, member_id)
    if member is None:
        raise E.member_not_found()
    return member


def verify_self(
    member_id: int, name: str, id_number_raw: str, consent: ConsentInput | None
) -> Member:
    consent = _require_consent(
        consent, E.consent_required, "核验医保身份需要您单独同意处理身份证号码等敏感个人信息"
    )
    name = identity.normalise_name(name)
    id_number = identity.parse_id_number(id_number_raw)
    if id_number.age_on(today_shanghai()) < GUARDIAN_CONSENT_AGE:
        raise E.member_too_young()
    check_processing_allowed(member_id, "verify_identity")
    found = identity.lookup_with_limits(member_id, id_number, name)
    with transaction() as session:
        row = session.execute(
            _member_and_person(),
            {"member_id": member_id, "index": identity.person_index(id_number.value)},
        ).one_or_none()
        if row is None:
            raise E.member_not_found()
        member, person, owner_id = row
        if member.person_id not in (None, person.id if person else None):
            raise E.member_already_verified()
        if owner_id not in (None, member.id):
            raise E.identity_already_bound()
        try:
            # A person created meanwhile by another verification breaks the unique blind index.
            person = member.person = identity.store_person(session, id_number, found, person)
            session.add(
                Consent(
                    member_id=member.id,
                    subject_person_id=person.id,
                    purpose="identity_verification",
                    text_version=consent.text_version,
                )
            )
            audit(
                session,
                actor_type="member",
                actor_id=member.id,
                action="identity.verified",
                object_type="person",
                object_id=person.id,
            )
            session.flush()
        except IntegrityError:
            raise E.identity_already_bound() from None
    return member


@functools.cache
def _member_and_person() -> Select:
    """One read for the member, the person with the ID number's blind index if there is one,
    and the account that person is bound to (docs/performance.md, issue 13): (Member, Person or
    None, member id or None). Built once (its aliases cost more to make than to run)."""
    target, owner = aliased(Person), aliased(Member)
    return (
        select(Member, target, owner.id)
        .select_from(Member)
        .outerjoin(target, target.id_number_index == bindparam("index"))
        .outerjoin(owner, owner.person_id == target.id)
        .where(Member.id == bindparam("member_id"))
    )


def refresh_self(member_id: int) -> Member:
    """Re-verify the member's own identity with the bureau when the snapshot is stale."""
    check_processing_allowed(member_id, "verify_identity")
    with transaction() as session:
        member = session.get(Member, member_id)
        if member is None or member.person is None:
            raise E.identity_not_verified()
        if identity.is_stale(member.person):
            identity.reverify(session, member_id, member.person)
    return member


def add_relative(
    member_id: int,
    *,
    name: str,
    id_number_raw: str,
    relation: str,
    consent: ConsentInput | None,
    guardian_consent: ConsentInput | None,
) -> Relative:
    if relation not in RELATIONS:
        raise E.relation_invalid()
    consent = _require_consent(
        consent, E.consent_required, "核验家属医保身份需要您单独同意处理其身份证号码等敏感个人信息"
    )
    name = identity.normalise_name(name)
    id_number = identity.parse_id_number(id_number_raw)
    check_processing_allowed(member_id, "verify_identity")
    with read_scope() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        if member.person_id is None or member.person is None:
            raise E.identity_not_verified()
        if member.person.id_number_index == identity.person_index(id_number.value):
            raise E.relative_is_self()
        impossible = relation_refusal(
            relation,
            member_birth=member.person.birth_date,
            member_gender=member.person.gender,
            relative_birth=id_number.birth_date,
            relative_gender=id_number.gender,
            today=today_shanghai(),
        )
        if impossible is not None:
            raise E.relation_invalid(impossible, errors={"json": {"relation": [impossible]}})
        is_minor = id_number.age_on(today_shanghai()) < GUARDIAN_CONSENT_AGE
        if is_minor:
            guardian_consent = _require_consent(
                guardian_consent,
                E.guardian_consent_required,
                "添加未满14周岁的未成年人，需要监护人同意处理其个人信息",
                field="guardian_consent",
                text=GUARDIAN,
            )
        found = identity.lookup_with_limits(member_id, id_number, name)
    with transaction() as session:
        person = identity.upsert_person(session, id_number, found)
        existing = session.scalar(
            select(Relative.id).where(
                Relative.member_id == member_id, Relative.person_id == person.id
            )
        )
        if existing is not None:
            raise E.relative_exists()
        session.add(
            Consent(
                member_id=member_id,
                subject_person_id=person.id,
                purpose="identity_verification",
                text_version=consent.text_version,
            )
        )
        guardian_row = None
        if is_minor and guardian_consent is not None:
            guardian_row = Consent(
                member_id=member_id,
                subject_person_id=person.id,
                purpose="guardian",
                text_version=guardian_consent.text_version,
            )
            session.add(guardian_row)
            session.flush()
        relative = Relative(
            member_id=member_id,
            person_id=person.id,
            relation=relation,
            guardian_consent_id=guardian_row.id if guardian_row else None,
        )
        session.add(relative)
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action="relative.added",
            object_type="person",
            object_id=person.id,
            detail={"relation": relation},
        )
        try:
            session.flush()
        except IntegrityError:
            raise E.relative_exists() from None
    return relative


def list_relatives(member_id: int) -> list[Relative]:
    return list(
        get_session().scalars(
            select(Relative).where(Relative.member_id == member_id).order_by(Relative.id)
        )
    )


def get_relative(member_id: int, relative_id: int) -> Relative:
    """Only the member's own relatives exist for them: anything else is a plain 404."""
    relative = get_session().scalar(
        select(Relative).where(Relative.id == relative_id, Relative.member_id == member_id)
    )
    if relative is None:
        raise E.relative_not_found()
    return relative


def remove_relative(member_id: int, relative_id: int) -> None:
    with transaction() as session:
        relative = session.scalar(
            select(Relative).where(Relative.id == relative_id, Relative.member_id == member_id)
        )
        if relative is None:
            raise E.relative_not_found()
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action="relative.removed",
            object_type="person",
            object_id=relative.person_id,
        )
        session.delete(relative)
