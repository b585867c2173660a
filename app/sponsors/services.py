"""Sponsorship use cases: organisations, programmes and their budgets, the subsidy provider, and
the reservation of budget and quota when an order is placed (released when it closes unpaid or
a sponsor refund succeeds).

Budget integrity: every change of a programme's figures is ONE conditional UPDATE whose WHERE
clause carries the condition (budget left, quota left, status), checked by its row count, plus
the matching ledger entry in the same transaction (docs/sponsorship.md; LIBRARY-NOTES.md: a
read-then-write overspent 5x in a 50-thread race, the conditional UPDATE held).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, or_, select, update

from app.audit.services import record as audit
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import Principal
from app.common.clock import age_on, today_shanghai
from app.database import get_session, read_scope, rowcount, transaction
from app.error_catalogue import E, error
from app.policies.models import PolicyStatus
from app.sponsors import rules
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry
from app.sponsors.statuses import ProgrammeStatus

log = logging.getLogger(__name__)

SUBSIDY_UNAVAILABLE = "资助名额或预算已用完，请重新获取报价"
MAX_TOP_UP_FEN = 10**10


# --- organisations ---------------------------------------------------------------------------


def create_organisation(actor: Principal, *, uscc: str, name: str, kind: str) -> Organisation:
    try:
        code = rules.parse_uscc(uscc)
    except rules.UsccError as exc:
        raise error(exc.code, exc.message, errors={"json": {"uscc": [exc.message]}}) from None
    with transaction() as session:
        if session.scalar(select(Organisation.id).where(Organisation.uscc == code.value)):
            raise E.organisation_exists()
        org = Organisation(uscc=code.value, name=name, kind=kind)
        session.add(org)
        session.flush()
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="organisation.created",
            object_type="organisation",
            object_id=org.id,
            detail={"kind": kind},
        )
    return org


def get_organisation(actor: Principal, organisation_id: int) -> Organisation:
    """Operators see every organisation; an organisation admin only its own (others: 404)."""
    org = get_session().get(Organisation, organisation_id)
    if org is None or (actor.role in ORGANISATION_ROLES and actor.organisation_id != org.id):
        raise E.organisation_not_found()
    return org


# --- programmes ------------------------------------------------------------------------------


def _own_organisation(session, actor: Principal) -> Organisation:
    org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
    if org is None:
        raise E.organisation_not_found()
    return org


def _validate_programme(
    *, plan_year, starts_on, ends_on, rule_kind, amount_fen, basis_points, categories, roster_only
) -> None:
    if starts_on > ends_on:
        raise E.programme_dates()
    if not (starts_on.year - 1 <= plan_year <= ends_on.year + 1):
        raise E.programme_plan_year()
    try:
        rules.FundingRule(rule_kind, amount_fen=amount_fen, basis_points=basis_points)
    except rules.RuleError as exc:
        # FundingRule raises funding_kind / funding_amount / funding_basis_points only, each
        # catalogued with its Chinese message (the rule's own message is English, for developers).
        raise error(exc.code) from None
    unknown = set(categories) - rules.KNOWN_CATEGORIES
    if unknown:
        raise E.eligibility_category()
    if roster_only == bool(categories):
        raise E.eligibility_invalid()


def create_programme(
    actor: Principal,
    *,
    name: str,
    plan_year: int,
    starts_on: date,
    ends_on: date,
    rule: dict,
    eligibility: dict,
    quota: int | None,
    product_id: int | None,
) -> Programme:
    from app.products.models import Product

    categories = sorted(set(eligibility.get("categories", [])))
    roster_only = bool(eligibility.get("roster_only", False))
    _validate_programme(
        plan_year=plan_year,
        starts_on=starts_on,
        ends_on=ends_on,
        rule_kind=rule["kind"],
        amount_fen=rule.get("amount_fen"),
        basis_points=rule.get("basis_points"),
        categories=categories,
        roster_only=roster_only,
    )
    with transaction() as session:
        org = _own_organisation(session, actor)
        if product_id is not None:
            product = session.get(Product, product_id)
            if product is None:
                raise E.product_not_found(status=422)
            if product.plan_year != plan_year:
                raise E.programme_plan_year()
        programme = Programme(
            organisation_id=org.id,
            plan_year=plan_year,
            product_id=product_id,
            name=name,
            status=ProgrammeStatus.ACTIVE,
            starts_on=starts_on,
            ends_on=ends_on,
            rule_kind=rule["kind"],
            rule_amount_fen=rule.get("amount_fen"),
            rule_basis_points=rule.get("basis_points"),
            eligibility_categories=categories,
            roster_only=roster_only,
            quota=quota,
            beneficiaries_reserved=0,
            budget_total_fen=0,
            budget_reserved_fen=0,
            created_by_staff_id=actor.id,
        )
        session.add(programme)
        session.flush()
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="programme.created",
            object_type="programme",
            object_id=programme.id,
            detail={"organisation_id": org.id, "rule": rule["kind"]},
        )
    return programme


def get_programme(actor: Principal, programme_id: int) -> Programme:
    """Only the programme's own organisation sees it; anyone else gets the same 404 as for none."""
    programme = get_session().scalar(
        select(Programme).where(
            Programme.id == programme_id, Programme.organisation_id == actor.organisation_id
        )
    )
    if programme is None or actor.organisation_id is None:
        raise E.programme_not_found()
    return programme


def view_programme(actor: Principal, programme_id: int) -> Programme:
    """Read-only: an operator sees any programme, an organisation admin only its own."""
    if actor.role == "operator":
        programme = get_session().get(Programme, programme_id)
        if programme is None:
            raise E.programme_not_found()
        return programme
    return get_programme(actor, programme_id)


def list_programmes(
    actor: Principal,
    *,
    organisation_id: int | None = None,
    status: str | None = None,
    plan_year: int | None = None,
) -> list[Programme]:
    """Newest first, at most 100. Operators see every organisation's programmes (read-only);
    an organisation admin only its own, whatever `organisation_id` asks for."""
    query = select(Programme)
    if actor.role != "operator":
        query = query.where(Programme.organisation_id == actor.organisation_id)
    if organisation_id is not None:
        query = query.where(Programme.organisation_id == organisation_id)
    if status is not None:
        query = query.where(Programme.status == status)
    if plan_year is not None:
        query = query.where(Programme.plan_year == plan_year)
    return list(get_session().scalars(query.order_by(Programme.id.desc()).limit(100)))


def top_up(actor: Principal, programme_id: int, amount_fen: int) -> Programme:
    if not (1 <= amount_fen <= MAX_TOP_UP_FEN):
        raise E.top_up_amount()
    get_programme(actor, programme_id)
    with transaction() as session:
        won = rowcount(
            session.execute(
                update(Programme)
                .where(
                    Programme.id == programme_id,
                    Programme.organisation_id == actor.organisation_id,
                    Programme.status != ProgrammeStatus.CLOSED,
                )
                .values(budget_total_fen=Programme.budget_total_fen + amount_fen)
                .execution_options(synchronize_session=False)
            )
        )
        if won != 1:
            raise E.programme_closed()
        session.add(
            ProgrammeLedgerEntry(
                programme_id=programme_id, kind="top_up", amount_fen=amount_fen, staff_id=actor.id
            )
        )
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="programme.topped_up",
            object_type="programme",
            object_id=programme_id,
            detail={"amount_fen": amount_fen},
        )
    return _fresh(programme_id)


TRANSITIONS = {
    "pause": (("active",), "paused"),
    "resume": (("paused",), "active"),
    "close": (("active", "paused"), "closed"),
}


def change_status(actor: Principal, programme_id: int, action: str) -> Programme:
    get_programme(actor, programme_id)
    sources, target = TRANSITIONS[action]
    with transaction() as session:
        won = rowcount(
            session.execute(
                update(Programme)
                .where(
                    Programme.id == programme_id,
                    Programme.organisation_id == actor.organisation_id,
                    Programme.status.in_(sources),
                )
                .values(status=target)
                .execution_options(synchronize_session=False)
            )
        )
        if won != 1:
            raise E.programme_status_conflict()
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="programme.status_changed",
            object_type="programme",
            object_id=programme_id,
            detail={"status": target},
        )
    return _fresh(programme_id)


def _fresh(programme_id: int) -> Programme:
    session = get_session()
    programme = session.get_one(Programme, programme_id)  # programmes are never deleted
    session.refresh(programme)
    return programme


# --- reservation: called inside the order's / refund's transaction ------------------------------


def take_budget(session, programme_id: int, amount_fen: int, people: int) -> bool:
    """Take `amount_fen` and `people` beneficiaries of the programme in ONE conditional UPDATE
    (budget left, quota left, status active are its WHERE clause), so it cannot overspend
    whatever runs at the same time. False when the programme cannot fund that much now; the
    caller writes the matching ledger entries (app/enrollment/writer.py, reserve_budget)."""
    return (
        session.execute(
            update(Programme)
            .where(
                Programme.id == programme_id,
                Programme.status == "active",
                Programme.budget_total_fen - Programme.budget_reserved_fen >= amount_fen,
                or_(
                    Programme.quota.is_(None),
                    Programme.beneficiaries_reserved + people <= Programme.quota,
                ),
            )
            .values(
                budget_reserved_fen=Programme.budget_reserved_fen + amount_fen,
                beneficiaries_reserved=Programme.beneficiaries_reserved + people,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def refusal_code(session, programme_id: int) -> str:
    """Why `take_budget` refused, as a batch job row's outcome code."""
    status, quota, people = session.execute(
        select(Programme.status, Programme.quota, Programme.beneficiaries_reserved).where(
            Programme.id == programme_id
        )
    ).one()
    if status != "active":
        return "programme_not_active"
    if quota is not None and people >= quota:
        return "quota_exhausted"
    return "budget_exhausted"


def reserve_budget(session, programme_id: int, amount_fen: int, order_item_id: int | None) -> None:
    """Reserve `amount_fen` and one beneficiary of the programme, or raise Conflict
    subsidy_unavailable (the caller's transaction then rolls back: nothing is written)."""
    if not take_budget(session, programme_id, amount_fen, 1):
        raise E.subsidy_unavailable()
    session.add(
        ProgrammeLedgerEntry(
            programme_id=programme_id,
            kind="reserve",
            amount_fen=amount_fen,
            order_item_id=order_item_id,
        )
    )


def release_budget(session, programme_id: int, amount_fen: int, order_item_id: int | None) -> bool:
    """Give back a reservation (order closed unpaid, or a sponsor refund succeeded)."""
    won = rowcount(
        session.execute(
            update(Programme)
            .where(
                Programme.id == programme_id,
                Programme.budget_reserved_fen >= amount_fen,
                Programme.beneficiaries_reserved >= 1,
            )
            .values(
                budget_reserved_fen=Programme.budget_reserved_fen - amount_fen,
                beneficiaries_reserved=Programme.beneficiaries_reserved - 1,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:
        log.error(
            "programme release found nothing to release",
            extra={"programme_id": programme_id, "order_item_id": order_item_id},
        )
        return False
    session.add(
        ProgrammeLedgerEntry(
            programme_id=programme_id,
            kind="release",
            amount_fen=-amount_fen,
            order_item_id=order_item_id,
        )
    )
    return True


def release_items(session, items) -> None:
    for item in items:
        for subsidy in item.subsidies or []:
            release_budget(session, subsidy["programme_id"], subsidy["amount_fen"], item.id)


# --- the ledger check ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeProblem:
    programme_id: int
    message: str


def check_programmes(programme_ids: list[int] | None = None) -> list[ProgrammeProblem]:
    """Each programme's figures equal the sums of its ledger."""
    with read_scope() as session:
        e = ProgrammeLedgerEntry
        sums = select(
            e.programme_id,
            func.coalesce(
                func.sum(case((e.kind.in_(("top_up", "refund")), e.amount_fen), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((e.kind.in_(("reserve", "release")), e.amount_fen), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((e.kind == "reserve", 1), (e.kind == "release", -1), else_=0)), 0
            ),
        ).group_by(e.programme_id)
        by_id = {row[0]: tuple(int(v) for v in row[1:]) for row in session.execute(sums)}
        query = select(Programme)
        if programme_ids is not None:
            query = query.where(Programme.id.in_(programme_ids))
        problems = []
        for p in session.scalars(query):
            session.refresh(p)
            total, reserved, people = by_id.get(p.id, (0, 0, 0))
            for label, cached, summed in (
                ("budget_total_fen", p.budget_total_fen, total),
                ("budget_reserved_fen", p.budget_reserved_fen, reserved),
                ("beneficiaries_reserved", p.beneficiaries_reserved, people),
            ):
                if cached != summed:
                    problems.append(
                        ProgrammeProblem(p.id, f"{label} is {cached}, ledger sums to {summed}")
                    )
    return problems


# --- the report ------------------------------------------------------------------------------


def report(actor: Principal, programme_id: int) -> dict:
    from app.enrollment.models import LedgerEntry
    from app.identity.idnumber import mask_name
    from app.members.models import Person
    from app.policies.models import Policy

    programme = view_programme(actor, programme_id)
    session = get_session()
    spent = (
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.programme_id == programme_id,
                LedgerEntry.kind.in_(("sponsor_subsidy", "sponsor_refund")),
            )
        )
        or 0
    )
    rows = session.execute(
        select(Policy.plan_year, Person.name, LedgerEntry.amount_fen)
        .join(
            LedgerEntry,
            (LedgerEntry.order_item_id == Policy.order_item_id)
            & (LedgerEntry.programme_id == programme_id)
            & (LedgerEntry.kind == "sponsor_subsidy"),
        )
        .join(Person, Person.id == Policy.person_id)
        .where(Policy.status == PolicyStatus.ACTIVE)
        .order_by(Policy.id)
        .limit(1000)
    ).all()
    return {
        "programme_id": programme.id,
        "name": programme.name,
        "status": programme.status,
        "budget_total_fen": programme.budget_total_fen,
        "budget_reserved_fen": programme.budget_reserved_fen,
        "spent_fen": int(spent),
        "reserved_unpaid_fen": programme.budget_reserved_fen - int(spent),
        "unspent_fen": programme.budget_total_fen - programme.budget_reserved_fen,
        "beneficiaries": programme.beneficiaries_reserved,
        "quota": programme.quota,
        "active_policies_funded": len(rows),
        "funded": [
            {"insured_name_masked": mask_name(name), "plan_year": year, "subsidy_fen": amount}
            for year, name, amount in rows
        ],
    }


# --- the subsidy provider (registered in create_app) ------------------------------------------


def to_rule_programme(p: Programme) -> rules.Programme:
    if p.roster_only:
        eligibility = rules.Eligibility.roster_only()
    else:
        eligibility = rules.Eligibility.by_categories(*p.eligibility_categories)
    return rules.Programme(
        id=p.id,
        funder_name=p.organisation.name,
        funder_kind=p.organisation.kind,
        eligibility=eligibility,
        plan_year=p.plan_year,
        status=p.status,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        budget_remaining_fen=max(p.budget_total_fen - p.budget_reserved_fen, 0),
        rule=rules.FundingRule(
            p.rule_kind, amount_fen=p.rule_amount_fen, basis_points=p.rule_basis_points
        ),
        quota_remaining=None if p.quota is None else max(p.quota - p.beneficiaries_reserved, 0),
    )


def programme_offers(session, product, defn, persons) -> list:
    """Offers from the active programmes for this product's plan year, per person, in priority
    order. A snapshot: the reservation in create_order is the authority."""
    candidates = list(
        session.scalars(
            select(Programme).where(
                Programme.status == ProgrammeStatus.ACTIVE,
                Programme.plan_year == defn.plan_year,
                or_(Programme.product_id.is_(None), Programme.product_id == product.id),
            )
        )
    )
    if not candidates:
        return []
    base = [to_rule_programme(p) for p in candidates]
    today = today_shanghai()
    from app.sponsors.roster_services import rostered_programmes

    rostered = rostered_programmes(
        session, [person.id for person in persons], [p.id for p in candidates if p.roster_only]
    )
    offers: list[rules.SubsidyOffer] = []
    for person in persons:
        # Several people on one order draw on the same snapshot: what earlier people were
        # offered is taken off (conservatively, at most) so the order is not refused later.
        programmes = [_less(pr, offers) for pr in base]
        premium = defn.premium_for(
            insurance_type=person.insurance_type,
            age=age_on(person.birth_date, defn.coverage_starts),
        )
        facts = rules.PersonFacts(
            person_id=person.id,
            identity_flags=frozenset(person.identity_flags or []) & rules.KNOWN_CATEGORIES,
            on_roster_of=rostered.get(person.id, frozenset()),
            insurance_type=person.insurance_type,
            region_code=person.region_code,
        )
        offers.extend(
            rules.match_offers(programmes, facts, premium, today, plan_year=defn.plan_year)
        )
    return offers


def _less(programme: rules.Programme, offers: list[rules.SubsidyOffer]) -> rules.Programme:
    taken = [o.amount_fen for o in offers if o.programme_id == programme.id]
    if not taken:
        return programme
    quota = programme.quota_remaining
    return dataclasses.replace(
        programme,
        budget_remaining_fen=max(programme.budget_remaining_fen - sum(taken), 0),
        quota_remaining=None if quota is None else max(quota - len(taken), 0),
    )
