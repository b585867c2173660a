"""Batch enrollment of a roster-only programme's people, paid in full by the programme.

For each batch of pending job rows (JOB_BATCH_SIZE):

1. **verify** every person with the bureau (1101, by the stored encrypted ID number and name),
   each call kept within BUREAU_CALLS_PER_SECOND (`throttle`), outside any transaction of ours;
2. **decide** per person with the same pure rules as a member's quote (`app.enrollment.quote`):
   basic insurance active in the region, window open, not already insured, the premium, and the
   programme's subsidy (`app.sponsors.rules.subsidy_for`), which must cover all of it;
3. **enroll** the batch in ONE transaction: the bureau's answers written to the people, then the
   enrollment writer every path uses (app/enrollment/writer.py): the paid orders and their
   items, the programme's budget and quota reserved by one conditional UPDATE for the whole
   batch (person by person when the batch does not fit, so people are refused in order and the
   budget is never overspent; the orders of the refused are deleted again), the ledgers'
   entries, the policies, their audit rows and the enrollment counters, all in bulk
   (app/common/bulk.py); then the job rows' outcomes and the job's counters.

Idempotency is per row: a row is `succeeded` exactly when its order and policy committed with it;
the commit goes through an UPDATE of the job naming this runner's token (a runner that lost the
job commits nothing). A crash loses at most the open batch, which the next runner redoes; the
partial unique indexes (one open order item, one standing policy per person and year) forbid a
second enrollment whatever happens. A batch refused by the database (someone enrolled meanwhile)
is split in halves, each its own transaction, down to the refused row, which is settled alone.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app.common.bulk import among, update_rows
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, transaction, utcnow
from app.enrollment.quote import (
    ALREADY_INSURED,
    NOT_INSURED,
    OUTSIDE_REGION,
    RELATION_NOT_ALLOWED,
    SUSPENDED,
    WINDOW_CLOSED,
    Candidate,
    Payer,
    SubsidyOffer,
    age_on,
    quote,
)
from app.enrollment.writer import (
    WHILE_IT_LASTS,
    EnrollmentPlan,
    Insured,
    OrderSpec,
    table_of,
    write_enrollments,
)
from app.identity.models import InsuranceAnswer
from app.identity.services import answer_rows, apply_snapshot, decrypt_id_number
from app.integrations import registry
from app.integrations.bureau.port import BureauPerson, BureauUnavailable
from app.jobs.models import Job, JobRow, JobRowStatus, JobStatus
from app.jobs.throttle import Throttle
from app.members.models import Person
from app.policies.models import Policy, PolicyStatus
from app.products.definition import ProductDefinition
from app.sponsors import roster_services, rules
from app.sponsors.models import Programme
from app.sponsors.roster_models import RosterEntry
from app.sponsors.roster_services import standing_person_ids
from app.sponsors.statuses import ProgrammeStatus

log = logging.getLogger(__name__)

ENROLLED = "enrolled"
ROW_MESSAGES = {
    ENROLLED: "已投保，保费由资助项目全额支付",
    "identity_not_matched": "姓名与身份证号不匹配，或未查询到本市基本医疗保险参保信息",
    "bureau_unavailable": "医保系统暂时无法核验身份，可稍后重新发起批量投保",
    "not_fully_funded": "资助项目不能支付全部保费，需本人投保并支付差额",
    "budget_exhausted": "资助项目预算不足",
    "quota_exhausted": "资助项目名额已用完",
    "programme_not_active": "资助项目已暂停或关闭",
    "enrollment_conflict": "投保未能完成，请稍后重新发起批量投保",
    **{
        r.code: r.message
        for r in (
            WINDOW_CLOSED,
            NOT_INSURED,
            SUSPENDED,
            OUTSIDE_REGION,
            ALREADY_INSURED,
            RELATION_NOT_ALLOWED,
        )
    },
}
BUREAU_ATTEMPTS = 3
BUREAU_RETRY_PAUSE = 0.2  # seconds, doubled after each failed attempt


class LostJob(Exception):
    """This runner no longer holds the job (cancelled, or taken over as stale)."""


class ProgrammeStopped(Exception):
    """The programme cannot fund anyone now (paused, closed, outside its dates)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Context:
    """What a run needs, read once when it starts."""

    job_id: int
    token: str
    programme_id: int
    funder_name: str
    funder_kind: str
    rule: rules.FundingRule
    product_id: int
    defn: ProductDefinition
    plan_year: int
    terms_version: str
    terms_sha256: str
    terms_agreed_at: datetime
    batch_size: int
    heartbeat_every: float  # seconds


@dataclass
class PersonView:
    """The columns of `persons` a run reads and writes, without the ORM: `apply_snapshot` (the
    member flow's own function) sets the bureau's answer on it, and a batch writes them back in
    one statement (`SNAPSHOT_COLUMNS`)."""

    id: int
    id_number_enc: str
    name: str
    birth_date: date
    gender: str
    psn_no: str | None = None
    insurance_type: str | None = None
    insurance_status: str | None = None
    suspended_since: date | None = None
    region_code: str | None = None
    identity_flags: list = field(default_factory=list)
    has_personal_account: bool = False
    verified_at: datetime | None = None


SNAPSHOT_COLUMNS = (
    "name",
    "psn_no",
    "birth_date",
    "gender",
    "identity_flags",
    "verified_at",
    "insurance_type",
    "insurance_status",
    "suspended_since",
    "region_code",
    "has_personal_account",
)


@dataclass
class Pending:
    row_id: int
    person: PersonView
    found: BureauPerson | None = None
    code: str | None = None  # set when the row is decided against


@dataclass
class Outcome:
    row_id: int
    status: str
    code: str


def context(job: Job, token: str) -> Context:
    from app.products.services import definition_of, get_product_by_id

    session = get_session()
    programme = session.get_one(Programme, job.programme_id)
    cfg = current_app.config
    return Context(
        job_id=job.id,
        token=token,
        programme_id=programme.id,
        funder_name=programme.organisation.name,
        funder_kind=programme.organisation.kind,
        rule=rules.FundingRule(
            programme.rule_kind,
            amount_fen=programme.rule_amount_fen,
            basis_points=programme.rule_basis_points,
        ),
        product_id=job.product_id,
        defn=definition_of(get_product_by_id(job.product_id)),
        plan_year=job.plan_year,
        terms_version=job.terms_version,
        terms_sha256=job.terms_sha256,
        terms_agreed_at=job.terms_agreed_at,
        batch_size=cfg["JOB_BATCH_SIZE"],
        heartbeat_every=max(cfg["JOB_STALE_SECONDS"] / 4, 1.0),
    )


def run(ctx: Context, throttle: Throttle) -> None:
    """Process every pending row of the job. Raises LostJob or ProgrammeStopped.

    On PostgreSQL the next batch is verified with the bureau in a second thread (its own
    session and connection) while this one writes the current batch: the bureau's latency, and
    this process's work, overlap the database's. SQLite (one shared connection in the tests'
    in-memory database) goes one batch at a time."""
    if get_session().get_bind().dialect.name == "postgresql":
        verified = _verified_ahead(ctx, throttle)
    else:
        verified = verified_batches(ctx, throttle)
    with contextlib.closing(verified):  # leaving early stops the verifying thread at once
        for batch in verified:
            check_programme(ctx)
            write(ctx, batch)


def verified_batches(ctx: Context, throttle: Throttle):
    """The pending rows in order, a batch at a time, each verified with the bureau."""
    after = 0
    while True:
        batch = next_batch(ctx, after)
        if not batch:
            return
        after = batch[-1].row_id
        verify(ctx, batch, throttle)
        yield batch


_DONE = object()


def _verified_ahead(ctx: Context, throttle: Throttle):
    """`verified_batches` run one batch ahead in a thread of its own. Rows travel between the
    threads as plain data (PersonView, BureauPerson); a failure there is raised here; leaving
    early (an error, LostJob) stops the thread."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug proxy
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            with app.app_context():
                for batch in verified_batches(ctx, throttle):
                    if not hand_over(batch):
                        return
        except BaseException as exc:
            hand_over(exc)
            return
        hand_over(_DONE)

    thread = threading.Thread(target=produce, name=f"job-{ctx.job_id}-verify", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=60)


def next_batch(ctx: Context, after: int = 0) -> list[Pending]:
    with read_scope() as session:  # the bureau is called outside any transaction of ours
        rows = session.execute(
            select(
                JobRow.id,
                Person.id,
                Person.id_number_enc,
                func.coalesce(RosterEntry.name, Person.name),  # see roster_services.entry_of
                Person.birth_date,
                Person.gender,
            )
            .join(Person, Person.id == JobRow.person_id)
            .outerjoin(RosterEntry, roster_services.entry_of(ctx.programme_id, JobRow.person_id))
            .where(
                JobRow.job_id == ctx.job_id,
                JobRow.status == JobRowStatus.PENDING,
                JobRow.id > after,
            )
            .order_by(JobRow.id)
            .limit(ctx.batch_size)
        ).all()
    return [
        Pending(row_id, PersonView(person_id, enc, name, birth, gender))
        for row_id, person_id, enc, name, birth, gender in rows
    ]


def check_programme(ctx: Context) -> None:
    with read_scope() as session:
        programme = session.get(Programme, ctx.programme_id)
        assert programme is not None  # the job's programme_id is a foreign key
        session.refresh(programme)
        status, starts_on, ends_on = programme.status, programme.starts_on, programme.ends_on
    today = today_shanghai()
    if status != ProgrammeStatus.ACTIVE:
        raise ProgrammeStopped("programme_not_active")
    if not (starts_on <= today <= ends_on):
        raise ProgrammeStopped("programme_not_in_period")


def verify(ctx: Context, batch: list[Pending], throttle: Throttle) -> None:
    """Ask the bureau about each person (1101), within the rate: every person asked counts as
    one call, retries and batch exchanges included. A long batch keeps the heartbeat fresh."""
    bureau = registry.bureau()
    # A PersonView has the column decrypt_id_number reads (id_number_enc).
    requests = [(decrypt_id_number(p.person), p.person.name) for p in batch]  # type: ignore[arg-type]
    last_beat = [time.monotonic()]

    def beat() -> None:  # waiting for the rate is working: keep the job's heartbeat fresh
        if time.monotonic() - last_beat[0] >= ctx.heartbeat_every:
            heartbeat(ctx)
            last_beat[0] = time.monotonic()

    if hasattr(bureau, "lookup_people"):
        answers = _asked(throttle, len(requests), lambda: bureau.lookup_people(requests), beat)
        for pending, (certno, _), found in zip(batch, requests, answers or [None] * len(batch)):
            if answers is None:
                pending.code = "bureau_unavailable"
            else:
                _take(pending, certno, found)
    else:
        for pending, (certno, name) in zip(batch, requests):
            found = _asked(throttle, 1, lambda c=certno, n=name: [bureau.lookup_person(c, n)], beat)
            if found is None:
                pending.code = "bureau_unavailable"
            else:
                _take(pending, certno, found[0])


def _asked(throttle: Throttle, people: int, call, beat):
    """The bureau's answer, retried on BureauUnavailable; None when it never answered."""
    for attempt in range(BUREAU_ATTEMPTS):
        for _ in range(people):
            throttle.acquire()
            beat()
        try:
            return call()
        except BureauUnavailable:
            if attempt + 1 < BUREAU_ATTEMPTS:
                time.sleep(BUREAU_RETRY_PAUSE * 2**attempt)
    return None


def _take(pending: Pending, certno: str, found: BureauPerson | None) -> None:
    if found is None or found.certno != certno:
        pending.code = "identity_not_matched"
    else:
        pending.found = found


def heartbeat(ctx: Context) -> None:
    with transaction() as session:
        if (
            cast(
                CursorResult[Any],
                session.execute(
                    update(Job)
                    .where(
                        Job.id == ctx.job_id,
                        Job.status == JobStatus.RUNNING,
                        Job.runner_token == ctx.token,
                    )
                    .values(heartbeat_at=utcnow())
                ),
            ).rowcount
            != 1
        ):
            raise LostJob()


def write(ctx: Context, batch: list[Pending]) -> None:
    """Enroll the batch in one transaction. If the database refuses it (someone enrolled one of
    these people meanwhile, a number taken at the same moment), each half is tried on its own,
    down to the row that is refused, which is then settled in its own transaction."""
    if len(batch) == 1:
        write_one(ctx, batch[0])
        return
    try:
        with transaction() as session:
            record(session, ctx, enroll(session, ctx, batch))
        return
    except (IntegrityError, OperationalError) as exc:
        if not refused(exc):
            raise
        log.info(
            "batch refused by a constraint; splitting it",
            extra={"job_id": ctx.job_id, "rows": len(batch)},
        )
    middle = len(batch) // 2
    write(ctx, batch[:middle])
    write(ctx, batch[middle:])


# SQLSTATEs of a transaction the database gave up on for its own reasons, to be tried again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def refused(exc: Exception) -> bool:
    """A unique (or other integrity) constraint refused the rows, or PostgreSQL broke a
    deadlock with a concurrent transaction (an enrollment through the member flow)."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES


def write_one(ctx: Context, pending: Pending) -> None:
    """One row in its own transaction. A constraint refusing it twice means the person was
    enrolled by someone else meanwhile (or numbers collided twice): recorded as such."""
    for _ in range(2):
        try:
            with transaction() as session:
                record(session, ctx, enroll(session, ctx, [pending]))
            return
        except (IntegrityError, OperationalError) as exc:
            if not refused(exc):
                raise
            continue
    with transaction() as session:
        insured = pending.person.id in roster_services.standing_person_ids(
            session, [pending.person.id], ctx.plan_year
        )
        record(
            session,
            ctx,
            [
                Outcome(
                    pending.row_id,
                    JobRowStatus.FAILED,
                    ALREADY_INSURED.code if insured else "enrollment_conflict",
                )
            ],
        )


def enroll(session, ctx: Context, batch: list[Pending]) -> list[Outcome]:
    outcomes = [Outcome(p.row_id, JobRowStatus.FAILED, p.code) for p in batch if p.code]
    verified = [p for p in batch if p.code is None]
    answers: list[dict] = []
    for pending in verified:
        assert pending.found is not None  # verify() gave a code to everyone it did not find
        # A PersonView has the columns apply_snapshot sets (SNAPSHOT_COLUMNS).
        apply_snapshot(pending.person, pending.found)  # type: ignore[arg-type]
        answers += answer_rows(pending.person.id, pending.found, today_shanghai())
    update_rows(
        session,
        table_of(Person),
        [
            {"id": p.person.id, **{name: getattr(p.person, name) for name in SNAPSHOT_COLUMNS}}
            for p in verified
        ],
    )
    if answers:  # kept as insurance history, as every verification keeps them
        session.execute(insert(InsuranceAnswer), answers)
    planned = decide(session, ctx, verified, outcomes)
    # The enrollment writer (the member flow's own) inserts a paid order per person, takes the
    # programme's budget for the batch in one conditional UPDATE (person by person, in order,
    # when it does not all fit: the unfunded are refused and their orders deleted again), and
    # issues the policies, all in this transaction.
    written = write_enrollments(
        session,
        EnrollmentPlan(
            product_id=ctx.product_id,
            plan_year=ctx.plan_year,
            defn=ctx.defn,
            terms_version=ctx.terms_version,
            terms_sha256=ctx.terms_sha256,
            terms_agreed_at=ctx.terms_agreed_at,
            orders=[OrderSpec(insured=(insured,)) for _, insured in planned],
            budget=WHILE_IT_LASTS,
            policy_audit_detail={"job_id": ctx.job_id, "programme_id": ctx.programme_id},
        ),
    )
    for (pending, _), w in zip(planned, written):
        if w.refused is None:
            outcomes.append(Outcome(pending.row_id, JobRowStatus.SUCCEEDED, ENROLLED))
        else:
            outcomes.append(Outcome(pending.row_id, JobRowStatus.FAILED, w.refused))
    return outcomes


def decide(
    session, ctx: Context, verified: list[Pending], outcomes: list[Outcome]
) -> list[tuple[Pending, Insured]]:
    """The member-quote rules, per person, with this programme's subsidy as the only offer:
    the rows to enroll, each with its order item."""
    defn = ctx.defn
    today = today_shanghai()
    insured = standing_person_ids(session, [p.person.id for p in verified], ctx.plan_year)
    planned = []
    for pending in verified:
        person = pending.person
        premium = defn.premium_for(
            insurance_type=person.insurance_type,
            age=age_on(person.birth_date, defn.coverage_starts),
        )
        offer = SubsidyOffer(
            person.id,
            ctx.programme_id,
            ctx.funder_name,
            ctx.funder_kind,
            rules.subsidy_for(ctx.rule, premium),
        )
        candidate = Candidate(
            person_id=person.id,
            relation="self",
            birth_date=person.birth_date,
            insurance_type=person.insurance_type,
            insurance_status=person.insurance_status,
            region_code=person.region_code,
            already_insured=person.id in insured,
        )
        line = quote(defn, today, Payer(None, None, False), [candidate], [offer]).lines[0]
        if not line.eligible:
            outcomes.append(Outcome(pending.row_id, JobRowStatus.FAILED, line.reasons[0].code))
        elif line.pay_fen > 0 or line.subsidy_fen <= 0:
            outcomes.append(Outcome(pending.row_id, JobRowStatus.FAILED, "not_fully_funded"))
        else:
            planned.append((pending, Insured.of(line, "self")))
    return planned


def record(session, ctx: Context, outcomes: list[Outcome]) -> None:
    """The rows' outcomes (one UPDATE per distinct outcome) and the job's counters, committed
    only while this runner holds the job (else LostJob: the caller's transaction rolls back
    everything, enrollments included)."""
    if not outcomes:
        return
    now = utcnow()
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for o in outcomes:
        by_outcome.setdefault((o.status, o.code), []).append(o.row_id)
    for (status, code), row_ids in by_outcome.items():
        statement = (
            update(JobRow)
            .where(among(session, JobRow.id, row_ids))
            .values(status=status, code=code, processed_at=now)
        )
        if status == JobRowStatus.SUCCEEDED:  # each row's policy: the person's, for this plan year
            statement = statement.where(
                Policy.person_id == JobRow.person_id,
                Policy.plan_year == ctx.plan_year,
                Policy.status != PolicyStatus.VOID,
            ).values(policy_id=Policy.id)
        session.execute(statement.execution_options(synchronize_session=False))
    done = sum(1 for o in outcomes if o.status == JobRowStatus.SUCCEEDED)
    won = cast(
        CursorResult[Any],
        session.execute(
            update(Job)
            .where(
                Job.id == ctx.job_id, Job.status == JobStatus.RUNNING, Job.runner_token == ctx.token
            )
            .values(
                done=Job.done + done, failed=Job.failed + (len(outcomes) - done), heartbeat_at=now
            )
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if won != 1:
        raise LostJob()


def new_token() -> str:
    return secrets.token_hex(16)
