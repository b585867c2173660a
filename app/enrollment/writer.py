"""The one writer of enrollments. Every order, order item, premium-ledger entry, policy,
programme reservation and enrollment counter is written here, for all three ways in:

- the member flow: `create_order` writes the order (paid at once when subsidies cover all of it),
  and a later payment's `settle_success` calls `record_paid` for the rest;
- campaign redemption (app/campaigns): one person, paid by the campaign's programme;
- the roster batch job (app/jobs/roster_enrollment.py): a batch of people, one order each.

It takes plain data (`EnrollmentPlan`, `PaidOrderFacts`) for any number of people and writes each
table with a few set-based statements (app/common/bulk.py: COPY on PostgreSQL), so one person
costs what it did before and 100,000 cost a few statements per batch, not a flush per row.

Concurrency, as each path had it: the order items go in first (their partial unique index allows
one open item per person and plan year), then each programme's budget and quota are taken by one
conditional UPDATE with a row-count check (`sponsors.services.take_budget`). That order is the
same for everyone, so a member and a batch enrolling at once wait for each other but do not
deadlock. Callers own the transaction; anything refused rolls all of it back.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, g, has_request_context
from sqlalchemy import Table, delete, select
from sqlalchemy.orm import aliased

from app.audit.models import AuditEvent
from app.common.bulk import allocate_ids, among, insert_rows
from app.common.clock import today_shanghai
from app.database import Base, utcnow
from app.enrollment.models import LedgerEntry, Order, OrderItem
from app.enrollment.statuses import OrderStatus
from app.error_catalogue import E
from app.members.models import Person
from app.policies.models import Policy, PolicyStatus
from app.policies.services import coverage_for
from app.products.models import Product
from app.sponsors.models import ProgrammeLedgerEntry
from app.sponsors.services import SUBSIDY_UNAVAILABLE, refusal_code, take_budget


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, as the set-based writes (app/common/bulk.py) take it (Base types
    `__table__` as a Table, app/database.py)."""
    return model.__table__


LEDGER_KIND_IN = {"personal_account": "personal_account_debit", "wechat": "wechat_payment"}

# How a plan's subsidies are reserved (EnrollmentPlan.budget):
ALL_OR_NOTHING = "all_or_nothing"  # every reservation, or Conflict subsidy_unavailable
WHILE_IT_LASTS = "while_it_lasts"  # orders in turn while the programme can pay; the rest dropped


def new_order_no() -> str:
    return f"HM{today_shanghai():%Y%m%d}{secrets.token_hex(5).upper()}"


def new_policy_no(plan_year: int) -> str:
    return f"HMB{plan_year}{secrets.randbelow(10**10):010d}"


@dataclass(frozen=True)
class Insured:
    """One person on an order: their premium and who pays it (a quote line)."""

    person_id: int
    relation: str
    premium_fen: int
    subsidy_fen: int
    pay_fen: int
    # Funders of the subsidy: [{"programme_id", "funder_name", "funder_kind", "amount_fen"}]
    subsidies: tuple[dict, ...] = ()

    @classmethod
    def of(cls, line, relation: str) -> Insured:
        """From a quote line (app.enrollment.quote.QuoteLine)."""
        return cls(
            person_id=line.person_id,
            relation=relation,
            premium_fen=line.premium_fen,
            subsidy_fen=line.subsidy_fen,
            pay_fen=line.pay_fen,
            subsidies=tuple(dict(s.__dict__) for s in line.subsidies),
        )


@dataclass(frozen=True)
class OrderSpec:
    insured: tuple[Insured, ...]
    member_id: int | None = None  # None: placed by a sponsor's batch job, not by a member
    payer_person_id: int | None = None
    payment_method: str | None = None  # for the member's own share, if any

    @property
    def pay_fen(self) -> int:
        return sum(i.pay_fen for i in self.insured)


@dataclass(frozen=True)
class EnrollmentPlan:
    product_id: int
    plan_year: int
    defn: object  # the product's ProductDefinition (coverage dates)
    terms_version: str
    terms_sha256: str
    terms_agreed_at: datetime
    orders: Sequence[OrderSpec]
    budget: str = ALL_OR_NOTHING
    policy_audit_detail: Mapping = field(default_factory=dict)  # added to each policy.issued


@dataclass(frozen=True)
class Written:
    """What `write_enrollments` wrote for one planned order (in the plan's order)."""

    order_id: int | None
    item_ids: tuple[int, ...] = ()
    policy_ids: tuple[int, ...] = ()  # () while the member's share is still to be paid
    refused: str | None = None  # WHILE_IT_LASTS: why the programme could not fund it


@dataclass(frozen=True)
class PaidItem:
    item_id: int
    person_id: int
    premium_fen: int
    pay_fen: int
    subsidies: tuple[dict, ...]
    insurance_type: str | None = None  # the person's, when the caller has it loaded


@dataclass(frozen=True)
class PaidOrderFacts:
    """An order whose premium is all in: what its ledger entries and policies need."""

    order_id: int
    payment_method: str | None
    items: tuple[PaidItem, ...]
    member_id: int | None = None  # None: a sponsor's batch order

    @classmethod
    def of(cls, order: Order) -> PaidOrderFacts:
        return cls(
            order.id,
            order.payment_method,
            tuple(
                PaidItem(
                    i.id,
                    i.person_id,
                    i.premium_fen,
                    i.pay_fen,
                    tuple(i.subsidies or ()),
                    _loaded_insurance_type(i),
                )
                for i in order.items
            ),
            order.member_id,
        )


def _loaded_insurance_type(item: OrderItem) -> str | None:
    """The insured person's insurance type if the item's person is loaded (it is joined to the
    item), without a lazy load."""
    person = item.__dict__.get("person")
    return person.insurance_type if person is not None else None


def write_enrollments(session, plan: EnrollmentPlan) -> list[Written]:
    """Orders and their items, the programmes' reservations, and for every order with nothing
    left to pay its ledger entries, policies and counters. Raises IntegrityError when a person
    is already enrolling (the caller decides what that means) and, under ALL_OR_NOTHING,
    Conflict subsidy_unavailable when a programme cannot fund its share any more."""
    if not plan.orders:
        return []
    session.flush()  # the caller's ORM changes first: the statements below bypass the session
    placed = _insert_orders(session, plan)
    refused = _reserve(session, plan, placed)
    if refused:  # no budget left for them: their orders go (their items with them, CASCADE)
        session.execute(
            delete(Order)
            .where(among(session, Order.id, [placed[n][0] for n in refused]))
            .execution_options(synchronize_session=False)
        )
    paid = [n for n, order in enumerate(plan.orders) if n not in refused and order.pay_fen == 0]
    policies = record_paid(
        session,
        plan.product_id,
        plan.plan_year,
        [_paid_order(plan.orders[n], *placed[n]) for n in paid],
        defn=plan.defn,
        audit_detail=plan.policy_audit_detail,
    )
    policies_of = dict(zip(paid, policies))
    return [
        Written(None, refused=refused[n])
        if n in refused
        else Written(placed[n][0], placed[n][1], policies_of.get(n, ()))
        for n in range(len(plan.orders))
    ]


def _paid_order(order: OrderSpec, order_id: int, item_ids: tuple[int, ...]) -> PaidOrderFacts:
    return PaidOrderFacts(
        order_id,
        "sponsor",
        tuple(
            PaidItem(item_id, i.person_id, i.premium_fen, i.pay_fen, i.subsidies)
            for item_id, i in zip(item_ids, order.insured)
        ),
        order.member_id,
    )


def _insert_orders(session, plan: EnrollmentPlan) -> list[tuple[int, tuple[int, ...]]]:
    """Order rows (paid at once when nothing is left to pay), then their items; per planned
    order (order id, item ids)."""
    now = utcnow()
    expires = now + timedelta(seconds=current_app.config["ORDER_PAYMENT_TIMEOUT_SECONDS"])
    items = sum(len(o.insured) for o in plan.orders)
    order_nos = fresh_numbers(session, Order.order_no, new_order_no, len(plan.orders))
    ids = allocate_ids(session, {table_of(Order): len(plan.orders), table_of(OrderItem): items})
    order_rows = []
    for order, order_no in zip(plan.orders, order_nos):
        paid = order.pay_fen == 0
        premium = sum(i.premium_fen for i in order.insured)
        order_rows.append(
            {
                "order_no": order_no,
                "member_id": order.member_id,
                "payer_person_id": order.payer_person_id,
                "product_id": plan.product_id,
                "plan_year": plan.plan_year,
                "status": OrderStatus.PAID if paid else OrderStatus.PENDING_PAYMENT,
                "payment_method": "sponsor" if paid else order.payment_method,
                "total_premium_fen": premium,
                "total_subsidy_fen": premium - order.pay_fen,
                "total_pay_fen": order.pay_fen,
                "terms_version": plan.terms_version,
                "terms_sha256": plan.terms_sha256,
                "terms_agreed_at": plan.terms_agreed_at,
                "created_at": now,
                "expires_at": expires,
                "paid_at": now if paid else None,
            }
        )
    order_ids = insert_rows(session, table_of(Order), order_rows, ids.get(table_of(Order)))
    item_ids = iter(
        insert_rows(
            session,
            table_of(OrderItem),
            [
                {
                    "order_id": order_id,
                    "person_id": i.person_id,
                    "plan_year": plan.plan_year,
                    "relation": i.relation,
                    "premium_fen": i.premium_fen,
                    "subsidy_fen": i.subsidy_fen,
                    "pay_fen": i.pay_fen,
                    "subsidies": list(i.subsidies),
                    "open": True,
                }
                for order_id, order in zip(order_ids, plan.orders)
                for i in order.insured
            ],
            ids.get(table_of(OrderItem)),
        )
    )
    return [
        (order_id, tuple(next(item_ids) for _ in order.insured))
        for order_id, order in zip(order_ids, plan.orders)
    ]


def _reserve(session, plan: EnrollmentPlan, placed) -> dict[int, str]:
    """Take each programme's share (budget and one beneficiary per subsidised person) and write
    the programme ledger's reserve entries. The orders refused (WHILE_IT_LASTS): index -> why."""
    # (programme, order index, item id, amount) for every subsidy line, programmes in id order
    # so that two writers always lock programme rows in the same order.
    lines = sorted(
        (s["programme_id"], n, item_id, s["amount_fen"])
        for n, order in enumerate(plan.orders)
        for item_id, insured in zip(placed[n][1], order.insured)
        for s in insured.subsidies
    )
    by_programme: dict[int, list] = defaultdict(list)
    for line in lines:
        by_programme[line[0]].append(line)
    refused: dict[int, str] = {}
    for programme_id, taken in by_programme.items():
        if take_budget(session, programme_id, sum(t[3] for t in taken), len(taken)):
            continue
        if plan.budget != WHILE_IT_LASTS:
            raise E.subsidy_unavailable(SUBSIDY_UNAVAILABLE)
        if len(by_programme) > 1:  # dropping an order would leave another programme's share
            raise ValueError("WHILE_IT_LASTS plans draw on one programme")
        for _, n, _, amount in taken:  # one person at a time, in order, while it lasts
            if not take_budget(session, programme_id, amount, 1):
                refused[n] = refusal_code(session, programme_id)
    kept = [line for line in lines if line[1] not in refused]
    now = utcnow()
    insert_rows(
        session,
        table_of(ProgrammeLedgerEntry),
        [
            {
                "programme_id": programme_id,
                "kind": "reserve",
                "amount_fen": amount,
                "order_item_id": item_id,
                "staff_id": None,
                "created_at": now,
            }
            for programme_id, _, item_id, amount in kept
        ],
    )
    return refused


def record_paid(
    session,
    product_id: int,
    plan_year: int,
    orders: Sequence[PaidOrderFacts],
    *,
    defn,
    payment_id: int | None = None,
    audit_detail: Mapping | None = None,
) -> list[tuple[int, ...]]:
    """For orders whose premium is all in (paid at placing, or a payment just settled): the
    premium ledger's entries (per item, per funder), a policy per item with its audit row, and
    the public enrollment counters, all in the caller's transaction. Policy ids per order."""
    if not orders:
        return []
    session.flush()
    now, paid_on = utcnow(), today_shanghai()
    start, end = coverage_for(defn, paid_on)
    items = [(order, item) for order in orders for item in order.items]
    ledger = []
    for order, item in items:
        if item.pay_fen > 0:
            assert order.payment_method is not None  # what the payer pays, someone paid by a method
            ledger.append(
                _ledger_row(order, item, LEDGER_KIND_IN[order.payment_method], item.pay_fen, now)
                | {"payment_id": payment_id}
            )
        for s in item.subsidies:
            ledger.append(
                _ledger_row(order, item, "sponsor_subsidy", s["amount_fen"], now)
                | {"programme_id": s["programme_id"]}
            )
    policy_nos = fresh_numbers(
        session, Policy.policy_no, lambda: new_policy_no(plan_year), len(items)
    )
    ids = allocate_ids(
        session,
        {
            table_of(LedgerEntry): len(ledger),
            table_of(Policy): len(items),
            table_of(AuditEvent): len(items),
        },
    )
    insert_rows(session, table_of(LedgerEntry), ledger, ids.get(table_of(LedgerEntry)))
    policy_ids = insert_rows(
        session,
        table_of(Policy),
        [
            {
                "policy_no": policy_no,
                "person_id": item.person_id,
                "product_id": product_id,
                "plan_year": plan_year,
                "order_item_id": item.item_id,
                "status": PolicyStatus.ACTIVE,
                "coverage_start": start,
                "coverage_end": end,
                "premium_fen": item.premium_fen,
                "issued_at": now,
                "paid_on": paid_on,
            }
            for (_, item), policy_no in zip(items, policy_nos)
        ],
        ids.get(table_of(Policy)),
    )
    _policies_issued(session, items, policy_ids, ids.get(table_of(AuditEvent)), now, audit_detail)
    _count_enrollments(session, product_id, plan_year, paid_on, items, policy_ids)
    it = iter(policy_ids)
    return [tuple(next(it) for _ in order.items) for order in orders]


def _ledger_row(order: PaidOrderFacts, item: PaidItem, kind: str, amount_fen: int, now) -> dict:
    return {
        "order_id": order.order_id,
        "order_item_id": item.item_id,
        "kind": kind,
        "amount_fen": amount_fen,
        "payment_id": None,
        "refund_id": None,
        "programme_id": None,
        "created_at": now,
    }


def _policies_issued(session, items, policy_ids, audit_ids, now: datetime, detail) -> None:
    """One audit row per policy issued (app.audit.services.record's columns, in bulk)."""
    request_id = getattr(g, "request_id", None) if has_request_context() else None
    insert_rows(
        session,
        table_of(AuditEvent),
        [
            {
                "actor_type": "system",
                "actor_id": None,
                "action": "policy.issued",
                "object_type": "policy",
                "object_id": policy_id,
                "request_id": request_id,
                "at": now,
                "detail": {"order_id": order.order_id, **(detail or {})},
            }
            for (order, _), policy_id in zip(items, policy_ids)
        ],
        audit_ids,
    )


def _count_enrollments(session, product_id, plan_year, paid_on: date, items, policy_ids) -> None:
    """The public enrollment figures, in this same transaction, with each insured person's
    verified insurance type as it stands now."""
    from app.disclosure.aggregates import (
        IssuedPolicy,
        record_enrollments,
        record_estimate_conversions,
    )

    insurance_type = {
        item.person_id: item.insurance_type for _, item in items if item.insurance_type
    }
    unknown = list({item.person_id for _, item in items} - set(insurance_type))
    if unknown:
        insurance_type.update(
            session.execute(
                select(Person.id, Person.insurance_type).where(among(session, Person.id, unknown))
            ).all()
        )
    record_enrollments(
        session,
        product_id=product_id,
        plan_year=plan_year,
        paid_on=paid_on,
        issued=[
            IssuedPolicy(
                policy_id=policy_id,
                insurance_type=insurance_type[item.person_id],
                payer_method=order.payment_method,
                pay_fen=item.pay_fen,
                subsidies=list(item.subsidies),
            )
            for (order, item), policy_id in zip(items, policy_ids)
        ],
    )
    enrolled: dict[int, set[int]] = defaultdict(set)
    for order, item in items:
        if order.member_id is not None:
            enrolled[order.member_id].add(item.person_id)
    record_estimate_conversions(
        session,
        product_id,
        plan_year,
        paid_on,
        enrolled,
        lambda people: renewing_person_ids(session, product_id, people),
    )


def renewing_person_ids(session, product_id: int, person_ids: set[int]) -> set[int]:
    """Of these people, those who hold an active policy of the product this one renews
    (`renews`, the previous plan year's): enrolling them again is a renewal."""
    previous, current = aliased(Product), aliased(Product)
    return set(
        session.scalars(
            select(Policy.person_id)
            .join(previous, previous.id == Policy.product_id)
            .join(current, current.renews_code == previous.code)
            .where(
                current.id == product_id,
                Policy.status == PolicyStatus.ACTIVE,
                among(session, Policy.person_id, sorted(person_ids)),
            )
        )
    )


def fresh_numbers(session, column, make, count: int) -> list[str]:
    """`count` new random numbers (order or policy numbers) that no row has yet and that differ
    from each other. Leaving a collision to the unique index would do for one order at a time;
    among 100,000 policies at 10^10 possible numbers a collision is likely (expected
    100,000^2 / 2 / 10^10 = 0.5), and each would cost a batch job a split batch."""
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {make() for _ in range(count - len(chosen))} - chosen
        chosen |= candidates - set(
            session.scalars(select(column).where(among(session, column, list(candidates))))
        )
    return list(chosen)
