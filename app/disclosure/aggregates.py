"""Maintained aggregates: atomic counter upserts, and the hooks that record each event.

Every hook takes the caller's session and writes in the caller's transaction, so a counter moves
if and only if its event commits. A counter is changed with one statement,

    INSERT ... ON CONFLICT (product_id, plan_year, month, metric, dimension, slot)
    DO UPDATE SET value = disclosure_counters.value + excluded.value

(or the larger of the two for a maximum), which SQLite and PostgreSQL both run atomically: two
transactions bumping the same row serialise on it, and neither loses the other's update.

No hot rows: each cell is spread over DISCLOSURE_COUNTER_SLOTS slot rows and read as their sum
(their largest, for a maximum; `counters_for`). An event writes all its bumps to one slot drawn
at random, so two payments of the same month meet on a row only when they draw the same slot
(1 in 16 by default) instead of always queueing on the month's few cells until each commits.
The bumps of one event are applied in key order within its slot, so two events never lock shared
rows in opposite orders (no deadlock between them on PostgreSQL). Reads add up at most
slots x cells rows with GROUP BY; the figures stay exactly the raw tables' recomputation.

Months are Asia/Shanghai calendar months of the event ('YYYY-MM'):
- an enrollment counts in the month of payment; voiding the policy (a surrender fully refunded)
  takes it back out of that same month, so a month's figure is "people who enrolled that month
  and are still covered" and never goes negative;
- refunds count in the month the money went back; claims in the month of each claim event.

Funding source of an enrolled person: the source that paid the largest share of the premium
(amounts of several programmes of the same kind add up); on a tie, the first in
FUNDING_SOURCES wins, i.e. the member's own payment before any sponsor. Premiums are counted per
source in full, whoever is counted as the person's main source.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Select,
    Subquery,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.services import record as audit
from app.database import rowcount, utcnow
from app.disclosure.metrics import (
    CLAIMS_PAID,
    CLAIMS_PAID_FEN,
    CLAIMS_RECEIVED,
    CLAIMS_SETTLED,
    CLAIMS_SETTLED_PAYABLE_FEN,
    ENROLLED_BY_FUNDING_SOURCE,
    ENROLLED_BY_INSURANCE_TYPE,
    ESTIMATES_CONVERTED,
    ESTIMATES_SHOWN,
    INSURANCE_TYPES,
    LARGEST_CLAIM_PAID_FEN,
    MAXIMUM_METRICS,
    POLICIES_ISSUED,
    PREMIUMS_COLLECTED_FEN,
    PREMIUMS_REFUNDED_FEN,
    REFUNDS,
    contributions_of,
    main_funding_source,
)
from app.disclosure.models import DisclosureCounter, DisclosureEnrollment

log = logging.getLogger(__name__)

# The metric names are in metrics.py (pure); imported above, and read as agg.NAME by the writers.

_KEY = ("product_id", "plan_year", "month", "metric", "dimension", "slot")


def _slot() -> int:
    # From the OS, not a `random.Random` made at import: gunicorn forks its workers from a
    # preloaded app, and such an instance would draw the same slots in every worker, so
    # concurrent payments of different workers met on the same rows.
    return secrets.randbelow(current_app.config["DISCLOSURE_COUNTER_SLOTS"])


def month_of(on: date) -> str:
    return f"{on.year:04d}-{on.month:02d}"


def _insert_for(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql_insert
    if dialect == "sqlite":
        return sqlite_insert
    raise RuntimeError(f"no atomic upsert for the {dialect} dialect")


_UPSERTS: dict[str, Any] = {}


def _cell_upsert(session: Session):
    """INSERT ... ON CONFLICT DO UPDATE of counter rows: a sum adds the row's value, a maximum
    (MAXIMUM_METRICS, told apart by the row's metric) keeps the larger. Built once per dialect,
    so SQLAlchemy compiles it once, and sent with any number of rows of either kind (an event's
    sums and its maximum in one statement)."""
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        table = DisclosureCounter.__table__
        insert = _insert_for(session)(table)
        new, old = insert.excluded.value, table.c.value
        # the metric names are our constants (checked), written into the statement as literals
        assert all(m.isidentifier() and m.islower() for m in MAXIMUM_METRICS)
        maxima: list[Any] = [literal_column(f"'{metric}'") for metric in sorted(MAXIMUM_METRICS)]
        stmt = _UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=[table.c[name] for name in _KEY],
            set_={
                "value": case(
                    (table.c.metric.in_(maxima), case((new > old, new), else_=old)),
                    else_=old + new,
                ),
                "updated_at": insert.excluded.updated_at,
            },
        )
    return stmt


def _row(product_id: int, plan_year: int, month: str, metric: str, dimension: str, slot: int,
         value: int) -> dict:  # fmt: skip
    return {
        "product_id": product_id,
        "plan_year": plan_year,
        "month": month,
        "metric": metric,
        "dimension": dimension,
        "slot": slot,
        "value": value,
        "updated_at": utcnow(),
    }


def _upsert(
    session: Session,
    *,
    product_id: int,
    plan_year: int,
    on: date,
    metric: str,
    dimension: str,
    amount: int,
    slot: int | None = None,
) -> None:
    slot = _slot() if slot is None else slot
    session.execute(
        _cell_upsert(session),
        [_row(product_id, plan_year, month_of(on), metric, dimension, slot, amount)],
    )


def bump(
    session: Session,
    *,
    product_id: int,
    plan_year: int,
    on: date,
    metric: str,
    dimension: str = "",
    amount: int = 1,
    slot: int | None = None,
) -> None:
    """Add `amount` (may be negative) to one counter cell (to one of its slot rows: `slot`, or
    one at random), creating the row at `amount` if absent."""
    if metric in MAXIMUM_METRICS:
        raise ValueError(f"{metric} is a maximum: use bump_max")
    _upsert(
        session,
        product_id=product_id,
        plan_year=plan_year,
        on=on,
        metric=metric,
        dimension=dimension,
        amount=amount,
        slot=slot,
    )


def bump_max(
    session: Session,
    *,
    product_id: int,
    plan_year: int,
    on: date,
    metric: str,
    dimension: str = "",
    amount: int,
    slot: int | None = None,
) -> None:
    """Raise one counter cell to `amount` if that is larger (the cell starts at `amount`; the
    cell reads as the largest of its slot rows)."""
    if metric not in MAXIMUM_METRICS:
        raise ValueError(f"{metric} is a sum: use bump")
    _upsert(
        session,
        product_id=product_id,
        plan_year=plan_year,
        on=on,
        metric=metric,
        dimension=dimension,
        amount=amount,
        slot=slot,
    )


class _Bumps:
    """The bumps of one event (sums added, maxima raised), merged per cell and applied in key
    order (see module doc)."""

    def __init__(self, product_id: int, plan_year: int) -> None:
        self.product_id, self.plan_year = product_id, plan_year
        self._deltas: dict[tuple[date, str, str], int] = defaultdict(int)
        self._maxima: dict[tuple[date, str, str], int] = {}

    def add(self, on: date, metric: str, dimension: str = "", amount: int = 1) -> None:
        if metric in MAXIMUM_METRICS:
            raise ValueError("a maximum is raised with raise_to, not added up")
        self._deltas[(date(on.year, on.month, 1), metric, dimension)] += amount

    def raise_to(self, on: date, metric: str, amount: int, dimension: str = "") -> None:
        if metric not in MAXIMUM_METRICS:
            raise ValueError(f"{metric} is a sum: use add")
        cell = (date(on.year, on.month, 1), metric, dimension)
        self._maxima[cell] = max(self._maxima.get(cell, amount), amount)

    def apply(self, session: Session) -> int:
        """Apply every bump to one slot (drawn at random), in one statement whose rows are in
        key order (a multi-row upsert takes its rows' locks in that order); returns the slot."""
        slot = _slot()
        cells = [(cell, amount) for cell, amount in self._deltas.items() if amount != 0]
        cells += self._maxima.items()
        rows = [
            _row(self.product_id, self.plan_year, month_of(on), metric, dimension, slot, amount)
            for (on, metric, dimension), amount in sorted(cells)
        ]
        if rows:
            # One statement compiled once, executed with the rows in this order (psycopg sends
            # them as one pipeline of single-row upserts): a `.values(rows)` statement was
            # compiled anew for every event.
            session.execute(_cell_upsert(session), rows)
        return slot


# --- enrollment hooks -------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedPolicy:
    """What the enrollment counters need to know about one policy just issued."""

    policy_id: int
    insurance_type: str | None  # the insured person's verified type: employee | resident
    payer_method: str | None  # the order's payment method (for the member's own share)
    pay_fen: int  # the member's own share
    subsidies: Sequence[Mapping]  # the order item's [{"funder_kind", "amount_fen", ...}]


def record_enrollments(
    session: Session,
    *,
    product_id: int,
    plan_year: int,
    paid_on: date,
    issued: Iterable[IssuedPolicy],
) -> None:
    """Policies issued -> enrolled people (by insurance type and by main funding source),
    policies issued, premiums collected per source. One row per policy in
    disclosure_enrollments, and one upsert per counter cell however many policies: bulk
    enrollment (a sponsor's roster job) calls this once per batch."""
    bumps = _Bumps(product_id, plan_year)
    facts = []
    for policy in issued:
        contributions = contributions_of(policy.payer_method, policy.pay_fen, policy.subsidies)
        source = main_funding_source(contributions)
        insurance_type = (
            policy.insurance_type if policy.insurance_type in INSURANCE_TYPES else "unknown"
        )
        facts.append(
            {
                "policy_id": policy.policy_id,
                "product_id": product_id,
                "plan_year": plan_year,
                "issued_on": paid_on,
                "insurance_type": insurance_type,
                "funding_source": source,
            }
        )
        bumps.add(paid_on, ENROLLED_BY_INSURANCE_TYPE, insurance_type)
        bumps.add(paid_on, ENROLLED_BY_FUNDING_SOURCE, source)
        bumps.add(paid_on, POLICIES_ISSUED)
        for contributor, fen in contributions.items():
            bumps.add(paid_on, PREMIUMS_COLLECTED_FEN, contributor, fen)
    if facts:
        session.execute(insert(DisclosureEnrollment), facts)
        bumps.apply(session)


def record_policy_voided(session: Session, policy_id: int) -> bool:
    """The policy is void (surrendered and fully refunded): take the person back out of the
    cells their enrollment counted in. Once per policy; returns whether it decremented."""
    won = rowcount(
        session.execute(
            update(DisclosureEnrollment)
            .where(
                DisclosureEnrollment.policy_id == policy_id,
                DisclosureEnrollment.voided_at.is_(None),
            )
            .values(voided_at=utcnow())
        )
    )
    if won != 1:
        if session.get(DisclosureEnrollment, policy_id) is None:
            log.warning("voided policy was never counted", extra={"policy_id": policy_id})
        return False
    fact = session.scalars(
        select(DisclosureEnrollment).where(DisclosureEnrollment.policy_id == policy_id)
    ).one()  # the UPDATE above matched it
    bumps = _Bumps(fact.product_id, fact.plan_year)
    bumps.add(fact.issued_on, ENROLLED_BY_INSURANCE_TYPE, fact.insurance_type, -1)
    bumps.add(fact.issued_on, ENROLLED_BY_FUNDING_SOURCE, fact.funding_source, -1)
    bumps.apply(session)
    return True


def record_refund_settled(session: Session, refund, *, on: date) -> None:
    """A premium refund reached its funding source. Money returned for an order that closed
    unpaid (no order item) was never counted as premium, so it is not counted as refunded."""
    from app.enrollment.models import Order, OrderItem

    if refund.order_item_id is None:
        return
    order = session.get_one(Order, refund.order_id)
    if refund.method == "sponsor":
        item = session.get_one(OrderItem, refund.order_item_id)
        kinds = {s["programme_id"]: s["funder_kind"] for s in item.subsidies or []}
        source = kinds.get(refund.programme_id)
        if source is None:
            source = _programme_kind(session, refund.programme_id)
    else:
        source = refund.method
    bumps = _Bumps(order.product_id, order.plan_year)
    bumps.add(on, REFUNDS, source)
    bumps.add(on, PREMIUMS_REFUNDED_FEN, source, refund.amount_fen)
    bumps.apply(session)


def _programme_kind(session: Session, programme_id: int | None) -> str:
    from app.sponsors.models import Organisation, Programme

    kind = session.scalar(
        select(Organisation.kind)
        .join(Programme, Programme.organisation_id == Organisation.id)
        .where(Programme.id == programme_id)
    )
    if kind is None:
        raise ValueError(f"sponsor refund for unknown programme {programme_id}")
    return kind


# --- claim hooks (called by the claims services, in their own transactions) -------------------


def _check_amount(name: str, fen: int) -> None:
    if type(fen) is not int or fen < 0:
        raise ValueError(f"{name} must be a non-negative integer number of fen")


def record_claim_received(session: Session, product_id: int, plan_year: int, on: date) -> None:
    """A claim was submitted (counted once per claim, on its submission date)."""
    bump(session, product_id=product_id, plan_year=plan_year, on=on, metric=CLAIMS_RECEIVED)


def record_claim_settled(
    session: Session, product_id: int, plan_year: int, on: date, payable_fen: int
) -> None:
    """A claim reached its final decision (approved, or rejected with payable 0)."""
    _check_amount("payable_fen", payable_fen)
    bumps = _Bumps(product_id, plan_year)
    bumps.add(on, CLAIMS_SETTLED)
    bumps.add(on, CLAIMS_SETTLED_PAYABLE_FEN, amount=payable_fen)
    bumps.apply(session)


def record_claim_settled_at_counter(
    session: Session, product_id: int, plan_year: int, on: date, paid_fen: int
) -> None:
    """A claim submitted, decided and paid at once (the hospital counter's, 一站式): received,
    settled and (when something was paid) paid on one day, as the three records would."""
    _check_amount("paid_fen", paid_fen)
    bumps = _Bumps(product_id, plan_year)
    bumps.add(on, CLAIMS_RECEIVED)
    bumps.add(on, CLAIMS_SETTLED)
    bumps.add(on, CLAIMS_SETTLED_PAYABLE_FEN, amount=paid_fen)
    if paid_fen:
        bumps.add(on, CLAIMS_PAID)
        bumps.add(on, CLAIMS_PAID_FEN, amount=paid_fen)
        bumps.raise_to(on, LARGEST_CLAIM_PAID_FEN, paid_fen)
    bumps.apply(session)


def record_counter_payment_reversed(
    session: Session, product_id: int, plan_year: int, paid_on: date, paid_fen: int
) -> None:
    """A counter payment the bureau reversed (撤销): count and sum taken back on the day counted
    (the month's largest claim is a maximum and keeps it, docs/direct_settlement.md)."""
    _check_amount("paid_fen", paid_fen)
    bumps = _Bumps(product_id, plan_year)
    bumps.add(paid_on, CLAIMS_PAID, amount=-1)
    bumps.add(paid_on, CLAIMS_PAID_FEN, amount=-paid_fen)
    bumps.apply(session)


def record_claim_paid(
    session: Session, product_id: int, plan_year: int, on: date, paid_fen: int
) -> None:
    """A claim's payout reached the payee: count, sum and the month's largest claim."""
    _check_amount("paid_fen", paid_fen)
    bumps = _Bumps(product_id, plan_year)
    bumps.add(on, CLAIMS_PAID)
    bumps.add(on, CLAIMS_PAID_FEN, amount=paid_fen)
    bumps.raise_to(on, LARGEST_CLAIM_PAID_FEN, paid_fen)
    bumps.apply(session)


# --- folding slots ------------------------------------------------------------------------------


def fold_counters(session: Session) -> int:
    """Fold every cell's slot rows into its slot 0 (their sum; the largest, for a maximum), so
    reads add up few rows again; returns how many slot rows were folded away. The rows folded
    are locked first (FOR UPDATE, in key order) and deleted by id: an event that commits during
    the fold either waits for it (its row was locked) or adds a new row, which stays for the
    next fold; nothing is lost or counted twice. Run it now and then (`flask disclosure
    fold-counters`); the figures read the same before and after."""
    c = DisclosureCounter
    rows = session.execute(
        select(c.id, c.product_id, c.plan_year, c.month, c.metric, c.dimension, c.value)
        .where(c.slot != 0)
        .order_by(c.product_id, c.plan_year, c.month, c.metric, c.dimension, c.slot)
        .with_for_update()
    ).all()
    folded: dict[tuple, int] = {}
    for _id, product_id, plan_year, month, metric, dimension, value in rows:
        cell = (product_id, plan_year, month, metric, dimension)
        if metric in MAXIMUM_METRICS:
            folded[cell] = max(folded.get(cell, value), value)
        else:
            folded[cell] = folded.get(cell, 0) + value
    for (product_id, plan_year, month, metric, dimension), value in sorted(folded.items()):
        _upsert(
            session,
            product_id=product_id,
            plan_year=plan_year,
            on=date(int(month[:4]), int(month[5:]), 1),
            metric=metric,
            dimension=dimension,
            amount=value,
            slot=0,
        )
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 1000):
        session.execute(delete(c).where(c.id.in_(ids[start : start + 1000])))
    return len(ids)


# --- reading ----------------------------------------------------------------------------------


# The audit actions that say a member was shown a value estimate of a product (app/estimates)
# and that their enrollment was counted as a conversion.
ESTIMATE_SHOWN_ACTION = "estimate.shown"
ESTIMATE_CONVERTED_ACTION = "estimate.converted"


def record_estimate_shown(session: Session, product_id: int, plan_year: int, on: date) -> None:
    """A value estimate was shown for this product (no person, no amount)."""
    bump(session, product_id=product_id, plan_year=plan_year, on=on, metric=ESTIMATES_SHOWN)


def record_estimate_conversions(
    session: Session,
    product_id: int,
    plan_year: int,
    on: date,
    enrolled: Mapping[int, Iterable[int]],
    renewing: Callable[[set[int]], set[int]],
) -> None:
    """Members who were shown a value estimate of this product and now enrolled someone new to
    its cover: `estimates_converted`, once per member and product (an audit row
    `estimate.converted` marks the member as counted; the counter itself holds no person).
    `enrolled` maps each member to the people whose enrollment they just paid for; `renewing`
    says which of some people renew cover they held (the product this one renews). A member
    whose people all renew is not counted now: the figure is of enrollments the estimate may have
    won, and a renewal would have happened without it (a later new relative still counts)."""
    ids = sorted(enrolled)
    if not ids:
        return
    rows = session.execute(
        select(AuditEvent.actor_id, AuditEvent.action).where(
            AuditEvent.actor_type == "member",
            AuditEvent.actor_id.in_(ids),
            AuditEvent.object_type == "product",
            AuditEvent.object_id == product_id,
            AuditEvent.action.in_((ESTIMATE_SHOWN_ACTION, ESTIMATE_CONVERTED_ACTION)),
        )
    ).all()
    shown = {m for m, action in rows if action == ESTIMATE_SHOWN_ACTION and m is not None}
    counted = {m for m, action in rows if action == ESTIMATE_CONVERTED_ACTION}
    candidates = {m: set(enrolled[m]) for m in sorted(shown - counted)}
    renewals = renewing(set().union(*candidates.values())) if candidates else set()
    for member_id, people in candidates.items():
        if people <= renewals:
            continue
        audit(
            session,
            actor_type="member",
            actor_id=member_id,
            action=ESTIMATE_CONVERTED_ACTION,
            object_type="product",
            object_id=product_id,
            detail={"plan_year": plan_year},
        )
        bump(session, product_id=product_id, plan_year=plan_year, on=on, metric=ESTIMATES_CONVERTED)


def cell_values(product_ids: Select | Iterable[int] | None = None) -> Subquery:
    """The counter cells as a subquery of (product_id, plan_year, month, metric, dimension,
    value), one row per cell: its value is the sum of its slot rows, or the largest for a
    maximum (module doc). `product_ids` (ids, or a select of them) limits it to those products."""
    c = DisclosureCounter
    value = case(
        (c.metric.in_(sorted(MAXIMUM_METRICS)), func.max(c.value)), else_=func.sum(c.value)
    )
    query = select(
        c.product_id,
        c.plan_year,
        c.month,
        c.metric,
        c.dimension,
        cast(value, BigInteger).label("value"),  # PostgreSQL's sum of bigints is a numeric
    ).group_by(c.product_id, c.plan_year, c.month, c.metric, c.dimension)
    if product_ids is not None:
        query = query.where(c.product_id.in_(product_ids))
    return query.subquery("cells")


def counters_for(
    session: Session, products: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], dict]:
    """{(product_id, plan_year): {(month, metric, dimension): value}} for the given
    (product_id, plan_year) pairs: the only read the settlement and the dashboard make (the
    public statistics read `cell_values` joined to their products, in one statement)."""
    wanted = set(products)
    result: dict[tuple[int, int], dict] = {key: {} for key in wanted}
    if not wanted:
        return result
    cells = cell_values({pid for pid, _ in wanted})
    for product_id, plan_year, month, metric, dimension, value in session.execute(select(cells)):
        if (product_id, plan_year) in result:
            result[(product_id, plan_year)][(month, metric, dimension)] = value
    return result
