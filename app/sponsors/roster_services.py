"""Roster use cases: upload (check every row, list the valid people on the programme's roster,
keep a masked per-row report), the roster's summary and entries, the report as CSV, and who is on
which roster (the subsidy matcher asks, `rostered_programmes`).

An upload is one transaction of set-based statements (COPY on PostgreSQL, app/common/bulk.py): the people are looked up
by blind index and the new ones inserted (ID number encrypted) with INSERT ... ON CONFLICT DO
NOTHING, then the entries the same way against the unique (programme, person), so an identical or
overlapping re-upload, or two uploads at once, list each person once. Nobody is enrolled here: a batch enrollment job does
that (app/jobs).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, not_, select

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.common.bulk import among, insert_rows, insert_rows_ignoring_conflicts, update_rows
from app.common.clock import today_shanghai
from app.common.pagination import Page, paginate
from app.database import get_session, transaction, utcnow
from app.enrollment.models import OrderItem
from app.error_catalogue import E, error
from app.identity.idnumber import mask_name
from app.identity.services import ID_NUMBER_CONTEXT, person_index
from app.integrations.bureau.port import CATEGORY_NAMES
from app.members.models import Person
from app.policies.models import Policy, PolicyStatus
from app.security.crypto import cipher
from app.sponsors import rosters
from app.sponsors.models import Programme
from app.sponsors.roster_models import RosterEntry, RosterReportRow, RosterUpload
from app.sponsors.services import get_programme
from app.sponsors.statuses import ProgrammeStatus

log = logging.getLogger(__name__)

CHUNK = 10_000  # values per lookup (SQLite allows 32,766 parameters a statement)
OUTCOME_MESSAGES = {
    "added": "已加入资助名单",
    "already_listed": "已在资助名单中（重复上传，未重复添加）",
    "already_insured": "本保障年度已投保，未加入名单",
}
OUTCOME_LABELS = {
    "added": "已加入",
    "already_listed": "已在名单中",
    "already_insured": "已投保",
    "invalid": "未通过校验",
}


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _roster_programme(actor: Principal, programme_id: int) -> Programme:
    programme = get_programme(actor, programme_id)
    if not programme.roster_only:
        raise E.programme_not_roster()
    return programme


def standing_person_ids(session, person_ids: Iterable[int], plan_year: int) -> set[int]:
    """Of these people, those insured this plan year: a policy that is not void, or an open
    order item (an enrollment under way)."""
    ids = list(person_ids)
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(
            session.scalars(
                select(Policy.person_id).where(
                    among(session, Policy.person_id, chunk),
                    Policy.plan_year == plan_year,
                    Policy.status != PolicyStatus.VOID,
                )
            )
        )
        found.update(
            session.scalars(
                select(OrderItem.person_id).where(
                    among(session, OrderItem.person_id, chunk),
                    OrderItem.plan_year == plan_year,
                    OrderItem.open,
                )
            )
        )
    return found


def upload_roster(actor: Principal, programme_id: int, data: bytes) -> RosterUpload:
    programme = _roster_programme(actor, programme_id)
    if programme.status == ProgrammeStatus.CLOSED:
        raise E.programme_closed()
    cfg = current_app.config
    today = today_shanghai()
    try:
        parsed = rosters.parse_roster(
            data,
            today=today,
            max_rows=cfg["ROSTER_MAX_ROWS"],
            max_xlsx_uncompressed=cfg["ROSTER_XLSX_MAX_UNCOMPRESSED_BYTES"],
        )
    except rosters.RosterError as exc:
        raise error(exc.code, exc.message, errors={"files": {"file": [exc.message]}}) from None
    valid = parsed.valid_rows
    index_of = {row.valid_id_number: person_index(row.valid_id_number) for row in valid}
    with transaction() as session:
        mismatched: set[str] = set()
        person_of = _persons_for(session, valid, index_of, mismatched)
        for number in mismatched:  # refused like an invalid row: never listed
            del person_of[number]
        valid = [row for row in valid if row.valid_id_number not in mismatched]
        listed: dict[int, tuple[int, str | None]] = {}  # person id -> (entry id, its name)
        for chunk in _chunks(list(person_of.values())):
            listed.update(
                (person_id, (entry_id, name))
                for person_id, entry_id, name in session.execute(
                    select(RosterEntry.person_id, RosterEntry.id, RosterEntry.name).where(
                        RosterEntry.programme_id == programme.id,
                        among(session, RosterEntry.person_id, chunk),
                    )
                )
            )
        insured = standing_person_ids(
            session, set(person_of.values()) - set(listed), programme.plan_year
        )

        upload = RosterUpload(
            programme_id=programme.id,
            uploaded_by_staff_id=actor.id,
            file_format=parsed.file_format,
            file_bytes=len(data),
            file_sha256=hashlib.sha256(data).hexdigest(),
            rows_total=0,
            rows_invalid=0,
            added=0,
            already_listed=0,
            already_insured=0,
        )  # counted below, once the entries are in
        session.add(upload)
        session.flush()
        to_add = [
            row
            for row in valid
            if person_of[row.valid_id_number] not in listed
            and person_of[row.valid_id_number] not in insured
        ]
        now = utcnow()
        insert_rows_ignoring_conflicts(
            session,
            RosterEntry.__table__,
            [
                {
                    "programme_id": programme.id,
                    "person_id": person_of[row.valid_id_number],
                    "upload_id": upload.id,
                    "category": row.category,
                    "id_number_masked": row.id_number_masked,
                    "line": row.line,
                    "name_masked": row.name_masked[:64],
                    "name": row.name[:64],
                    "created_at": now,
                }
                for row in to_add
            ],
        )
        # Listed before: the name this upload gives is the one the enrolment checks (a re-upload
        # corrects a mistyped name).
        renamed = [
            {"id": listed[person_id][0], "name": row.name[:64]}
            for row in valid
            if (person_id := person_of[row.valid_id_number]) in listed
            and listed[person_id][1] != row.name[:64]
        ]
        if renamed:
            update_rows(session, RosterEntry.__table__, renamed)
        # An upload running at the same time may have listed some of them first: only the
        # entries carrying this upload's id were added by it.
        added: set[int] = set()
        for chunk in _chunks([person_of[row.valid_id_number] for row in to_add]):
            added.update(
                session.scalars(
                    select(RosterEntry.person_id).where(
                        RosterEntry.programme_id == programme.id,
                        RosterEntry.upload_id == upload.id,
                        among(session, RosterEntry.person_id, chunk),
                    )
                )
            )

        report, counts = [], {"added": 0, "already_listed": 0, "already_insured": 0, "invalid": 0}
        for row in parsed.rows:
            if not row.valid:
                outcome, code, message = "invalid", row.code, row.message
            elif row.valid_id_number in mismatched:
                code = "roster_name_mismatch"
                outcome, message = "invalid", rosters.MESSAGES[code]
            else:
                person_id = person_of[row.valid_id_number]
                outcome = (
                    "added"
                    if person_id in added
                    else "already_insured"
                    if person_id in insured
                    else "already_listed"
                )
                code, message = f"roster_{outcome}", OUTCOME_MESSAGES[outcome]
            counts[outcome] += 1
            report.append(
                {
                    "upload_id": upload.id,
                    "line": row.line,
                    "name_masked": row.name_masked[:64],
                    "id_number_masked": row.id_number_masked[:48],
                    "category": row.category,
                    "outcome": outcome,
                    "code": code,
                    "message": message[:200],
                }
            )
        for chunk in _chunks(report, 5000):
            insert_rows(session, RosterReportRow.__table__, chunk)
        upload.rows_total = len(parsed.rows)
        upload.rows_invalid = counts["invalid"]
        upload.added = counts["added"]
        upload.already_listed = counts["already_listed"]
        upload.already_insured = counts["already_insured"]
        upload.budget_warning = _budget_warning(session, programme)
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="roster.uploaded",
            object_type="programme",
            object_id=programme.id,
            detail={"upload_id": upload.id, **counts},
        )
    log.info(
        "roster uploaded", extra={"programme_id": programme.id, "upload_id": upload.id, **counts}
    )
    return upload


def entry_of(programme_id: int, person_id: Any) -> Any:
    """The join condition of a programme's roster entry for `person_id` (a column): the batch
    enrolment asks the bureau with the name the entry gave, so a row whose name does not go
    with its ID number is refused, else with the person's own (entries listed before)."""
    return (RosterEntry.programme_id == programme_id) & (RosterEntry.person_id == person_id)


def _persons_for(
    session, valid: list[rosters.RosterRow], index_of: dict[str, str], mismatched: set[str]
) -> dict[str, int]:
    """The Person id of every valid row (by blind index), creating the ones not yet known.

    A new person gets the roster's name and the birth date and sex the ID number carries; the
    enrollment job verifies them with the bureau, which then corrects the name. A known person
    never verified takes the name of the latest roster; a verified one keeps the bureau's, and a
    row naming them otherwise is added to `mismatched` (its ID number): a mistyped number would
    otherwise enroll a stranger at the sponsor's cost.
    """
    by_index = {index_of[row.valid_id_number]: row for row in valid}
    person_of: dict[str, int] = {}
    unverified: dict[int, str] = {}
    indexes = list(by_index)

    def lookup(chunk):
        for person_id, index, name, verified_at in session.execute(
            select(Person.id, Person.id_number_index, Person.name, Person.verified_at).where(
                among(session, Person.id_number_index, chunk)
            )
        ):
            row = by_index[index]
            person_of[row.valid_id_number] = person_id
            if verified_at is None and name != row.name:
                unverified[person_id] = row.name
            elif verified_at is not None and not rosters.same_name(row.name, name):
                mismatched.add(row.valid_id_number)

    for chunk in _chunks(indexes):
        lookup(chunk)
    new = [row for row in valid if row.valid_id_number not in person_of]
    if new:
        seal = cipher().encrypt
        now = utcnow()
        fresh: list[dict[str, Any]] = []
        for row in new:
            fresh.append(
                {
                    "id_number_enc": seal(row.valid_id_number, ID_NUMBER_CONTEXT),
                    "id_number_index": index_of[row.valid_id_number],
                    "name": row.name,
                    "birth_date": row.birth_date,
                    "gender": row.gender,
                    "identity_flags": [],
                    "has_personal_account": False,
                    "created_at": now,
                }
            )
        for chunk in _chunks(fresh, 5000):
            insert_rows_ignoring_conflicts(session, Person.__table__, chunk)
        for chunk in _chunks([index_of[row.valid_id_number] for row in new]):
            lookup(chunk)
    if unverified:
        update_rows(
            session,
            Person.__table__,
            [{"id": pid, "name": name} for pid, name in unverified.items()],
        )
    return person_of


# --- reading ---------------------------------------------------------------------------------


def roster_summary(actor: Principal, programme_id: int) -> dict:
    programme = _roster_programme(actor, programme_id)
    session = get_session()
    entries = (
        session.scalar(
            select(func.count())
            .select_from(RosterEntry)
            .where(RosterEntry.programme_id == programme.id)
        )
        or 0
    )
    insured = (
        session.scalar(
            select(func.count())
            .select_from(RosterEntry)
            .where(RosterEntry.programme_id == programme.id, _insured_clause(programme.plan_year))
        )
        or 0
    )
    uploads = list(
        session.scalars(
            select(RosterUpload)
            .where(RosterUpload.programme_id == programme.id)
            .order_by(RosterUpload.id.desc())
            .limit(20)
        )
    )
    return {
        "programme_id": programme.id,
        "plan_year": programme.plan_year,
        "entries": entries,
        "insured": insured,
        "uploads": uploads,
    }


def _budget_warning(session, programme: Programme) -> dict | None:
    """The numbers, when the programme cannot pay for everyone on its roster who is not insured
    yet (the enrollment job would leave the rest failed for the budget)."""
    from app.sponsors.capacity import programme_capacity

    room = programme_capacity(session, programme)
    if room is None:
        return None
    waiting = (
        session.scalar(
            select(func.count())
            .select_from(RosterEntry)
            .where(
                RosterEntry.programme_id == programme.id,
                not_(_insured_clause(programme.plan_year)),
            )
        )
        or 0
    )
    if room.covers(waiting):
        return None
    return {
        "code": "roster_budget_short",
        "message": f"名单中尚未参保 {waiting} 人，{room.shortfall_text(waiting)}；"
        "请追加预算，否则超出部分将无法参保",
        "people_waiting": waiting,
        "people_covered": room.people,
        "budget_left_fen": room.budget_left_fen,
        "per_person_fen": room.per_person_fen,
        "quota_left": room.quota_left,
    }


def _insured_clause(plan_year: int):
    return exists().where(
        Policy.person_id == RosterEntry.person_id,
        Policy.plan_year == plan_year,
        Policy.status != PolicyStatus.VOID,
    )


def list_entries(actor: Principal, programme_id: int, page: int, page_size: int) -> Page[dict]:
    programme = _roster_programme(actor, programme_id)
    found = paginate(
        get_session(),
        select(RosterEntry, Person.name, _insured_clause(programme.plan_year).label("insured"))
        .join(Person, Person.id == RosterEntry.person_id)
        .where(RosterEntry.programme_id == programme.id)
        .order_by(RosterEntry.id),
        page,
        page_size,
        max_page_size=current_app.config["MAX_PAGE_SIZE"],
    )
    rows = found.items
    items = [
        {
            "id": entry.id,
            "name_masked": mask_name(name),
            "id_number_masked": entry.id_number_masked,
            "category": entry.category,
            "insured": bool(insured),
            "upload_id": entry.upload_id,
            "created_at": entry.created_at,
        }
        for entry, name, insured in rows
    ]
    return replace(found, items=items)


def get_upload(actor: Principal, programme_id: int, upload_id: int) -> RosterUpload:
    programme = _roster_programme(actor, programme_id)
    upload = get_session().scalar(
        select(RosterUpload).where(
            RosterUpload.id == upload_id, RosterUpload.programme_id == programme.id
        )
    )
    if upload is None:
        raise E.roster_upload_not_found()
    return upload


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


REPORT_HEADER = ["行号", "姓名", "身份证号", "类别", "结果", "代码", "说明"]


def report_rows(actor: Principal, programme_id: int, upload_id: int) -> list[list]:
    """The upload's per-row report in line order: line, masked name and ID number, category
    (its Chinese name: the report is read by people, and a re-upload accepts the name),
    outcome label, code, message (the CSV and the XLSX download share it)."""
    upload = get_upload(actor, programme_id, upload_id)
    rows = get_session().scalars(
        select(RosterReportRow)
        .where(RosterReportRow.upload_id == upload.id)
        .order_by(RosterReportRow.line)
    )
    return [
        [
            row.line,
            row.name_masked,
            row.id_number_masked,
            CATEGORY_NAMES.get(row.category, row.category) if row.category else None,
            OUTCOME_LABELS[row.outcome],
            row.code,
            row.message,
        ]
        for row in rows
    ]


def report_csv(actor: Principal, programme_id: int, upload_id: int) -> bytes:
    """The upload's per-row report, UTF-8 with a BOM (so Excel shows the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    for line, name, id_number, category, outcome, code, message in report_rows(
        actor, programme_id, upload_id
    ):
        writer.writerow(
            [line, _cell(name), _cell(id_number), _cell(category), outcome, code, _cell(message)]
        )
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# --- the subsidy matcher's question ---------------------------------------------------------


def rostered_programmes(
    session, person_ids: list[int], programme_ids: list[int]
) -> dict[int, frozenset[int]]:
    """person id -> the ids (among `programme_ids`) of the programmes whose roster lists them."""
    if not person_ids or not programme_ids:
        return {}
    found: dict[int, set[int]] = {}
    for person_id, programme_id in session.execute(
        select(RosterEntry.person_id, RosterEntry.programme_id).where(
            and_(RosterEntry.person_id.in_(person_ids), RosterEntry.programme_id.in_(programme_ids))
        )
    ):
        found.setdefault(person_id, set()).add(programme_id)
    return {k: frozenset(v) for k, v in found.items()}
