"""Job use cases: start a programme's batch enrollment, read its progress and rows, cancel it;
claim and run a job (the Celery task's body); find jobs whose runner died and run them again.

Claiming is one conditional UPDATE: a queued job, or a running one whose heartbeat is older than
JOB_STALE_SECONDS, becomes running under a fresh runner token. Two workers racing for a job, or a
redelivered task, therefore run it once; a runner that was declared dead commits nothing more
(see app/jobs/models.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, and_, case, func, insert, literal, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.common.clock import today_shanghai
from app.common.money import yuan
from app.common.pagination import Page, paginate
from app.database import get_session, read_scope, transaction, utcnow
from app.enrollment.models import OrderItem
from app.error_catalogue import E
from app.identity.idnumber import mask_name
from app.jobs import roster_enrollment
from app.jobs.models import ACTIVE_STATUSES, Job, JobRow, JobRowStatus, JobStatus
from app.jobs.throttle import bureau_throttle
from app.members.models import Person
from app.policies.models import Policy, PolicyStatus
from app.sponsors.capacity import product_of_programme
from app.sponsors.models import Programme
from app.sponsors.roster_models import RosterEntry
from app.sponsors.services import get_programme
from app.sponsors.statuses import ProgrammeStatus

log = logging.getLogger(__name__)


# --- starting ----------------------------------------------------------------------------------


def _product_for(programme: Programme):
    """The product a roster job enrolls people in: the programme's, preferring the one on sale
    today (app.sponsors.capacity.product_of_programme)."""
    product = product_of_programme(get_session(), programme, on_sale_on=today_shanghai())
    if product is None:
        raise E.product_not_found(status=409)
    return product


def enrollment_terms(actor: Principal, programme_id: int):
    """The terms an admin agrees to for the people a batch enrollment of this programme would
    insure (the product's current terms), to show before starting one."""
    from app.products.services import current_terms

    return current_terms(_product_for(get_programme(actor, programme_id)))


def start_roster_enrollment(
    actor: Principal, programme_id: int, *, terms_version: str, terms_accepted: bool
) -> Job:
    """Create the job (one row per roster entry not insured this plan year) and queue it.
    With no broker configured it runs at once, in this process."""
    from app.enrollment.services import check_terms
    from app.products.services import current_terms

    programme = get_programme(actor, programme_id)
    if not programme.roster_only:
        raise E.programme_not_roster()
    if programme.status != ProgrammeStatus.ACTIVE:
        raise E.programme_not_active()
    if programme.rule_kind == "percentage" and (programme.rule_basis_points or 0) < 10000:
        raise E.programme_partial_funding()
    product = _product_for(programme)
    if programme.rule_kind == "fixed":  # below every premium of the product: nobody fully paid
        from app.products.services import definition_of

        defn = definition_of(product)
        lowest = min([defn.premium_default_fen, *(r.premium_fen for r in defn.premium_rules)])
        if (programme.rule_amount_fen or 0) < lowest:
            raise E.programme_partial_funding(
                f"该项目每人资助 {yuan(programme.rule_amount_fen or 0)} 元，低于保费"
                f"（最低 {yuan(lowest)} 元），不能批量投保：差额需由本人支付"
            )
    terms = current_terms(product)
    check_terms(terms, version=terms_version, accepted=terms_accepted)
    now = utcnow()
    try:
        with transaction() as session:
            job = Job(
                kind="roster_enrollment",
                programme_id=programme.id,
                organisation_id=programme.organisation_id,
                product_id=product.id,
                plan_year=programme.plan_year,
                status=JobStatus.QUEUED,
                total=0,
                done=0,
                failed=0,
                terms_version=terms.version,
                terms_sha256=terms.sha256,
                terms_agreed_at=now,
                created_by_staff_id=actor.id,
                runs=0,
                created_at=now,
            )
            session.add(job)
            session.flush()
            standing = or_(
                select(Policy.id)
                .where(
                    Policy.person_id == RosterEntry.person_id,
                    Policy.plan_year == programme.plan_year,
                    Policy.status != PolicyStatus.VOID,
                )
                .exists(),
                select(OrderItem.id)
                .where(
                    OrderItem.person_id == RosterEntry.person_id,
                    OrderItem.plan_year == programme.plan_year,
                    OrderItem.open,
                )
                .exists(),
            )
            session.execute(
                insert(JobRow).from_select(
                    ["job_id", "roster_entry_id", "person_id", "status"],
                    # .value: literal() would give a bare enum member an Enum type.
                    select(
                        literal(job.id),
                        RosterEntry.id,
                        RosterEntry.person_id,
                        literal(JobRowStatus.PENDING.value),
                    )
                    .where(RosterEntry.programme_id == programme.id, not_(standing))
                    .order_by(RosterEntry.id),
                )
            )
            total = session.execute(
                select(func.count()).select_from(JobRow).where(JobRow.job_id == job.id)
            ).scalar_one()
            job.total = total
            if total == 0:
                job.status, job.started_at, job.finished_at = JobStatus.SUCCEEDED, now, now
            audit(
                session,
                actor_type="staff",
                actor_id=actor.id,
                action="job.created",
                object_type="job",
                object_id=job.id,
                detail={"programme_id": programme.id, "kind": job.kind, "total": total},
            )
    except IntegrityError as exc:
        if "uq_jobs_one_active_per_programme" not in str(
            exc.orig
        ) and "jobs.programme_id" not in str(exc.orig):
            raise
        raise E.job_already_active() from None
    if job.status == JobStatus.QUEUED:
        from app.jobs.celery_app import enqueue

        enqueue(job.id)
    return fresh(job.id)


def fresh(job_id: int) -> Job:
    session = get_session()
    job = session.get_one(Job, job_id)
    session.refresh(job)
    return job


# --- reading and cancelling --------------------------------------------------------------------


def get_job(actor: Principal, programme_id: int, job_id: int) -> Job:
    programme = get_programme(actor, programme_id)
    job = get_session().scalar(
        select(Job).where(Job.id == job_id, Job.programme_id == programme.id)
    )
    if job is None:
        raise E.job_not_found()
    get_session().refresh(job)
    return job


def list_jobs(actor: Principal, programme_id: int) -> list[Job]:
    programme = get_programme(actor, programme_id)
    return list(
        get_session().scalars(
            select(Job).where(Job.programme_id == programme.id).order_by(Job.id.desc()).limit(20)
        )
    )


def list_rows(
    actor: Principal,
    programme_id: int,
    job_id: int,
    *,
    status: str | None,
    page: int,
    page_size: int,
) -> Page[dict]:
    job = get_job(actor, programme_id, job_id)
    where = [JobRow.job_id == job.id] + ([JobRow.status == status] if status else [])
    found = paginate(
        get_session(),
        select(
            JobRow,
            RosterEntry.id_number_masked,
            Person.name,
            RosterEntry.upload_id,
            RosterEntry.line,
            RosterEntry.name_masked,
            Policy.policy_no,
        )
        .join(RosterEntry, RosterEntry.id == JobRow.roster_entry_id)
        .join(Person, Person.id == JobRow.person_id)
        .outerjoin(Policy, Policy.id == JobRow.policy_id)
        .where(*where)
        .order_by(JobRow.id),
        page,
        page_size,
        max_page_size=current_app.config["MAX_PAGE_SIZE"],
    )
    rows = found.items
    items = [
        {
            "id": row.id,
            "roster_entry_id": row.roster_entry_id,
            "name_masked": mask_name(name),
            "id_number_masked": masked,
            "status": row.status,
            "code": row.code,
            "message": roster_enrollment.ROW_MESSAGES.get(row.code) if row.code else None,
            "policy_id": row.policy_id,
            "policy_no": policy_no,
            "processed_at": row.processed_at,
            "upload_id": upload_id,
            "line": line,
            "uploaded_name_masked": uploaded,
        }
        for row, masked, name, upload_id, line, uploaded, policy_no in rows
    ]
    return replace(found, items=items)


def cancel_job(actor: Principal, programme_id: int, job_id: int) -> Job:
    """Stop at the next batch boundary: rows already enrolled stay enrolled, the rest stay
    pending (a new job picks them up)."""
    job = get_job(actor, programme_id, job_id)
    with transaction() as session:
        won = cast(
            CursorResult[Any],
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status.in_(ACTIVE_STATUSES))
                .values(status=JobStatus.CANCELLED, finished_at=utcnow())
            ),
        ).rowcount
        if won != 1:
            raise E.job_finished()
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="job.cancelled",
            object_type="job",
            object_id=job.id,
            detail={"programme_id": programme_id},
        )
    return fresh(job.id)


def progress(job: Job) -> dict:
    """Percentage processed and, while running, the time left at the rate so far."""
    processed = job.done + job.failed
    percent = 100.0 if job.total == 0 else round(100.0 * processed / job.total, 1)
    eta = None
    if job.status == JobStatus.RUNNING and job.started_at is not None and processed > 0:
        elapsed = (utcnow() - job.started_at).total_seconds()
        eta = int(round(elapsed / processed * (job.total - processed)))
    return {"processed": processed, "percent": percent, "eta_seconds": eta}


# --- running -----------------------------------------------------------------------------------


def claim(job_id: int) -> str | None:
    """Take the job for this runner: queued, or running with a stale heartbeat. The new runner
    token, or None when someone else holds it or it is finished."""
    stale_before = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    token = roster_enrollment.new_token()
    now = utcnow()
    with transaction() as session:
        won = cast(
            CursorResult[Any],
            session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(
                        Job.status == JobStatus.QUEUED,
                        and_(
                            Job.status == JobStatus.RUNNING,
                            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before),
                        ),
                    ),
                )
                .values(
                    status=JobStatus.RUNNING,
                    runner_token=token,
                    heartbeat_at=now,
                    runs=Job.runs + 1,
                    started_at=func.coalesce(Job.started_at, literal(now, Job.started_at.type)),
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
    return token if won == 1 else None


def _finish(job_id: int, token: str, status: str | None, error_code: str | None = None) -> str:
    """End the run. `status` None: every row was processed, and the outcome depends on whether
    any row failed (read in the same statement that writes it)."""
    outcome: Any = (
        case(
            (Job.failed > 0, JobStatus.COMPLETED_WITH_ERRORS.value), else_=JobStatus.SUCCEEDED.value
        )
        if status is None
        else status
    )
    with transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.runner_token == token)
            .values(status=outcome, error_code=error_code, finished_at=utcnow())
        )
        return session.get_one(Job, job_id, populate_existing=True).status


def run_job(job_id: int) -> str:
    """The task: claim the job and work through its pending rows. Returns what happened.

    An ordinary exception ends the job as failed (its rows stay pending for a new job); a crash
    that kills the process leaves it running with a heartbeat that goes stale, and
    `resume_stale` runs it again.
    """
    token = claim(job_id)
    if token is None:
        return "not_claimed"
    with read_scope() as session:
        job = session.get_one(Job, job_id)
        session.refresh(job)
        log.info("job started", extra={"job_id": job_id, "run": job.runs})
    try:
        # The run commits its units of work as it goes; whatever read it leaves open (the
        # sandbox bureau reads through this session) ends here, on success or failure, before
        # the job's outcome is written.
        with read_scope():
            roster_enrollment.run(roster_enrollment.context(job, token), bureau_throttle())
    except roster_enrollment.LostJob:
        log.info("job given up: cancelled or taken over", extra={"job_id": job_id})
        return "lost"
    except roster_enrollment.ProgrammeStopped as stop:
        _finish(job_id, token, JobStatus.FAILED, stop.code)
        log.warning("job stopped", extra={"job_id": job_id, "error_code": stop.code})
        return JobStatus.FAILED
    except Exception as exc:
        # No traceback: an adapter's exception text may carry the person it was asked about.
        log.error("job failed", extra={"job_id": job_id, "error_type": type(exc).__name__})
        _finish(job_id, token, JobStatus.FAILED, "internal_error")
        return JobStatus.FAILED
    outcome = _finish(job_id, token, None)
    log.info("job finished", extra={"job_id": job_id, "status": outcome})
    return outcome


def stale_jobs() -> list[int]:
    """Running jobs whose heartbeat is older than JOB_STALE_SECONDS, and queued jobs that no
    worker took within that time (a lost message, a broker that was down)."""
    cutoff = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    with read_scope() as session:
        ids = list(
            session.scalars(
                select(Job.id)
                .where(
                    or_(
                        and_(
                            Job.status == JobStatus.RUNNING,
                            or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff),
                        ),
                        and_(Job.status == JobStatus.QUEUED, Job.created_at < cutoff),
                    )
                )
                .order_by(Job.id)
            )
        )
    return ids


def resume_stale() -> list[int]:
    """Queue every stale job again (`flask jobs resume`, and a worker when it starts)."""
    from app.jobs.celery_app import enqueue

    ids = stale_jobs()
    for job_id in ids:
        log.info("resuming stale job", extra={"job_id": job_id})
        enqueue(job_id)
    return ids
