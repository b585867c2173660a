"""Real-time identity verification with the bureau (医保身份实时校验).

Used for a member's own identity and for each relative. Abuse controls: rate-limited per member,
per target identity (by blind index, never the number) and globally; a wrong name and an unknown
ID number give the same answer.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app import ratelimit
from app.common.clock import today_shanghai
from app.database import utcnow
from app.error_catalogue import E, error
from app.errors import DomainError
from app.identity.idnumber import IdNumber, IdNumberError, parse
from app.identity.models import InsuranceAnswer, Person
from app.identity.periods import InsuranceHistory, InsuranceObservation, build_history
from app.integrations import registry
from app.integrations.bureau.port import BureauPerson, BureauUnavailable
from app.security.crypto import cipher, index_of

ID_NUMBER_CONTEXT = "persons.id_number"
ID_INDEX_PURPOSE = "person_id_number"
# 生僻字 beyond the BMP (CJK Extension B and later) and the interpuncts minority names are written
# with (·, •, ・) are in real names: the same characters as a sponsor's roster (app/sponsors/rosters.py).
_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f·•・A-Za-z .]{1,40}$")


def not_matched() -> DomainError:
    """A fresh error each time (a shared instance would keep every failed attempt's frames, and
    the personal data in them, alive through its traceback)."""
    return E.identity_not_matched()


def person_index(id_number: str) -> str:
    return index_of(ID_INDEX_PURPOSE, id_number)


def decrypt_id_number(person: Person) -> str:
    """The person's ID number; "" once erased at the end of retention (app/members/retention)."""
    if not person.id_number_enc:
        return ""
    return cipher().decrypt(person.id_number_enc, ID_NUMBER_CONTEXT)


def parse_id_number(raw: str) -> IdNumber:
    try:
        return parse(raw, today=today_shanghai())
    except IdNumberError as exc:
        raise error(exc.code, exc.message, errors={"json": {"id_number": [exc.message]}}) from None


def normalise_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not _NAME.match(name):
        raise E.name_invalid(errors={"json": {"name": ["姓名格式不正确"]}})
    return name


def lookup_with_limits(member_id: int, id_number: IdNumber, name: str) -> BureauPerson:
    """Ask the bureau (1101), counting the attempt against the three limits first."""
    cfg = current_app.config
    # Checked together, counted only when all allow: a member refused by their own limit does
    # not use up the city-wide budget.
    ratelimit.hit_all(
        [
            (cfg["RATE_LIMIT_VERIFY_PER_USER"], "verify-member", str(member_id)),
            (cfg["RATE_LIMIT_VERIFY_PER_TARGET"], "verify-target", person_index(id_number.value)),
            (cfg["RATE_LIMIT_VERIFY_GLOBAL"], "verify-global", "all"),
        ]
    )
    try:
        found = registry.bureau().lookup_person(id_number.value, name)
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    if found is None or found.certno != id_number.value:
        raise not_matched() from None
    return found


def upsert_person(session: Session, id_number: IdNumber, found: BureauPerson) -> Person:
    """Find the shared person record by blind index (or create it) and store the snapshot."""
    return store_person(session, id_number, found, find_person(session, id_number))


def find_person(session: Session, id_number: IdNumber) -> Person | None:
    """The person with this ID number, by blind index (`person_index`), if known."""
    return session.scalar(
        select(Person).where(Person.id_number_index == person_index(id_number.value))
    )


def store_person(
    session: Session, id_number: IdNumber, found: BureauPerson, person: Person | None
) -> Person:
    """Store the bureau's snapshot on `person`, the record of this ID number as read in the
    caller's transaction (`find_person`, or the same blind-index match joined to another read),
    or create the record when there is none (then there are no earlier answers to compare)."""
    created = person is None
    if person is None:
        person = Person(
            id_number_enc=cipher().encrypt(id_number.value, ID_NUMBER_CONTEXT),
            id_number_index=person_index(id_number.value),
            name=found.name,
            birth_date=id_number.birth_date,
            gender=id_number.gender,
        )
        session.add(person)
    apply_snapshot(person, found)
    session.flush()
    record_answers(session, person, found, earlier=not created)
    return person


def record_answers(
    session: Session, person: Person, found: BureauPerson, *, earlier: bool = True
) -> None:
    """Keep the bureau's insuinfo rows as history (in the caller's transaction, with the
    snapshot). An answer the same as the person's latest for that insurance type on the same
    day adds nothing, so re-verifying twice a day does not grow the table. `earlier=False`:
    the person was created in this transaction, so there is nothing to compare with."""
    today = today_shanghai()
    latest: dict[str, InsuranceAnswer] = {}
    kept = (
        session.scalars(
            select(InsuranceAnswer)
            .where(InsuranceAnswer.person_id == person.id, InsuranceAnswer.observed_on == today)
            .order_by(InsuranceAnswer.id)
        )
        if earlier
        else ()
    )
    for answer in kept:
        latest[answer.insutype] = answer
    for row in answer_rows(person.id, found, today):
        same = latest.get(row["insutype"])
        if same is not None and (same.psn_insu_stas, same.paus_insu_date, same.begin_date) == (
            row["psn_insu_stas"],
            row["paus_insu_date"],
            row["begin_date"],
        ):
            continue
        session.add(InsuranceAnswer(**row))
    session.flush()


def answer_rows(person_id: int, found: BureauPerson, observed_on: date) -> list[dict]:
    """The insurance_answers rows for one 1101 answer (a bulk writer inserts them itself)."""
    return [
        {
            "person_id": person_id,
            "insutype": rec.insutype,
            "psn_insu_stas": rec.status,
            "paus_insu_date": rec.paused_on,
            "begin_date": rec.begin_date,
            "observed_on": observed_on,
        }
        for rec in found.insurance
    ]


_ANSWERS = (
    select(
        InsuranceAnswer.insutype,
        InsuranceAnswer.psn_insu_stas,
        InsuranceAnswer.observed_on,
        InsuranceAnswer.paus_insu_date,
        InsuranceAnswer.begin_date,
    )
    .where(InsuranceAnswer.person_id == bindparam("person_id"))
    .order_by(InsuranceAnswer.observed_on, InsuranceAnswer.id)
)  # built once: every claim adjudication and every trial at the counter reads it


def insurance_history(session: Session, person_id: int) -> InsuranceHistory:
    """The person's basic-insurance periods from every answer kept (app/identity/periods.py);
    answers the period rules cannot read (an unknown status code) are left out."""
    observations = []
    for row in session.execute(_ANSWERS, {"person_id": person_id}):
        try:
            observations.append(
                InsuranceObservation(
                    insutype=row.insutype,
                    psn_insu_stas=row.psn_insu_stas,
                    observed_on=row.observed_on,
                    paus_insu_date=row.paus_insu_date,
                    begin_date=row.begin_date,
                )
            )
        except ValueError:
            continue
    return build_history(observations)


def apply_snapshot(person: Person, found: BureauPerson) -> None:
    region_prefix = current_app.config["BUREAU_REGION"][:4]
    record = found.primary_insurance(region_prefix)
    person.name = found.name
    person.psn_no = found.psn_no
    person.birth_date = found.birth_date
    person.gender = found.gender if found.gender in ("1", "2") else person.gender
    person.identity_flags = found.identity_flags
    person.verified_at = utcnow()
    if record is None:
        person.insurance_type = person.insurance_status = person.region_code = None
        person.suspended_since = None
        person.has_personal_account = False
        return
    person.insurance_type = record.insurance_type if record.insurance_type != "other" else None
    person.insurance_status = "active" if record.active else "suspended"
    person.suspended_since = None if record.active else record.paused_on
    person.region_code = record.region_code
    person.has_personal_account = record.insutype == "310" and record.balance_fen is not None


def is_stale(person: Person) -> bool:
    return is_stale_at(person.verified_at)


def is_stale_at(verified_at: datetime | None) -> bool:
    """Whether a snapshot verified then is too old to act on (VERIFICATION_MAX_AGE_SECONDS)."""
    max_age = timedelta(seconds=current_app.config["VERIFICATION_MAX_AGE_SECONDS"])
    return verified_at is None or utcnow() - verified_at > max_age


def reverify(session: Session, member_id: int, person: Person) -> Person:
    """Re-ask the bureau for a known person (stale snapshot) and update it."""
    id_number = parse_id_number(decrypt_id_number(person))
    found = lookup_with_limits(member_id, id_number, person.name)
    apply_snapshot(person, found)
    session.flush()
    record_answers(session, person, found)
    return person
