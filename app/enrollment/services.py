"""Enrollment use cases: quote (no side effects) and order creation. Payment is in
app/payments/services.py; policy issue and surrender in app/policies/services.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app.audit.services import record as audit
from app.common.clock import today_shanghai
from app.database import get_session, read_scope, transaction, utcnow
from app.enrollment import balances, subsidies
from app.enrollment.models import Order, OrderItem
from app.enrollment.quote import Candidate, Payer, Quote, quote
from app.enrollment.statuses import OrderStatus
from app.enrollment.writer import EnrollmentPlan, Insured, OrderSpec, write_enrollments
from app.error_catalogue import E, error
from app.identity import services as identity
from app.members import privacy
from app.members import services as members
from app.members.models import Member, Person, Relative
from app.policies.models import Policy, PolicyStatus
from app.products import services as products
from app.products.definition import ProductDefinition
from app.products.models import ProductTerms


@dataclass(frozen=True)
class Selection:
    include_self: bool
    relative_ids: tuple[int, ...]


def check_terms(terms, *, version: str, accepted: bool) -> None:
    """The terms the person enrolling (or the organisation enrolling its roster) agreed to must
    be agreed, and be the product's current version. One check for every way in."""
    if not accepted:
        raise E.terms_not_accepted()
    if version != terms.version:
        # the version agreed to may be an older one, or another product's (2027.1 sent with an
        # order for 2026): say which one is to be agreed to
        raise E.terms_version_outdated(
            f"该产品的保险条款当前版本为 {terms.version}（所同意的版本为 {version[:40]}），"
            "请阅读并同意该版本的条款"
        )


def _verified_member(session, member_id: int) -> Member:
    """The member, verified and not refused by a withdrawal of consent (one read)."""
    member, latest_consent = privacy.member_and_consent(session, member_id)
    privacy.refuse_if_withdrawn(member, latest_consent, "quote_or_order")
    if member is None:
        raise E.member_not_found()
    if member.person is None:
        raise E.identity_not_verified("请先完成本人医保身份核验")
    return member


def _selected_people(session, member: Member, selection: Selection) -> list[tuple[Person, str]]:
    if not selection.include_self and not selection.relative_ids:
        raise E.insured_empty()
    if len(set(selection.relative_ids)) != len(selection.relative_ids):
        raise E.insured_duplicate()
    people: list[tuple[Person, str]] = []
    if selection.include_self:
        assert member.person is not None  # _member() refuses a member not yet verified
        people.append((member.person, "self"))
    if selection.relative_ids:
        rows = {
            r.id: r
            for r in session.scalars(
                select(Relative).where(
                    Relative.member_id == member.id, Relative.id.in_(selection.relative_ids)
                )
            )
        }
        for rid in selection.relative_ids:
            if rid not in rows:
                raise E.relative_not_found()
            people.append((rows[rid].person, rows[rid].relation))
    return people


def already_insured(session, person_id: int, plan_year: int) -> bool:
    """A standing policy or an open order for the plan year (also used by campaign redemption)."""
    return person_id in insured_among(session, [person_id], plan_year)


def insured_among(session, person_ids: list[int], plan_year: int) -> set[int]:
    """Those of `person_ids` with a standing policy or an open order for the plan year, in one
    statement."""
    if not person_ids:
        return set()
    policies = select(Policy.person_id).where(
        Policy.person_id.in_(person_ids),
        Policy.plan_year == plan_year,
        Policy.status != PolicyStatus.VOID,
    )
    open_items = select(OrderItem.person_id).where(
        OrderItem.person_id.in_(person_ids), OrderItem.plan_year == plan_year, OrderItem.open
    )
    return set(session.scalars(union(policies, open_items)))


def _candidates(session, people, plan_year: int) -> list[Candidate]:
    insured = insured_among(session, [p.id for p, _ in people], plan_year)
    return [
        Candidate(
            person_id=p.id,
            relation=relation,
            birth_date=p.birth_date,
            insurance_type=p.insurance_type,
            insurance_status=p.insurance_status,
            region_code=p.region_code,
            already_insured=p.id in insured,
            gender=p.gender,
        )
        for p, relation in people
    ]


def _payer(
    session, member: Member, people: list[tuple[Person, str]], defn: ProductDefinition | None
) -> Payer:
    """The payer as the quote sees them, for paying for `people`: with `defn` offering the
    personal account, with the account's balance from the bureau (cached briefly,
    app/enrollment/balances.py); with the birth date, sex and spouses listed that the family
    rule of the personal account reads (app/members/relation_rules.py)."""
    p = member.person
    assert p is not None  # _member() refuses a member not yet verified
    balance = None
    if defn is not None and p.has_personal_account and p.psn_no:
        if "personal_account" in defn.payment_methods:
            balance = balances.account_balance(p.psn_no)
    return Payer(
        p.insurance_type,
        p.insurance_status,
        p.has_personal_account,
        balance,
        birth_date=p.birth_date,
        gender=p.gender,
        spouses_listed=members.spouses_listed(session, member.id, [r for _, r in people]),
    )


def _resolve_product(code: str | None):
    if code:
        return products.get_product(code)
    product = products.current_product(today_shanghai())
    if product is None:
        raise E.product_not_found("当前没有开放投保的产品")
    return product


def get_quote(member_id: int, product_code: str | None, selection: Selection):
    """A quote from the stored verification snapshots, with the names of the people quoted for
    (person id -> name). No side effects."""
    with read_scope() as session:
        member = _verified_member(session, member_id)
        product = _resolve_product(product_code)
        defn = products.definition_of(product)
        people = _selected_people(session, member, selection)
        offers = subsidies.offers_for(session, product, defn, [p for p, _ in people])
        result = quote(
            defn,
            today_shanghai(),
            _payer(session, member, people, defn),
            _candidates(session, people, defn.plan_year),
            offers,
        )
        names = {p.id: p.name for p, _ in people}  # read here: the scope's end expires them
    return product, result, names


def create_order(
    member_id: int,
    *,
    product_code: str | None,
    selection: Selection,
    payment_method: str | None,
    terms_version: str,
    terms_accepted: bool,
    also: Callable[[Session, Order], None] | None = None,
) -> Order:
    """Place the member's order. `also(session, order)` writes more in the order's own
    transaction (the renewal consent given with it)."""
    session = get_session()
    member = _verified_member(session, member_id)
    product = _resolve_product(product_code)
    defn = products.definition_of(product)
    terms = products.current_terms(product)
    check_terms(terms, version=terms_version, accepted=terms_accepted)
    people = _selected_people(session, member, selection)
    # Eligibility is decided on a fresh bureau answer: re-verify stale snapshots first (kept
    # even if the order is then refused, so committed on their own).
    stale = [person for person, _ in people if identity.is_stale(person)]
    if stale:
        with transaction(durable=True) as session:
            for person in stale:
                identity.reverify(session, member_id, person)
    offers = subsidies.offers_for(session, product, defn, [p for p, _ in people])
    q = quote(
        defn,
        today_shanghai(),
        _payer(session, member, people, defn if payment_method == "personal_account" else None),
        _candidates(session, people, defn.plan_year),
        offers,
    )
    _check_orderable(q, payment_method)
    relation_of = {p.id: rel for p, rel in people}
    plan = member_order_plan(
        product.id, defn, terms, member_id, member.person_id, q, relation_of, payment_method
    )
    with transaction() as session:
        # Sponsorship: each applied subsidy's budget and quota are reserved in this same
        # transaction (a conditional UPDATE). If a programme ran out since the quote, this
        # raises Conflict subsidy_unavailable and the whole order rolls back: nothing is written.
        try:
            [written] = write_enrollments(session, plan)
        except IntegrityError:
            raise E.already_enrolling() from None
        order = (
            session.scalars(
                select(Order).where(Order.id == written.order_id).options(joinedload(Order.items))
            )
            .unique()
            .one()
        )
        record_order_created(session, member_id, order.id, len(q.lines), terms.version)
        if also is not None:
            also(session, order)
    return order


def member_order_plan(
    product_id: int,
    defn: ProductDefinition,
    terms: ProductTerms,
    member_id: int,
    payer_person_id: int | None,
    q: Quote,
    relation_of: dict[int, str],
    payment_method: str | None,
) -> EnrollmentPlan:
    """What a member's order writes (one order; the quote's lines are the insured, each with
    their relation to the payer): the plan `write_enrollments` takes."""
    return EnrollmentPlan(
        product_id=product_id,
        plan_year=defn.plan_year,
        defn=defn,
        terms_version=terms.version,
        terms_sha256=terms.sha256,
        terms_agreed_at=utcnow(),
        orders=[
            OrderSpec(
                insured=tuple(Insured.of(line, relation_of[line.person_id]) for line in q.lines),
                member_id=member_id,
                payer_person_id=payer_person_id,
                payment_method=payment_method,
            )
        ],
    )


def record_order_created(
    session: Session, member_id: int, order_id: int, insured: int, terms_version: str
) -> None:
    """The audit row placing an order leaves (traceable sales: who, which terms, how many)."""
    audit(
        session,
        actor_type="member",
        actor_id=member_id,
        action="order.created",
        object_type="order",
        object_id=order_id,
        detail={"insured": insured, "terms_version": terms_version},
    )


def _check_orderable(q: Quote, payment_method: str | None) -> None:
    if not q.all_eligible:
        errors = {
            str(line.person_id): [r.message for r in line.reasons]
            for line in q.lines
            if not line.eligible
        }
        first = next(r for line in q.lines for r in line.reasons)
        raise error(first.code, first.message, errors={"insured": errors}, status=422)
    if q.total_pay_fen > 0:
        if payment_method is None:
            raise E.payment_method_required()
        if payment_method not in q.payment_methods:
            reason = q.unavailable_methods.get(payment_method)
            if reason is not None:
                raise error(reason.code, reason.message, status=422)
            raise E.payment_method_unavailable("该支付方式不可用")


def get_order(member_id: int, order_id: int) -> Order:
    """One of the member's orders, its items with it (one statement)."""
    order = (
        get_session()
        .scalars(
            select(Order)
            .where(Order.id == order_id, Order.member_id == member_id)
            .options(joinedload(Order.items))
        )
        .unique()
        .first()
    )
    if order is None:
        raise E.order_not_found()
    return order


def list_orders(member_id: int) -> list[Order]:
    return list(
        get_session().scalars(
            select(Order).where(Order.member_id == member_id).order_by(Order.id.desc()).limit(100)
        )
    )


def close_order(session, order: Order, reason: str) -> bool:
    """Close an unpaid order and release its people (conditional: only from pending_payment)."""
    won = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING_PAYMENT)
        .values(status=OrderStatus.CLOSED, closed_at=utcnow(), close_reason=reason)
    ).rowcount
    if won:
        session.execute(update(OrderItem).where(OrderItem.order_id == order.id).values(open=False))
        session.refresh(order)
        # Sponsorship: give the subsidies reserved for this unpaid order back to their programmes.
        from app.sponsors.services import release_items

        release_items(session, order.items)
    return bool(won)
