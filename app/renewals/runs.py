"""The renewal run (续保批处理): when next year's window opens, renew the people whose payer
consented, a job with progress that can be resumed.

`start_run(product)`: next year's product must be on sale and name the product it `renews`.
Every active consent whose person holds a standing policy of that product, and that has no
outcome for next year's product yet, gets a pending outcome (unique per consent and product: a
second run finds nothing new, so running twice renews once). Then each pending outcome is worked
in its own transactions:

1. re-verify the person with the bureau (1101), as the operator's job, not counted against the
   member's own verification limits;
2. decide eligibility and premium with the same quote rules as a member's order (window,
   basic insurance active in the region, not already insured for the year, subsidies);
3. with an auto-debit consent and a personal account that can pay: place the order and debit
   the account (app/payments), so next year's policy is issued (renewed); otherwise notify the
   member to pay (awaiting_payment); not eligible, or the bureau unavailable: notify why.

Every outcome is stored (the member reads it with GET /renewals, the operator in the run's
report) and the member is notified through the outbox. A run stopped by an error, or whose
heartbeat went stale (a dead process), is taken up again by `resume(run_id)`: an outcome whose
order was placed before the stop is settled from that order, never ordered twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, rowcount, transaction, utcnow
from app.enrollment import balances, subsidies
from app.enrollment.models import Order, OrderItem
from app.enrollment.quote import Candidate, Payer, quote
from app.enrollment.services import (
    already_insured,
    close_order,
    member_order_plan,
    record_order_created,
)
from app.enrollment.statuses import OrderStatus
from app.enrollment.writer import write_enrollments
from app.error_catalogue import E
from app.errors import DomainError, Forbidden
from app.identity import services as identity
from app.integrations import registry
from app.integrations.bureau.port import BureauUnavailable
from app.members import privacy
from app.members import services as members
from app.members.models import Member, Person, Relative
from app.outbox.services import enqueue
from app.payments.services import start_payment
from app.policies.models import Policy, PolicyStatus
from app.products import plan_years
from app.products import services as products
from app.products.models import Product
from app.renewals.models import (
    ConsentStatus,
    OutcomeStatus,
    RenewalConsent,
    RenewalOutcome,
    RenewalRun,
    RunStatus,
)
from app.renewals.services import OUTCOME_LABELS

log = logging.getLogger(__name__)


def _require_operator(actor: Principal | None) -> None:
    if actor is not None and (actor.kind != "staff" or actor.role != "operator"):
        raise Forbidden("只有运营人员可以发起续保")


# --- starting ----------------------------------------------------------------------------------


def start_run(product_code: str, actor: Principal | None = None) -> RenewalRun:
    """Create the run and its pending outcomes (one per consent not yet renewed into this
    product), then work it here and now. Returns the finished (or stopped) run."""
    _require_operator(actor)
    target = products.get_product(product_code)
    defn = products.definition_of(target)
    if not defn.renews:
        raise E.renewal_not_offered()
    if not plan_years.on_sale_on(target, today_shanghai()):
        raise E.renewal_window_closed()
    source = products.get_product(defn.renews, include_retired=True)
    try:
        with transaction() as s:
            run = RenewalRun(
                product_id=target.id,
                from_product_id=source.id,
                plan_year=target.plan_year,
                started_by_staff_id=actor.id if actor else None,
            )
            s.add(run)
            s.flush()
            total = _add_pending(s, run, target, source)
            run.total = total
            audit(
                s,
                actor_type="staff" if actor else "system",
                actor_id=actor.id if actor else None,
                action="renewal.run_started",
                object_type="renewal_run",
                object_id=run.id,
                detail={"product": target.code, "from": source.code, "total": total},
            )
    except IntegrityError:
        raise E.renewal_run_active() from None
    return execute(run.id)


def _add_pending(session, run: RenewalRun, target: Product, source: Product) -> int:
    renewed_already = select(RenewalOutcome.consent_id).where(
        RenewalOutcome.product_id == target.id
    )
    rows = session.execute(
        select(RenewalConsent.id, RenewalConsent.member_id, RenewalConsent.person_id, Policy.id)
        .join(
            Policy,
            and_(
                Policy.person_id == RenewalConsent.person_id,
                Policy.product_id == source.id,
                Policy.status == "active",
            ),
        )
        .where(
            RenewalConsent.status == ConsentStatus.ACTIVE,
            RenewalConsent.id.not_in(renewed_already),
        )
        .order_by(RenewalConsent.id)
    ).all()
    session.add_all(
        RenewalOutcome(
            run_id=run.id,
            product_id=target.id,
            consent_id=consent_id,
            member_id=member_id,
            person_id=person_id,
            from_policy_id=policy_id,
        )
        for consent_id, member_id, person_id, policy_id in rows
    )
    return len(rows)


# --- running -----------------------------------------------------------------------------------


def _claim(run_id: int) -> bool:
    """Take the run: queued, stopped (failed), or running with a stale heartbeat."""
    stale = utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    with transaction() as s:
        won = rowcount(
            s.execute(
                update(RenewalRun)
                .where(
                    RenewalRun.id == run_id,
                    or_(
                        RenewalRun.status.in_((RunStatus.QUEUED, RunStatus.FAILED)),
                        and_(
                            RenewalRun.status == RunStatus.RUNNING,
                            or_(
                                RenewalRun.heartbeat_at.is_(None),
                                RenewalRun.heartbeat_at < stale,
                            ),
                        ),
                    ),
                )
                .values(
                    status=RunStatus.RUNNING,
                    runs=RenewalRun.runs + 1,
                    heartbeat_at=utcnow(),
                    error_code=None,
                )
            )
        )
    return won == 1


def resume(run_id: int, actor: Principal | None = None) -> RenewalRun:
    """Take up a stopped or abandoned run where it stopped."""
    _require_operator(actor)
    with read_scope() as session:
        if session.get(RenewalRun, run_id) is None:
            raise E.renewal_run_not_found()
    return execute(run_id)


def execute(run_id: int) -> RenewalRun:
    if not _claim(run_id):
        raise E.renewal_run_busy()
    try:
        while True:
            with read_scope() as session:
                pending = session.scalar(
                    select(RenewalOutcome.id)
                    .where(
                        RenewalOutcome.run_id == run_id,
                        RenewalOutcome.status == OutcomeStatus.PENDING,
                    )
                    .order_by(RenewalOutcome.id)
                    .limit(1)
                )
            if pending is None:
                break
            process(pending)
            _progress(run_id)
    except Exception as exc:
        log.error("renewal run stopped", extra={"run_id": run_id, "error_type": type(exc).__name__})
        _finish(run_id, RunStatus.FAILED, "internal_error")
        return report_run(run_id)
    _finish(run_id, RunStatus.COMPLETED, None)
    return report_run(run_id)


def _progress(run_id: int) -> None:
    with transaction() as s:
        done = s.scalar(
            select(func.count())
            .select_from(RenewalOutcome)
            .where(RenewalOutcome.run_id == run_id, RenewalOutcome.status != OutcomeStatus.PENDING)
        )
        s.execute(
            update(RenewalRun)
            .where(RenewalRun.id == run_id)
            .values(processed=done, heartbeat_at=utcnow())
        )


def _finish(run_id: int, status: str, error_code: str | None) -> None:
    _progress(run_id)
    with transaction() as s:
        s.execute(
            update(RenewalRun)
            .where(RenewalRun.id == run_id, RenewalRun.status == RunStatus.RUNNING)
            .values(status=status, error_code=error_code, finished_at=utcnow())
        )


# --- one outcome -------------------------------------------------------------------------------


def process(outcome_id: int) -> str:
    """Work one pending outcome to its end; returns its status."""
    session = get_session()
    outcome = session.get_one(RenewalOutcome, outcome_id)
    if outcome.order_id is not None:  # placed before a stop: settle it from the order
        return _settle_from_order(outcome.id, outcome.order_id)
    consent = session.get_one(RenewalConsent, outcome.consent_id)
    if consent.status != ConsentStatus.ACTIVE:
        return _conclude(outcome.id, OutcomeStatus.FAILED, "renewal_revoked", "续保授权已撤回")
    if privacy.processing_stopped(session, consent.member_id):
        # the member withdrew consent to the processing of personal information (or closed the
        # account): no bureau check, no order, no debit until they consent again
        return _conclude(
            outcome.id,
            OutcomeStatus.FAILED,
            "consent_withdrawn",
            "您已撤回个人信息处理同意，本次未续保，也未扣费；重新同意后可在投保期内自行投保",
        )
    relation = _relation_now(session, consent)
    if relation is None:
        return _conclude(
            outcome.id,
            OutcomeStatus.NOT_ELIGIBLE,
            "relative_removed",
            "该家庭成员已从您的账户中移除，未续保，也未扣费",
        )
    target = session.get_one(Product, outcome.product_id)
    defn = products.definition_of(target)
    person = session.get_one(Person, outcome.person_id)
    try:
        with transaction() as s:
            _reverify(s, s.get_one(Person, person.id))
    except BureauUnavailable:
        return _conclude(
            outcome.id,
            OutcomeStatus.FAILED,
            "bureau_unavailable",
            "医保系统暂时无法核验身份，本次未能自动续保，请在投保期内自行投保",
        )
    except DomainError as exc:  # the bureau no longer knows this person under this name
        return _conclude(outcome.id, OutcomeStatus.NOT_ELIGIBLE, exc.code, exc.detail)
    session.expire_all()
    person = session.get_one(Person, outcome.person_id)
    member = session.get_one(Member, consent.member_id)
    payer_person = member.person
    assert payer_person is not None  # a consent is given by a verified member
    if already_insured(session, person.id, target.plan_year):
        return _conclude_taken(outcome.id, person.id, target.plan_year)
    balance = None
    if consent.auto_debit and payer_person.has_personal_account and payer_person.psn_no:
        balances.forget(payer_person.psn_no)
        balance = balances.account_balance(payer_person.psn_no)
    payer = Payer(
        payer_person.insurance_type,
        payer_person.insurance_status,
        payer_person.has_personal_account,
        balance,
        birth_date=payer_person.birth_date,
        gender=payer_person.gender,
        spouses_listed=members.spouses_listed(session, consent.member_id, [relation]),
    )
    candidate = Candidate(
        person_id=person.id,
        relation=relation,
        birth_date=person.birth_date,
        insurance_type=person.insurance_type,
        insurance_status=person.insurance_status,
        region_code=person.region_code,
        already_insured=False,
        gender=person.gender,
    )
    offers = subsidies.offers_for(session, target, defn, [person])
    q = quote(defn, today_shanghai(), payer, [candidate], offers)
    [line] = q.lines
    if not line.eligible:
        reason = line.reasons[0]
        return _conclude(outcome.id, OutcomeStatus.NOT_ELIGIBLE, reason.code, reason.message)
    auto = consent.auto_debit and "personal_account" in q.payment_methods
    if q.total_pay_fen > 0 and not auto:
        why = q.unavailable_methods.get("personal_account")
        text = f"{target.plan_year} 年度保费 {_yuan(q.total_pay_fen)} 元，请在投保期内缴费完成续保"
        if consent.auto_debit and why is not None:
            text = f"{why.message}。{text}"
        return _conclude(outcome.id, OutcomeStatus.AWAITING_PAYMENT, "payment_due", text)
    order_id = _place_order(outcome.id, consent, relation, target, defn, q)
    if order_id is None:
        return _conclude_taken(outcome.id, person.id, target.plan_year)
    if q.total_pay_fen > 0:
        try:
            start_payment(consent.member_id, order_id, "personal_account")
        except DomainError as exc:
            with transaction() as s:
                close_order(s, s.get_one(Order, order_id), "renewal_debit_failed")
            return _conclude(
                outcome.id,
                OutcomeStatus.AWAITING_PAYMENT,
                exc.code,
                f"个人账户扣费未成功（{exc.detail}），请在投保期内自行缴费完成续保",
            )
    return _settle_from_order(outcome.id, order_id)


def _conclude_taken(outcome_id: int, person_id: int, plan_year: int) -> str:
    """The person's plan year is taken: by a standing policy (already insured), or only by an
    open order not yet paid (placed by hand). That order may still close unpaid, so the member is
    told to pay it, not that the person is insured (the outcome is final: no later run retries)."""
    session = get_session()
    session.expire_all()
    policy = session.scalar(
        select(Policy.id)
        .where(
            Policy.person_id == person_id,
            Policy.plan_year == plan_year,
            Policy.status != PolicyStatus.VOID,
        )
        .limit(1)
    )
    if policy is not None:
        return _conclude(
            outcome_id,
            OutcomeStatus.ALREADY_INSURED,
            "already_insured",
            f"{plan_year} 年度已投保，无需续保",
        )
    return _conclude(
        outcome_id,
        OutcomeStatus.AWAITING_PAYMENT,
        "order_unpaid",
        f"{plan_year} 年度已有尚未支付的投保订单，本次未自动扣费；请完成该订单的支付，"
        "如订单已关闭，请在投保期内自行投保",
    )


def _relation_now(session, consent: RenewalConsent) -> str | None:
    """The consent's person's relation to the member today: "self", the relation on the
    member's list (a relation corrected since the consent was given counts as corrected), or
    None when the member removed that relative (not renewed from the member's account: 家庭共济
    pays only for the member's family)."""
    if consent.relation == "self":
        mine = session.get_one(Member, consent.member_id).person_id == consent.person_id
        return "self" if mine else None
    return session.scalar(
        select(Relative.relation).where(
            Relative.member_id == consent.member_id, Relative.person_id == consent.person_id
        )
    )


def _reverify(session, person: Person) -> None:
    id_number = identity.parse_id_number(identity.decrypt_id_number(person))
    found = registry.bureau().lookup_person(id_number.value, person.name)
    if found is None or found.certno != id_number.value:
        raise identity.not_matched()
    identity.apply_snapshot(person, found)
    session.flush()
    identity.record_answers(session, person, found)


def _place_order(
    outcome_id: int, consent: RenewalConsent, relation: str, target: Product, defn, q
) -> int | None:
    """The renewal order, written with the outcome's order_id in one transaction."""
    terms = products.current_terms(target)
    member = get_session().get_one(Member, consent.member_id)
    plan = member_order_plan(
        target.id,
        defn,
        terms,
        consent.member_id,
        member.person_id,
        q,
        {consent.person_id: relation},
        "personal_account" if q.total_pay_fen > 0 else None,
    )
    try:
        with transaction() as s:
            [written] = write_enrollments(s, plan)
            assert written.order_id is not None  # ALL_OR_NOTHING: an order or an exception
            record_order_created(s, consent.member_id, written.order_id, 1, terms.version)
            s.execute(
                update(RenewalOutcome)
                .where(RenewalOutcome.id == outcome_id)
                .values(order_id=written.order_id)
            )
    except IntegrityError:  # an open order or a policy for the year appeared meanwhile
        return None
    return written.order_id


def _settle_from_order(outcome_id: int, order_id: int) -> str:
    session = get_session()
    session.expire_all()
    order = session.get_one(Order, order_id)
    if order.status == OrderStatus.PAID:
        policy = session.scalars(
            select(Policy)
            .join(OrderItem, OrderItem.id == Policy.order_item_id)
            .where(OrderItem.order_id == order_id)
        ).one()
        return _conclude(
            outcome_id,
            OutcomeStatus.RENEWED,
            None,
            f"已从个人账户缴纳 {order.plan_year} 年度保费 {_yuan(order.total_pay_fen)} 元，"
            f"保障期 {policy.coverage_start.isoformat()} 至 {policy.coverage_end.isoformat()}",
            policy_id=policy.id,
        )
    if order.status in (OrderStatus.PAYING, OrderStatus.PENDING_PAYMENT):
        return _conclude(
            outcome_id,
            OutcomeStatus.AWAITING_PAYMENT,
            "payment_processing",
            "个人账户扣费处理中，结果将另行通知；如订单关闭，请在投保期内自行缴费",
        )
    return _conclude(
        outcome_id,
        OutcomeStatus.AWAITING_PAYMENT,
        "payment_due",
        "续保订单已关闭，请在投保期内自行缴费完成续保",
    )


def _conclude(
    outcome_id: int, status: str, reason: str | None, message: str, policy_id: int | None = None
) -> str:
    """Store the outcome (only from pending: a second runner's write is a no-op) and notify."""
    with transaction() as s:
        won = rowcount(
            s.execute(
                update(RenewalOutcome)
                .where(
                    RenewalOutcome.id == outcome_id,
                    RenewalOutcome.status == OutcomeStatus.PENDING,
                )
                .values(
                    status=status,
                    reason_code=reason,
                    message=message,
                    policy_id=policy_id,
                    processed_at=utcnow(),
                )
            )
        )
        if won:
            outcome = s.get_one(RenewalOutcome, outcome_id)
            enqueue(
                s,
                member_id=outcome.member_id,
                kind=f"renewal.{status}",
                payload={
                    "outcome_id": outcome_id,
                    "status": OUTCOME_LABELS[OutcomeStatus(status)],
                    "message": message,
                    "page": "pages/renewals/index",
                },
            )
    return status


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


# --- reading -----------------------------------------------------------------------------------


def report_run(run_id: int) -> RenewalRun:
    session = get_session()
    session.expire_all()
    run = session.get(RenewalRun, run_id)
    if run is None:
        raise E.renewal_run_not_found()
    return run


def run_counts(run_id: int) -> dict[str, int]:
    rows = get_session().execute(
        select(RenewalOutcome.status, func.count())
        .where(RenewalOutcome.run_id == run_id)
        .group_by(RenewalOutcome.status)
    )
    counts = {status.value: 0 for status in OutcomeStatus}
    counts.update({status: n for status, n in rows})
    return counts


def run_outcomes(run_id: int) -> list[RenewalOutcome]:
    return list(
        get_session().scalars(
            select(RenewalOutcome)
            .where(RenewalOutcome.run_id == run_id)
            .order_by(RenewalOutcome.id)
        )
    )


def list_runs() -> list[RenewalRun]:
    return list(get_session().scalars(select(RenewalRun).order_by(RenewalRun.id.desc()).limit(50)))
