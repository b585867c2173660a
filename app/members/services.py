"""Member use cases: verify one's own identity, manage relatives. Each owns its transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit.services import record as audit
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, transaction
from app.error_catalogue import E, ErrorSpec, error
from app.identity import services as identity
from app.members.models import RELATIONS, Consent, Member, Person, Relative
from app.members.privacy import check_processing_allowed, refuse_outdated_text
from app.members.privacy_rules import GUARDIAN, PERSONAL_INFORMATION
from app.members.relation_rules import (
    Party,
    already_listed_message,
    relation_refusal,
    spouse_refusal,
)

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


def _check_relation(session, member: Member, relation: str, relative: Party, index: str) -> None:
    """The member's list and the two birth dates allow this relative (app/members/
    relation_rules.py), or raise: already listed (409 relative_exists, naming the relation), an
    implausible relation (422), a second spouse (409 spouse_already_added). One read of the
    member's relatives."""
    listed = session.execute(
        select(Relative.relation, Person.id_number_index)
        .join(Person, Person.id == Relative.person_id)
        .where(Relative.member_id == member.id)
    ).all()
    for listed_relation, listed_index in listed:
        if listed_index == index:
            raise E.relative_exists(already_listed_message(listed_relation))
    assert member.person is not None  # the callers refuse a member not yet verified
    refusal = relation_refusal(
        relation,
        member=Party(member.person.birth_date, member.person.gender),
        relative=relative,
        today=today_shanghai(),
    ) or spouse_refusal(relation, sum(r == "spouse" for r, _ in listed))
    if refusal is not None:
        raise error(refusal.code, refusal.message, errors={"json": {"relation": [refusal.message]}})


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
    index = identity.person_index(id_number.value)
    check_processing_allowed(member_id, "verify_identity")
    with read_scope() as session:
        member = session.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        if member.person_id is None or member.person is None:
            raise E.identity_not_verified()
        if member.person.id_number_index == index:
            raise E.relative_is_self()
        # Judged on the ID number before the bureau is asked (nothing spent on a refusal), and
        # again below on the bureau's answer, under the member's lock.
        _check_relation(
            session, member, relation, Party(id_number.birth_date, id_number.gender), index
        )
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
        # The member's row locked first (FOR UPDATE on PostgreSQL; SQLite compiles it to nothing
        # and has one writer at a time): two requests adding a spouse at once are judged one
        # after the other, and the second sees the first's relative.
        session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
        member = session.get_one(Member, member_id)
        person = identity.upsert_person(session, id_number, found)
        _check_relation(session, member, relation, Party(person.birth_date, person.gender), index)
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


def spouses_listed(session, member_id: int, relations: Iterable[str] = ("spouse",)) -> int:
    """How many spouses the member's list holds, for the personal account's family rule
    (app/members/relation_rules.py family_pool_refusal). `relations`: those being paid for; no
    spouse among them, nothing to count (0, and no query)."""
    if "spouse" not in relations:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Relative)
            .where(Relative.member_id == member_id, Relative.relation == "spouse")
        )
        or 0
    )


def relations_now(session, member_id: int, person_ids: Iterable[int]) -> dict[int, str]:
    """Each of these people's relation on the member's list of relatives today; a person not on
    it is left out. No statement when there is nobody to look up."""
    wanted = set(person_ids)
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(Relative.person_id, Relative.relation).where(
                Relative.member_id == member_id, Relative.person_id.in_(wanted)
            )
        ).all()
    )


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
