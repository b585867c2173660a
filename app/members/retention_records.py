"""The retention of other bodies' records that name a person (docs/privacy.md, "Other bodies'
records"), enforced by the same daily `flask members purge-retained` (app/members/retention.py):

- a hospital's direct-settlement trial (预结算) never confirmed: the hospital's request (the
  patient's settlement and every billed item: personal and health data) kept only for the
  counter's confirmation, the day's reconciliation and disputes over the statements; it is
  deleted DIRECT_TRIAL_RETENTION_DAYS (180) after it was made. A confirmed trial is part of
  its claim's record: it is scrubbed with the claim's account (retention.py);
- a sponsor programme's roster (the people it named, their categories, names, masked ID
  numbers) and its batch enrollment's rows: kept as long as the insurance records of the cover
  the programme bought (privacy_rules.programme_retained_until), then deleted, with the
  upload reports' masked rows; the uploads' and jobs' counts stay. The people they named whom
  nothing else holds (retention_holds) are anonymised in the same transaction: nothing else
  would name them afterwards.

Both lock what they delete, so two runs at once delete and count each row once, and a
confirmation committed while the trials' purge waited keeps its trial.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.database import rowcount
from app.direct_settlement.models import DirectSettlement, DirectTrial
from app.jobs.models import ACTIVE_STATUSES, Job, JobRow
from app.members.privacy_rules import programme_retained_until
from app.members.retention_holds import anonymise, person_held
from app.products.models import Product
from app.sponsors.models import Programme
from app.sponsors.roster_models import RosterEntry, RosterReportRow, RosterUpload

TRIAL_BATCH = 500


def _unconfirmed() -> ColumnElement[bool]:
    return ~exists().where(DirectSettlement.trial_id == DirectTrial.id)


def delete_old_trials(
    session: Session, now: datetime, days: int, after_id: int
) -> tuple[int | None, int]:
    """Delete the next batch (ids above `after_id`) of trials made more than `days` ago and
    never confirmed: (the last id looked at, None when none was left; how many deleted). The
    batch is locked first, then deleted only where it is still unconfirmed: a confirmation
    that committed while this waited for its trial keeps it; of two runs, the second finds
    the rows gone."""
    ids = list(
        session.scalars(
            select(DirectTrial.id)
            .where(
                DirectTrial.id > after_id,
                DirectTrial.created_at < now - timedelta(days=days),
                _unconfirmed(),
            )
            .order_by(DirectTrial.id)
            .limit(TRIAL_BATCH)
            .with_for_update()
        )
    )
    if not ids:
        return None, 0
    # a statement of its own: it sees what committed while the locks were awaited
    gone = session.execute(delete(DirectTrial).where(DirectTrial.id.in_(ids), _unconfirmed()))
    return ids[-1], rowcount(gone)


def due_programmes(session: Session, today: date) -> list[int]:
    """Programmes past their retention that still have roster entries, batch rows or report
    rows."""
    covers = dict(session.execute(select(Product.id, Product.coverage_ends)).all())
    by_year: dict[int, list[date]] = {}
    for year, end in session.execute(select(Product.plan_year, Product.coverage_ends)):
        by_year.setdefault(year, []).append(end)
    due = [
        p.id
        for p in session.execute(
            select(Programme.id, Programme.ends_on, Programme.plan_year, Programme.product_id)
        )
        if programme_retained_until(
            p.ends_on,
            [covers[p.product_id]] if p.product_id in covers else by_year.get(p.plan_year, []),
        )
        < today
    ]
    if not due:
        return []
    found = set(
        session.scalars(select(RosterEntry.programme_id).where(RosterEntry.programme_id.in_(due)))
    )
    found.update(
        session.scalars(
            select(Job.programme_id)
            .join(JobRow, JobRow.job_id == Job.id)
            .where(Job.programme_id.in_(due))
        )
    )
    found.update(
        session.scalars(
            select(RosterUpload.programme_id)
            .join(RosterReportRow, RosterReportRow.upload_id == RosterUpload.id)
            .where(RosterUpload.programme_id.in_(due))
        )
    )
    return sorted(found)


def purge_programme(session: Session, programme_id: int, today: date) -> Counter[str]:
    """Delete a programme's roster entries, batch rows and report rows, anonymise the people
    they named whom nothing else holds, audit with counts; empty when there was nothing (a run
    at the same time did it) or a batch job of it still runs (the next run)."""
    # locked: of two runs at once, the second waits here and finds the rows gone
    session.scalar(select(Programme.id).where(Programme.id == programme_id).with_for_update())
    jobs = select(Job.id).where(Job.programme_id == programme_id)
    if session.scalar(jobs.where(Job.status.in_(ACTIVE_STATUSES)).limit(1)) is not None:
        return Counter()
    people = set(
        session.scalars(
            select(RosterEntry.person_id).where(RosterEntry.programme_id == programme_id)
        )
    ) | set(session.scalars(select(JobRow.person_id).where(JobRow.job_id.in_(jobs))))
    uploads = select(RosterUpload.id).where(RosterUpload.programme_id == programme_id)
    counts: Counter[str] = Counter()
    for name, statement in (
        ("job_rows", delete(JobRow).where(JobRow.job_id.in_(jobs))),
        ("roster_entries", delete(RosterEntry).where(RosterEntry.programme_id == programme_id)),
        (
            "roster_report_rows",
            delete(RosterReportRow).where(RosterReportRow.upload_id.in_(uploads)),
        ),
    ):
        counts[name] += rowcount(session.execute(statement))
    if not any(counts.values()):
        return Counter()
    for person_id in sorted(people):
        # member id 0 is no account's: every live account's row holds the person
        if person_held(session, person_id, 0, today):
            counts["people_kept"] += 1
        elif anonymise(session, person_id):
            counts["people_anonymised"] += 1
            audit(
                session,
                actor_type="system",
                actor_id=None,
                action="person.retention_anonymised",
                object_type="person",
                object_id=person_id,
            )
    audit(
        session,
        actor_type="system",
        actor_id=None,
        action="programme.retention_purged",
        object_type="programme",
        object_id=programme_id,
        detail=dict(sorted(counts.items())),
    )
    counts["programmes"] += 1
    return counts
